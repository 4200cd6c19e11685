#include "hop/netdb/peer_book.h"

#include <gtest/gtest.h>

#include <map>

namespace hop::netdb {
namespace {

using namespace std::chrono_literals;

const core::WallTime kNow = core::WallTime(std::chrono::seconds(1'800'000'000));

core::RouterHash hash_of(int i) {
  core::RouterHash h;
  h.bytes[0] = static_cast<std::uint8_t>(i);
  return h;
}

struct Recorder final : PeerBookObserver {
  void on_profile_changed(const core::RouterHash& p, const PeerProfile& profile) override { profiles[p] = profile; }
  void on_banned(const core::RouterHash& p, const Ban& ban) override { bans[p] = ban; }
  void on_ban_ended(const core::RouterHash& p) override { ended.push_back(p); }
  std::map<core::RouterHash, PeerProfile> profiles;
  std::map<core::RouterHash, Ban> bans;
  std::vector<core::RouterHash> ended;
};

TEST(PeerBook, BansAfterTheThresholdAndReportsEveryChange) {
  PeerBook book({.failures_before_ban = 3, .duration = 24h}, {});
  Recorder rec;
  book.set_observer(&rec);
  const auto peer = hash_of(1);
  EXPECT_FALSE(book.record_reachability(peer, false, std::nullopt, kNow + 1min));
  EXPECT_FALSE(book.record_reachability(peer, false, std::nullopt, kNow + 2min));
  const auto ban = book.record_reachability(peer, false, std::nullopt, kNow + 3min);
  ASSERT_TRUE(ban);
  EXPECT_EQ(ban->end, kNow + 3min + 24h);
  EXPECT_TRUE(book.is_banned(peer, kNow + 3min + 24h - 1s));
  EXPECT_FALSE(book.is_banned(peer, kNow + 3min + 24h));
  ASSERT_EQ(rec.bans.count(peer), 1u);
  EXPECT_EQ(rec.profiles.at(peer).consecutive_failures, 3u);
  EXPECT_EQ(rec.profiles.at(peer), *book.profile(peer));
}

TEST(PeerBook, ALateFailureDuringABanDoesNotExtendIt) {
  PeerBook book({.failures_before_ban = 1, .duration = 1h}, {});
  const auto peer = hash_of(2);
  ASSERT_TRUE(book.record_reachability(peer, false, std::nullopt, kNow));
  EXPECT_FALSE(book.record_reachability(peer, false, std::nullopt, kNow + 30min));
  EXPECT_EQ(book.ban_of(peer)->end, kNow + 1h);
}

TEST(PeerBook, BeingSeenNeverLiftsABan) {
  PeerBook book({.failures_before_ban = 1, .duration = 24h}, {});
  const auto peer = hash_of(3);
  ASSERT_TRUE(book.record_reachability(peer, false, std::nullopt, kNow));
  book.record_seen(peer, kNow + 1h);  // e.g. it linked to us
  EXPECT_TRUE(book.is_banned(peer, kNow + 1h));
  EXPECT_TRUE(book.selection(kNow + 1h).empty()) << "a banned peer is never selected";
}

TEST(PeerBook, ExpiredBansAreRemovedReportedAndThePeerIsUsableAgain) {
  PeerBook book({.failures_before_ban = 1, .duration = 24h}, {.min_score = 0});
  Recorder rec;
  book.set_observer(&rec);
  const auto peer = hash_of(4);
  ASSERT_TRUE(book.record_reachability(peer, false, std::nullopt, kNow));
  EXPECT_TRUE(book.expire_bans(kNow + 24h - 1ms).empty());
  EXPECT_EQ(book.expire_bans(kNow + 24h), std::vector<core::RouterHash>{peer});
  EXPECT_EQ(rec.ended, std::vector<core::RouterHash>{peer});
  EXPECT_FALSE(book.record_reachability(peer, true, 5ms, kNow + 24h + 1s));
  EXPECT_EQ(book.selection(kNow + 24h + 1s), std::vector<core::RouterHash>{peer});
}

TEST(PeerBook, LoadRestoresStateWithoutReportingIt) {
  Profiles profiles;
  profiles[hash_of(5)].record_reachability(true, 10ms, kNow);
  BanList bans;
  bans.ban(hash_of(6), {"test", kNow, kNow + 1h});
  PeerBook book({}, {});
  Recorder rec;
  book.set_observer(&rec);
  book.load(profiles, bans);
  EXPECT_TRUE(rec.profiles.empty());
  EXPECT_TRUE(book.is_banned(hash_of(6), kNow));
  ASSERT_NE(book.profile(hash_of(5)), nullptr);
  EXPECT_EQ(book.profile(hash_of(5))->rtt_samples, 1u);
}

TEST(PeerBook, BandwidthAndBuildsLandInTheProfile) {
  PeerBook book({}, {});
  const auto peer = hash_of(7);
  book.record_bandwidth(peer, 1'000'000, 500ms, kNow);
  book.record_build(peer, BuildOutcome::kAccepted, kNow);
  EXPECT_DOUBLE_EQ(book.profile(peer)->bandwidth, 2'000'000);
  EXPECT_GT(book.profile(peer)->builds.accepted, 0.9);
}

}  // namespace
}  // namespace hop::netdb
