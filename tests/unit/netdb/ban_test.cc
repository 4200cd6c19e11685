#include "hop/netdb/ban.h"

#include <gtest/gtest.h>

namespace hop::netdb {
namespace {

using namespace std::chrono_literals;

const core::WallTime kNow = core::WallTime(std::chrono::seconds(1'800'000'000));

core::RouterHash hash_of(int i) {
  core::RouterHash h;
  h.bytes[0] = static_cast<std::uint8_t>(i);
  h.bytes[31] = static_cast<std::uint8_t>(i >> 8);
  return h;
}

// Records `results` one minute apart starting at kNow; returns the time of the last one.
core::WallTime record(PeerProfile& p, std::initializer_list<bool> results) {
  core::WallTime t = kNow;
  for (bool ok : results) {
    t += 1min;
    p.record_reachability(ok, std::nullopt, t);
  }
  return t;
}

TEST(DecideBan, BansAfterExactlyNConsecutiveFailuresNotNMinusOne) {
  const BanPolicy policy;  // the defaults: kDefaultBanAfterFailures, kDefaultBanDuration
  ASSERT_EQ(policy.failures_before_ban, 3u);
  PeerProfile p;
  record(p, {false, false});
  EXPECT_FALSE(decide_ban(p, policy, kNow).has_value()) << "N-1 failures";
  const core::WallTime t = record(p, {false});
  const auto ban = decide_ban(p, policy, t);
  ASSERT_TRUE(ban.has_value()) << "N failures";
  EXPECT_EQ(ban->start, t);
  EXPECT_EQ(ban->end, t + 24h);
  EXPECT_NE(ban->reason.find("unreachable"), std::string::npos) << ban->reason;
}

TEST(DecideBan, ASuccessInBetweenResetsTheCount) {
  PeerProfile p;
  record(p, {false, false, true, false, false});
  EXPECT_FALSE(decide_ban(p, BanPolicy{}, kNow).has_value());
  record(p, {false});
  EXPECT_TRUE(decide_ban(p, BanPolicy{}, kNow).has_value());
}

TEST(DecideBan, PolicyIsConfigurable) {
  PeerProfile p;
  record(p, {false, false, false, false});
  EXPECT_FALSE(decide_ban(p, {.failures_before_ban = 5}, kNow).has_value());
  const auto ban = decide_ban(p, {.failures_before_ban = 4, .duration = 2h}, kNow);
  ASSERT_TRUE(ban.has_value());
  EXPECT_EQ(ban->end - ban->start, 2h);
  EXPECT_FALSE(decide_ban(p, {.failures_before_ban = 0}, kNow).has_value()) << "0 disables bans";
  PeerProfile first;
  record(first, {false});
  EXPECT_TRUE(decide_ban(first, {.failures_before_ban = 1}, kNow).has_value());
}

TEST(BanList, EndsAtExactlyTwentyFourHours) {
  PeerProfile p;
  record(p, {false, false, false});
  BanList bans;
  bans.ban(hash_of(1), *decide_ban(p, BanPolicy{}, kNow));
  EXPECT_TRUE(bans.is_banned(hash_of(1), kNow));
  EXPECT_TRUE(bans.is_banned(hash_of(1), kNow + 24h - 1ns));
  EXPECT_FALSE(bans.is_banned(hash_of(1), kNow + 24h));
  EXPECT_FALSE(bans.is_banned(hash_of(2), kNow)) << "others are not banned";
}

TEST(BanList, ExpireReturnsEndedBansOnce) {
  BanList bans;
  bans.ban(hash_of(1), {"a", kNow, kNow + 24h});
  bans.ban(hash_of(2), {"b", kNow, kNow + 48h});
  EXPECT_TRUE(bans.expire(kNow + 24h - 1ns).empty());
  EXPECT_EQ(bans.expire(kNow + 24h), std::vector<core::RouterHash>{hash_of(1)});
  EXPECT_TRUE(bans.expire(kNow + 24h).empty()) << "already removed";
  EXPECT_EQ(bans.find(hash_of(1)), nullptr);
  ASSERT_NE(bans.find(hash_of(2)), nullptr);
  EXPECT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans.expire(kNow + 1000h), std::vector<core::RouterHash>{hash_of(2)});
  EXPECT_TRUE(bans.all().empty());
}

TEST(BanList, ABanIsNeverShortened) {
  BanList bans;
  bans.ban(hash_of(1), {"long", kNow, kNow + 24h});
  bans.ban(hash_of(1), {"short", kNow + 1h, kNow + 2h});
  EXPECT_TRUE(bans.is_banned(hash_of(1), kNow + 23h));
  EXPECT_EQ(bans.find(hash_of(1))->reason, "long");
  bans.ban(hash_of(1), {"longer", kNow + 1h, kNow + 30h});
  EXPECT_EQ(bans.find(hash_of(1))->end, kNow + 30h);
}

TEST(BanList, AClockStepBackDoesNotLiftABan) {
  BanList bans;
  bans.ban(hash_of(1), {"x", kNow, kNow + 24h});
  EXPECT_TRUE(bans.is_banned(hash_of(1), kNow - 1h));
  EXPECT_TRUE(bans.expire(kNow - 1h).empty());
}

TEST(BanList, StillFailingAfterTheBanMeansBannedAgainAtTheNextFailure) {
  PeerProfile p;
  BanList bans;
  const core::WallTime t = record(p, {false, false, false});
  bans.ban(hash_of(1), *decide_ban(p, BanPolicy{}, t));
  ASSERT_EQ(bans.expire(t + 24h).size(), 1u);
  p.record_reachability(false, std::nullopt, t + 24h + 1min);
  const auto again = decide_ban(p, BanPolicy{}, t + 24h + 1min);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->end, t + 48h + 1min);
}

}  // namespace
}  // namespace hop::netdb
