#include "hop/proxy/affinity.h"

#include <gtest/gtest.h>

namespace hop::proxy {
namespace {

using namespace std::chrono_literals;

IpAddress client(std::uint32_t n) { return IpAddress::v4(0x0a000000 + n); }

TEST(Affinity, BindingLivesForItsTtlAndSlidesOnUse) {
  AffinityTable table(1024, 10min);
  core::TimePoint now{std::chrono::hours(5)};
  EXPECT_FALSE(table.find(client(1), now));
  table.bind(client(1), 7, now);
  EXPECT_EQ(table.find(client(1), now + 9min), SlotIndex{7});  // extends to now + 19 min
  EXPECT_EQ(table.find(client(1), now + 18min), SlotIndex{7});
  EXPECT_FALSE(table.find(client(1), now + 18min + 10min + 1s));
  EXPECT_FALSE(table.find(client(2), now));
}

TEST(Affinity, RebindAndForget) {
  AffinityTable table(1024, 10min);
  core::TimePoint now{std::chrono::hours(1)};
  table.bind(client(1), 3, now);
  table.bind(client(1), 4, now);
  EXPECT_EQ(table.find(client(1), now), SlotIndex{4});
  EXPECT_EQ(table.live(now), 1u);
  table.forget(client(1));
  EXPECT_FALSE(table.find(client(1), now));
}

TEST(Affinity, SizeIsBoundedAndRecentBindingsSurvive) {
  AffinityTable table(256, 10min);
  core::TimePoint now{std::chrono::hours(1)};
  for (std::uint32_t i = 0; i < 10000; ++i) table.bind(client(i), static_cast<SlotIndex>(i % 100), now + std::chrono::milliseconds(i));
  EXPECT_LE(table.live(now), 256u);
  EXPECT_GT(table.live(now), 200u);
  EXPECT_EQ(table.find(client(9999), now), SlotIndex{9999 % 100});
}

TEST(Affinity, IPv6ClientsBindToo) {
  AffinityTable table(64, 1min);
  core::TimePoint now{std::chrono::hours(1)};
  const auto a = *parse_ip("2001:db8::1");
  const auto b = *parse_ip("2001:db8::2");
  table.bind(a, 1, now);
  table.bind(b, 2, now);
  EXPECT_EQ(table.find(a, now), SlotIndex{1});
  EXPECT_EQ(table.find(b, now), SlotIndex{2});
}

TEST(ClientRate, CountsPerAddressPerSecond) {
  ClientRateLimiter limiter(1024, 3);
  core::TimePoint now{std::chrono::hours(1)};
  EXPECT_TRUE(limiter.allow(client(1), now));
  EXPECT_TRUE(limiter.allow(client(1), now + 100ms));
  EXPECT_TRUE(limiter.allow(client(1), now + 200ms));
  EXPECT_FALSE(limiter.allow(client(1), now + 300ms));
  EXPECT_TRUE(limiter.allow(client(2), now + 300ms));
  EXPECT_TRUE(limiter.allow(client(1), now + 1s));
}

TEST(ClientRate, ZeroMeansNoLimit) {
  ClientRateLimiter limiter(16, 0);
  core::TimePoint now{std::chrono::hours(1)};
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.allow(client(1), now));
}

}  // namespace
}  // namespace hop::proxy
