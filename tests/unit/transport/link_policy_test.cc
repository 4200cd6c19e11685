#include "hop/transport/link_policy.h"

#include <gtest/gtest.h>

#include <random>

namespace hop::transport {
namespace {

using namespace std::chrono_literals;

TEST(LinkPolicy, AcceptBelowHardDialBelowSoft) {
  const LinkLimits limits{.hard = 10, .soft = 7};
  EXPECT_TRUE(may_accept(limits, 9));
  EXPECT_FALSE(may_accept(limits, 10));
  EXPECT_TRUE(may_dial(limits, 6));
  EXPECT_FALSE(may_dial(limits, 7));
  EXPECT_EQ(LinkLimits{}.soft, 1125u) << "75% of 1500 by default";
}

TEST(LinkPolicy, EvictsTheIdlestEstablishedNonPersistentLink) {
  const LinkLimits limits{.hard = 10, .soft = 2};
  const core::TimePoint t{};
  std::vector<LinkUsage> links = {
      {0, t + 5s, false, true}, {1, t + 1s, true, true}, {2, t + 2s, false, true}, {3, t + 0s, false, false}};
  EXPECT_EQ(pick_eviction(limits, links), 2u) << "1 is persistent, 3 still handshaking";
  links.resize(2);
  EXPECT_FALSE(pick_eviction(limits, links).has_value()) << "at the soft limit nothing goes";
  std::vector<LinkUsage> pinned = {{0, t, true, true}, {1, t, true, true}, {2, t, true, true}};
  EXPECT_FALSE(pick_eviction(limits, pinned).has_value());
}

TEST(LinkPolicy, MatchesANaiveReference) {
  std::mt19937 rng(9);
  for (int round = 0; round < 500; ++round) {
    const LinkLimits limits{.hard = 100, .soft = rng() % 8};
    std::vector<LinkUsage> links(rng() % 12);
    for (std::size_t i = 0; i < links.size(); ++i) {
      links[i] = {i, core::TimePoint(std::chrono::seconds(rng() % 1000)), rng() % 4 == 0, rng() % 5 != 0};
    }
    std::optional<std::size_t> expected;
    if (links.size() > limits.soft) {
      for (const auto& l : links) {
        if (!l.established || l.persistent) continue;
        if (!expected || l.last_activity < links[*expected].last_activity) expected = l.index;
      }
    }
    EXPECT_EQ(pick_eviction(limits, links), expected) << "round " << round;
  }
}

}  // namespace
}  // namespace hop::transport
