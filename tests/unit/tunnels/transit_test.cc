#include "hop/tunnels/transit.h"

#include <gtest/gtest.h>

#include "hop/tunnels/token_bucket.h"
#include "overlay_sim.h"

namespace hop::tunnels {
namespace {

using namespace std::chrono_literals;

BuildRecord record(TunnelId id) {
  BuildRecord r;
  r.receive_id = id;
  r.next_id = id + 1000;
  return r;
}

core::RouterHash peer(int i) {
  core::RouterHash h;
  h.bytes[0] = static_cast<std::uint8_t>(i);
  return h;
}

TEST(TransitTable, RefusesOverTheTransitLimitAndForAnIdInUse) {
  TransitTable t({.max_transit = 2, .build_requests_per_peer_per_minute = 100, .share_bytes_per_sec = 1e6});
  const core::TimePoint now{};
  for (TunnelId id : {1u, 2u}) {
    ASSERT_EQ(t.admit(record(id), peer(1), now), BuildStatus::kAccepted);
    t.add(record(id), peer(1), now, now + 10min);
  }
  EXPECT_EQ(t.admit(record(3), peer(1), now), BuildStatus::kTransitLimit);
  EXPECT_EQ(t.admit(record(2), peer(1), now), BuildStatus::kIdInUse);
  EXPECT_EQ(t.expire(now + 10min), 2u);
  EXPECT_EQ(t.admit(record(3), peer(1), now + 10min), BuildStatus::kAccepted) << "room again after expiry";
}

TEST(TransitTable, RateLimitsEachPreviousHopOnItsOwn) {
  TransitTable t({.max_transit = 100, .build_requests_per_peer_per_minute = 3, .share_bytes_per_sec = 1e6});
  core::TimePoint now{};
  for (TunnelId id = 1; id <= 3; ++id) EXPECT_EQ(t.admit(record(id), peer(1), now), BuildStatus::kAccepted);
  EXPECT_EQ(t.admit(record(4), peer(1), now), BuildStatus::kRateLimited);
  EXPECT_EQ(t.admit(record(5), peer(2), now), BuildStatus::kAccepted) << "another peer has its own budget";
  EXPECT_EQ(t.admit(record(6), peer(1), now + 61s), BuildStatus::kAccepted) << "the window slides";
}

TEST(TransitTable, NoBandwidthToShareRefusesEverything) {
  TransitTable t({.max_transit = 100, .build_requests_per_peer_per_minute = 100, .share_bytes_per_sec = 0});
  EXPECT_EQ(t.admit(record(1), peer(1), {}), BuildStatus::kBandwidth);
}

TEST(TransitTable, EndsGetTheirCellCodecs) {
  TransitTable t({});
  BuildRecord gw = record(1);
  gw.role = HopRole::kInboundGateway;
  BuildRecord ep = record(2);
  ep.role = HopRole::kOutboundEndpoint;
  EXPECT_NE(t.add(gw, peer(1), {}, core::TimePoint{} + 1min).writer, nullptr);
  EXPECT_NE(t.add(ep, peer(1), {}, core::TimePoint{} + 1min).reader, nullptr);
  EXPECT_EQ(t.add(record(3), peer(1), {}, core::TimePoint{} + 1min).writer, nullptr);
}

TEST(TokenBucket, ShapesToItsRateWithABurst) {
  TokenBucket b(1000, 500);
  core::TimePoint now{};
  EXPECT_TRUE(b.take(500, now));
  EXPECT_FALSE(b.take(1, now)) << "the burst is spent";
  EXPECT_FALSE(b.take(200, now + 100ms)) << "100 ms refill 100 bytes";
  EXPECT_TRUE(b.take(100, now + 100ms));
  EXPECT_TRUE(b.take(500, now + 10s)) << "refills up to the burst, not beyond";
  EXPECT_FALSE(b.take(1, now + 10s));
  // Over a simulated minute at most rate × time + burst passes.
  std::size_t passed = 0;
  for (int ms = 0; ms < 60'000; ++ms) passed += b.take(100, now + 10s + std::chrono::milliseconds(ms)) ? 100 : 0;
  EXPECT_LE(passed, 60'000u + 500u);
  EXPECT_GE(passed, 59'000u);
}

// Transit limits changed while a node runs (SIGHUP): the table's admission limits, the token
// bucket's rate, and a TunnelManager on the simulated overlay (overlay_sim.h) whose hops refuse
// builds beyond a lowered max_transit and accept them again once it is raised.

TEST(TransitLimits, ALowerMaxTransitRefusesNewBuildsAndKeepsTheHopsCarried) {
  TransitTable t({.max_transit = 3, .build_requests_per_peer_per_minute = 100, .share_bytes_per_sec = 1e6});
  const core::TimePoint now{};
  for (TunnelId id : {1u, 2u, 3u}) {
    ASSERT_EQ(t.admit(record(id), peer(1), now), BuildStatus::kAccepted);
    t.add(record(id), peer(1), now, now + 10min);
  }
  t.set_limits({.max_transit = 1, .build_requests_per_peer_per_minute = 100, .share_bytes_per_sec = 1e6});
  EXPECT_EQ(t.admit(record(4), peer(2), now), BuildStatus::kTransitLimit);
  EXPECT_EQ(t.size(), 3u) << "hops beyond the new limit are carried until they expire";
  EXPECT_NE(t.find(3), nullptr);
  t.set_limits({.max_transit = 4, .build_requests_per_peer_per_minute = 100, .share_bytes_per_sec = 1e6});
  EXPECT_EQ(t.admit(record(4), peer(2), now), BuildStatus::kAccepted) << "raised: room again";
  EXPECT_EQ(t.limits().max_transit, 4u);
}

TEST(TransitLimits, TheBuildRateAndTheShareChangeForTheNextRequest) {
  TransitTable t({.max_transit = 100, .build_requests_per_peer_per_minute = 10, .share_bytes_per_sec = 1e6});
  const core::TimePoint now{};
  EXPECT_EQ(t.admit(record(1), peer(1), now), BuildStatus::kAccepted);
  EXPECT_EQ(t.admit(record(2), peer(1), now), BuildStatus::kAccepted);
  t.set_limits({.max_transit = 100, .build_requests_per_peer_per_minute = 2, .share_bytes_per_sec = 1e6});
  EXPECT_EQ(t.admit(record(3), peer(1), now), BuildStatus::kRateLimited) << "a third request in the minute";
  t.set_limits({.max_transit = 100, .build_requests_per_peer_per_minute = 10, .share_bytes_per_sec = 0});
  EXPECT_EQ(t.admit(record(4), peer(1), now), BuildStatus::kBandwidth) << "share 0 refuses every build";
  t.set_limits({.max_transit = 100, .build_requests_per_peer_per_minute = 10, .share_bytes_per_sec = 1e6});
  EXPECT_EQ(t.admit(record(5), peer(1), now), BuildStatus::kAccepted);
}

TEST(TransitLimits, TheTokenBucketTakesTheNewRate) {
  TransitTable t({.max_transit = 10, .build_requests_per_peer_per_minute = 10, .share_bytes_per_sec = 1000});
  TokenBucket bucket = transit_bucket(t.limits());
  EXPECT_EQ(bucket.rate(), 1000);
  core::TimePoint now = core::TimePoint{} + 1h;
  ASSERT_TRUE(bucket.take(64 * 1024, now)) << "the burst: at least 64 KiB";
  EXPECT_FALSE(bucket.take(2000, now + 1s)) << "1000 bytes a second";
  EXPECT_TRUE(bucket.take(1000, now + 1s));

  apply_transit_limits({.max_transit = 10, .build_requests_per_peer_per_minute = 10, .share_bytes_per_sec = 1e6},
                       t, bucket);
  EXPECT_EQ(bucket.rate(), 1e6);
  EXPECT_EQ(t.limits().share_bytes_per_sec, 1e6);
  now += 2s;
  EXPECT_TRUE(bucket.take(500'000, now)) << "a new bucket starts full: half a second of the new rate";
  EXPECT_FALSE(bucket.take(1, now));
  EXPECT_TRUE(bucket.take(100'000, now + 100ms)) << "refilled at the new rate";
  EXPECT_FALSE(bucket.take(1000, now + 100ms));
}

TEST(TransitLimits, ARunningManagerRefusesBeyondALoweredMaxTransitAndAcceptsOnceRaised) {
  overlay::Overlay w({.nodes = 6, .floodfills = 1, .link = {.latency = 5ms}});
  auto limits_with = [](std::size_t max_transit) {
    return TransitLimits{.max_transit = max_transit, .build_requests_per_peer_per_minute = 1000,
                         .share_bytes_per_sec = 64.0 * 1024 * 1024};
  };
  for (int i = 0; i < w.size(); ++i) w.node(i).tunnels->set_transit_limits(limits_with(0));
  auto transit_total = [&] {
    std::size_t n = 0;
    for (int i = 0; i < w.size(); ++i) n += w.node(i).tunnels->transit().size();
    return n;
  };
  auto refused_total = [&] {
    std::uint64_t n = 0;
    for (int i = 0; i < w.size(); ++i) n += w.node(i).tunnels->counters().transit_refused;
    return n;
  };
  w.rt().advance(10s);
  EXPECT_EQ(transit_total(), 0u);
  EXPECT_GT(refused_total(), 0u);
  EXPECT_EQ(w.node(0).tunnels->established(Direction::kOutbound), 0u) << "every hop refuses";

  for (int i = 0; i < w.size(); ++i) w.node(i).tunnels->set_transit_limits(limits_with(5000));
  ASSERT_TRUE(w.run_until([&] { return w.node(0).tunnels->established(Direction::kOutbound) == 2 &&
                                       w.node(0).tunnels->established(Direction::kInbound) == 2; },
                          90s))
      << "raised: the hops accept again (after the builds' backoff)";
  const std::size_t carried = transit_total();
  ASSERT_GT(carried, 0u);

  // Lowered below what they carry: nothing is torn down, and the tunnels keep passing tests.
  for (int i = 0; i < w.size(); ++i) w.node(i).tunnels->set_transit_limits(limits_with(0));
  const auto passed = w.node(0).tunnels->counters().tests_passed;
  w.rt().advance(35s);
  EXPECT_EQ(transit_total(), carried) << "no transit hop was dropped, and none was added";
  EXPECT_GT(w.node(0).tunnels->counters().tests_passed, passed) << "the carried tunnels still work";
  EXPECT_EQ(w.node(0).tunnels->established(Direction::kOutbound), 2u);
}

}  // namespace
}  // namespace hop::tunnels
