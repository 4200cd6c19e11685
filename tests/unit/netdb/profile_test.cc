#include "hop/netdb/profile.h"

#include <gtest/gtest.h>

#include <functional>

#include "hop/netdb/constants.h"

namespace hop::netdb {
namespace {

using namespace std::chrono_literals;

const core::WallTime kNow = core::WallTime(std::chrono::seconds(1'800'000'000));

// A peer seen just now with a few results of every kind, so each input can move both ways.
PeerProfile base_profile() {
  PeerProfile p;
  for (int i = 0; i < 4; ++i) p.record_reachability(i != 1, 80ms, kNow - 10min + i * 1min);
  p.bandwidth = 500'000;
  p.bandwidth_samples = 3;
  p.builds = {.accepted = 3, .declined = 1, .timed_out = 1, .updated = kNow};
  p.last_seen = kNow;
  return p;
}

// Scores of base_profile() changed by `change(p, step)` for step 0..n-1.
std::vector<double> scores_along(const std::function<void(PeerProfile&, int)>& change, int n = 8) {
  std::vector<double> out;
  for (int step = 0; step < n; ++step) {
    PeerProfile p = base_profile();
    change(p, step);
    out.push_back(score(p, kNow));
  }
  return out;
}

void expect_increasing(const std::vector<double>& v, const char* what) {
  for (std::size_t i = 1; i < v.size(); ++i) EXPECT_GT(v[i], v[i - 1]) << what << " at step " << i;
}

void expect_decreasing(const std::vector<double>& v, const char* what) {
  for (std::size_t i = 1; i < v.size(); ++i) EXPECT_LT(v[i], v[i - 1]) << what << " at step " << i;
}

TEST(PeerProfile, RttFollowsRfc6298) {
  PeerProfile p;
  p.record_rtt(100ms);
  EXPECT_EQ(p.srtt, 100ms);  // first sample: srtt = R, rttvar = R/2
  EXPECT_EQ(p.rttvar, 50ms);
  p.record_rtt(200ms);
  EXPECT_EQ(p.rttvar, 62'500us);  // 3/4 * 50 + 1/4 * |100 - 200|
  EXPECT_EQ(p.srtt, 112'500us);   // 7/8 * 100 + 1/8 * 200
  EXPECT_EQ(p.rtt_samples, 2u);
}

TEST(PeerProfile, RttConvergesAndItsSpreadShrinksOnSteadySamples) {
  PeerProfile p;
  p.record_rtt(400ms);
  for (int i = 0; i < 200; ++i) p.record_rtt(50ms);
  EXPECT_LT(p.srtt - 50ms, 1ms);
  EXPECT_LT(p.rttvar, 1ms);
  // One outlier moves srtt by only 1/8 of the difference but widens the spread.
  p.record_rtt(850ms);
  using Ms = std::chrono::duration<double, std::milli>;
  EXPECT_NEAR(Ms(p.srtt).count(), 150.0, 1.0);
  EXPECT_GT(p.rttvar, 190ms);
}

TEST(PeerProfile, FailedTestsCarryNoRttAndCountInARow) {
  PeerProfile p;
  p.record_reachability(false, 5s, kNow);
  p.record_reachability(false, std::nullopt, kNow + 1min);
  EXPECT_EQ(p.rtt_samples, 0u);
  EXPECT_EQ(p.consecutive_failures, 2u);
  EXPECT_EQ(p.last_tested, kNow + 1min);
  EXPECT_EQ(p.last_seen, core::WallTime{}) << "a failure is not a sighting";
  p.record_reachability(true, 30ms, kNow + 2min);
  EXPECT_EQ(p.consecutive_failures, 0u);
  EXPECT_EQ(p.srtt, 30ms);
  EXPECT_EQ(p.last_seen, kNow + 2min);
}

TEST(PeerProfile, KeepsOnlyTheLastWindowOfTests) {
  PeerProfile p;
  const int total = static_cast<int>(kReachabilityWindow) + 5;
  for (int i = 0; i < total; ++i) p.record_reachability(i % 3 != 0, std::nullopt, kNow + i * 1min);
  ASSERT_EQ(p.reachability.size(), kReachabilityWindow);
  EXPECT_EQ(p.reachability.front().at, kNow + 5min) << "the five oldest were dropped";
  EXPECT_EQ(p.reachability.back().at, kNow + (total - 1) * 1min);
  std::size_t ok = 0;
  for (int i = 5; i < total; ++i) ok += i % 3 != 0;
  EXPECT_EQ(p.window_successes(), ok);
  EXPECT_EQ(p.window_failures(), kReachabilityWindow - ok);
}

TEST(PeerProfile, BandwidthIsAnEwmaOfProbes) {
  PeerProfile p;
  p.record_bandwidth(2'000'000, 2s, kNow);
  EXPECT_DOUBLE_EQ(p.bandwidth, 1'000'000);
  p.record_bandwidth(200'000, 1s, kNow + 1min);
  EXPECT_DOUBLE_EQ(p.bandwidth, 1'000'000 + kBandwidthGain * (200'000 - 1'000'000));
  p.record_bandwidth(1'000'000, 0s, kNow + 2min);  // no elapsed time: no information
  EXPECT_EQ(p.bandwidth_samples, 2u);
  EXPECT_EQ(p.last_seen, kNow + 1min);
}

TEST(PeerProfile, BuildOutcomesDecayWithAHalfLife) {
  PeerProfile p;
  p.record_build(BuildOutcome::kAccepted, kNow);
  p.record_build(BuildOutcome::kDeclined, kNow);
  p.record_build(BuildOutcome::kTimedOut, kNow);
  const BuildCounts later = decayed(p.builds, kNow + kBuildHalfLife);
  EXPECT_DOUBLE_EQ(later.accepted, 0.5);
  EXPECT_DOUBLE_EQ(later.declined, 0.5);
  EXPECT_DOUBLE_EQ(later.timed_out, 0.5);
  p.record_build(BuildOutcome::kAccepted, kNow + 2 * kBuildHalfLife);
  EXPECT_DOUBLE_EQ(p.builds.accepted, 1.25);
  EXPECT_DOUBLE_EQ(p.builds.declined, 0.25);
  EXPECT_EQ(decayed(p.builds, kNow), p.builds) << "a clock step back does not decay";
}

TEST(PeerProfile, AnsweredBuildsCountAsSeenTimeoutsDoNot) {
  PeerProfile p;
  p.record_build(BuildOutcome::kTimedOut, kNow);
  EXPECT_EQ(p.last_seen, core::WallTime{});
  p.record_build(BuildOutcome::kDeclined, kNow + 1s);
  EXPECT_EQ(p.last_seen, kNow + 1s);
}

TEST(Score, MatchesTheDocumentedFormula) {
  PeerProfile p;
  for (bool ok : {true, true, false, true}) p.record_reachability(ok, std::nullopt, kNow);
  p.record_rtt(kReferenceRtt);
  p.record_bandwidth(1'000'000, 1s, kNow);
  p.record_build(BuildOutcome::kAccepted, kNow);
  p.record_build(BuildOutcome::kAccepted, kNow);
  const double expected = 0.4 * (4.0 / 6) + 0.2 * 0.5 + 0.2 * 0.5 + 0.2 * (3.0 / 4);
  EXPECT_NEAR(score(p, kNow), expected, 1e-12);
  // Six hours later: half as fresh, and the two accepts have decayed by 2^-6.
  const double accepted = 2.0 / 64;
  const double later = 0.5 * (0.4 * (4.0 / 6) + 0.2 * 0.5 + 0.2 * 0.5 + 0.2 * (accepted + 1) / (accepted + 2));
  EXPECT_NEAR(score(p, kNow + kFreshnessHalfLife), later, 1e-12);
}

TEST(Score, NeutralPriorsForAPeerWithoutMeasurements) {
  PeerProfile p;
  p.record_seen(kNow);
  EXPECT_NEAR(score(p, kNow), 0.5, 1e-12);
  EXPECT_EQ(score(PeerProfile{}, kNow), 0.0) << "never seen: nothing to go on";
}

TEST(Score, StaysWithinZeroAndOne) {
  PeerProfile best;
  for (std::size_t i = 0; i < 1000; ++i) best.record_reachability(true, 0ms, kNow);
  best.record_bandwidth(~std::uint64_t{0}, 1ns, kNow);
  for (int i = 0; i < 1000; ++i) best.record_build(BuildOutcome::kAccepted, kNow);
  EXPECT_LE(score(best, kNow), 1.0);
  EXPECT_GT(score(best, kNow), 0.95);
  EXPECT_GE(score(best, kNow - 1h), 0.0) << "clock stepped back: age clamps to zero";
  EXPECT_EQ(score(best, kNow - 1h), score(best, kNow));
}

TEST(Score, MonotoneInEachInput) {
  expect_increasing(scores_along([](PeerProfile& p, int s) {
    for (int i = 0; i < s; ++i) p.record_reachability(true, std::nullopt, kNow);
  }), "successes");
  expect_decreasing(scores_along([](PeerProfile& p, int s) {
    for (int i = 0; i < s; ++i) p.record_reachability(false, std::nullopt, kNow);
  }), "failures");
  expect_decreasing(scores_along([](PeerProfile& p, int s) { p.srtt = s * 70ms; }), "srtt");
  expect_increasing(scores_along([](PeerProfile& p, int s) { p.bandwidth = s * 300'000.0; }), "bandwidth");
  expect_increasing(scores_along([](PeerProfile& p, int s) { p.builds.accepted += s; }), "accepted");
  expect_decreasing(scores_along([](PeerProfile& p, int s) { p.builds.declined += s; }), "declined");
  expect_decreasing(scores_along([](PeerProfile& p, int s) { p.builds.timed_out += s; }), "timed out");
  expect_decreasing(scores_along([](PeerProfile& p, int s) { p.last_seen = kNow - s * 2h; }), "age");
}

TEST(Score, OldBuildResultsWeighLess) {
  PeerProfile p = base_profile();
  p.builds = {.accepted = 0, .declined = 10, .timed_out = 0, .updated = kNow - 6 * kBuildHalfLife};
  PeerProfile fresh = p;
  fresh.builds.updated = kNow;
  EXPECT_GT(score(p, kNow), score(fresh, kNow)) << "declines from six half-lives ago barely count";
  EXPECT_NEAR(score_terms(p, kNow).builds, 0.5, 0.08);
}

TEST(Reachable, LatestTestOrARecentSighting) {
  PeerProfile p;
  EXPECT_FALSE(is_reachable(p, kNow, kRecentlySeen));
  p.record_reachability(true, std::nullopt, kNow - 1h);
  EXPECT_TRUE(is_reachable(p, kNow, kRecentlySeen)) << "latest test succeeded";
  p.record_reachability(false, std::nullopt, kNow - 30min);
  EXPECT_FALSE(is_reachable(p, kNow, kRecentlySeen));
  p.record_seen(kNow - kRecentlySeen);
  EXPECT_TRUE(is_reachable(p, kNow, kRecentlySeen)) << "seen exactly kRecentlySeen ago";
  EXPECT_FALSE(is_reachable(p, kNow + 1ms, kRecentlySeen));
}

TEST(Reachable, AFailedLatestTestOutweighsAnEarlierSighting) {
  PeerProfile p;
  p.record_reachability(true, std::nullopt, kNow - 10s);
  p.record_seen(kNow - 5s);
  p.record_reachability(false, std::nullopt, kNow - 2s);  // the link was lost, the retest failed
  EXPECT_FALSE(is_reachable(p, kNow, kRecentlySeen)) << "seen 5 s ago, but not since the failed test";
  p.record_seen(kNow - 1s);  // it linked to us again
  EXPECT_TRUE(is_reachable(p, kNow, kRecentlySeen));
}

}  // namespace
}  // namespace hop::netdb
