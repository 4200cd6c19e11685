#include "hop/tunnels/pool.h"

#include <gtest/gtest.h>

namespace hop::tunnels {
namespace {

using namespace std::chrono_literals;

TEST(PoolPlan, FillsEachDirectionToItsQuantity) {
  const core::TimePoint now{};
  EXPECT_EQ(plan_builds({}, {.inbound_quantity = 2, .outbound_quantity = 3}, now).inbound, 2u);
  EXPECT_EQ(plan_builds({}, {.inbound_quantity = 2, .outbound_quantity = 3}, now).outbound, 3u);
  const std::vector<PoolTunnel> pending = {{Direction::kInbound, false, {}}, {Direction::kOutbound, true, now + 5min}};
  const auto b = plan_builds(pending, {.inbound_quantity = 2, .outbound_quantity = 2}, now);
  EXPECT_EQ(b.inbound, 1u) << "a pending build counts";
  EXPECT_EQ(b.outbound, 1u);
}

TEST(PoolPlan, StartsASuccessorAQuarterOfALifeBeforeExpiryAtMost90s) {
  EXPECT_EQ(replacement_margin(10min), 90s);
  EXPECT_EQ(replacement_margin(20s), 5s);
  const core::TimePoint now{};
  const PoolConfig one{.inbound_quantity = 1, .outbound_quantity = 1, .length = 3, .lifetime = 10min};
  EXPECT_EQ(plan_builds({{Direction::kOutbound, true, now + 91s}}, one, now).outbound, 0u);
  EXPECT_EQ(plan_builds({{Direction::kOutbound, true, now + 90s}}, one, now).outbound, 1u)
      << "due for replacement: its successor starts while it still carries traffic";
  EXPECT_EQ(plan_builds({{Direction::kOutbound, true, now + 90s}, {Direction::kOutbound, false, {}}}, one, now).outbound,
            0u)
      << "only one successor";
}

}  // namespace
}  // namespace hop::tunnels
