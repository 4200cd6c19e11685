#include "hop/tunnels/transit.h"

#include <gtest/gtest.h>

#include "hop/tunnels/token_bucket.h"

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

}  // namespace
}  // namespace hop::tunnels
