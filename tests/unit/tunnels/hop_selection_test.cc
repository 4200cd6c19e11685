#include "hop/tunnels/hop_selection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "hop/core/errors.h"
#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

constexpr std::uint32_t kFast = 1000;  // KB/s, well above the participation threshold

core::RouterHash hash_of(int i) {
  core::RouterHash h;
  h.bytes[0] = static_cast<std::uint8_t>(i >> 8);
  h.bytes[1] = static_cast<std::uint8_t>(i);
  h.bytes[2] = 0x5a;  // never all zeros, so no peer equals a default-constructed `self`
  return h;
}

HopCandidate peer(int i, std::string host, double score = 0.5, std::uint32_t kbps = kFast) {
  return {hash_of(i), score, std::move(host), kbps};
}

// An address in a /16 of peer i's own (for i < 62500).
std::string own_subnet(int i) { return std::to_string(1 + i / 250) + "." + std::to_string(i % 250) + ".0.1"; }

std::vector<HopCandidate> distinct_pool(int n, double score = 0.5) {
  std::vector<HopCandidate> pool;
  for (int i = 0; i < n; ++i) pool.push_back(peer(i, own_subnet(i), score));
  return pool;
}

HopRequest request(std::size_t length) { return {.length = length, .self = hash_of(9999), .avoid = {}}; }

HopChoice select_ok(const std::vector<HopCandidate>& pool, const HopRequest& req, std::mt19937_64& rng,
                    const HopRules& rules = {}) {
  auto choice = select_hops(pool, req, rules, rng);
  EXPECT_TRUE(choice.ok()) << (choice.ok() ? "" : choice.error().message());
  return choice.ok() ? *choice : HopChoice{};
}

// How often each peer is a hop over `rounds` selections of 3 hops.
std::map<core::RouterHash, int> appearances(const std::vector<HopCandidate>& pool, int rounds,
                                            std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<core::RouterHash, int> counts;
  for (const auto& c : pool) counts[c.hash] = 0;
  for (int i = 0; i < rounds; ++i) {
    for (const auto& hop : select_ok(pool, request(3), rng).hops) ++counts[hop];
  }
  return counts;
}

int max_count(const std::map<core::RouterHash, int>& counts) {
  int m = 0;
  for (const auto& [hash, n] : counts) m = std::max(m, n);
  return m;
}

TEST(HopSelection, EqualScoresShareFairly) {
  constexpr int kRounds = 10'000;
  const auto pool = distinct_pool(100);
  const auto counts = appearances(pool, kRounds, 1);
  const int fair_share = kRounds * 3 / 100;  // 300
  const int most = max_count(counts);
  RecordProperty("max_count", most);
  RecordProperty("fair_share", fair_share);
  EXPECT_LE(most, 3 * fair_share);
  for (const auto& [hash, n] : counts) EXPECT_GT(n, 0) << "every peer gets some tunnels";
}

TEST(HopSelection, BetterPeersAreChosenMoreOften) {
  constexpr int kRounds = 10'000;
  auto pool = distinct_pool(100, 0.5);
  for (int i = 0; i < 50; ++i) pool[static_cast<std::size_t>(i)].score = 1.0;
  const auto counts = appearances(pool, kRounds, 2);
  double good = 0;
  double plain = 0;
  for (int i = 0; i < 100; ++i) (i < 50 ? good : plain) += counts.at(hash_of(i));
  const double ratio = good / plain;
  RecordProperty("score_1_vs_0_5_ratio", std::to_string(ratio));
  EXPECT_GT(ratio, 1.6);  // about 2 in expectation (weights 1 : 0.5), a little less without replacement
  EXPECT_LT(ratio, 2.2);
  EXPECT_LE(max_count(counts), 3 * kRounds * 3 / 100);
}

TEST(HopSelection, AnOutstandingPeerIsNotInMostTunnels) {
  constexpr int kRounds = 10'000;
  auto pool = distinct_pool(100, 0.01);
  pool[0].score = 1.0;  // 100 times any other peer; its weight is capped at 4 median peers
  const auto counts = appearances(pool, kRounds, 3);
  const int best = counts.at(hash_of(0));
  RecordProperty("outstanding_peer_count", best);
  EXPECT_GT(best, counts.at(hash_of(1)));
  EXPECT_LT(best, kRounds / 4);
}

TEST(HopSelection, PoolOfZeroScoresStillWorks) {
  std::mt19937_64 rng(4);
  const auto choice = select_ok(distinct_pool(5, 0.0), request(3), rng);
  EXPECT_EQ(choice.hops.size(), 3u);
  EXPECT_TRUE(choice.relaxed.empty());
}

TEST(HopSelection, SelfIsNeverAHop) {
  auto pool = distinct_pool(4);
  HopRequest req = request(3);
  req.self = pool[0].hash;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 200; ++i) {
    const auto choice = select_ok(pool, req, rng);
    EXPECT_EQ(std::count(choice.hops.begin(), choice.hops.end(), req.self), 0);
  }
  req.length = 4;  // only three peers besides self: no relaxation gives a fourth
  const auto too_many = select_hops(pool, req, {}, rng);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, Errc::kNoRoute);
}

TEST(HopSelection, NoPeerIsAHopTwice) {
  // The same peer listed twice (and with another address) is still one peer.
  std::vector<HopCandidate> pool = {peer(1, "10.1.0.1"), peer(1, "10.2.0.1"), peer(2, "10.3.0.1"),
                                    peer(3, "10.4.0.1")};
  std::mt19937_64 rng(6);
  for (int i = 0; i < 200; ++i) {
    const auto hops = select_ok(pool, request(3), rng).hops;
    EXPECT_EQ(std::set(hops.begin(), hops.end()).size(), 3u);
  }
  pool.pop_back();
  EXPECT_EQ(select_hops(pool, request(3), {}, rng).error().code, Errc::kNoRoute);
}

TEST(HopSelection, NoTwoHopsInOneIpv4Slash16) {
  std::vector<HopCandidate> pool;
  for (int i = 0; i < 30; ++i) {
    pool.push_back(peer(i, "10." + std::to_string(i % 3) + "." + std::to_string(i) + ".7"));
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) {
    const auto choice = select_ok(pool, request(3), rng);
    std::set<int> subnets;
    for (const auto& hop : choice.hops) subnets.insert(hop.bytes[1] % 3);
    EXPECT_EQ(subnets.size(), 3u);
    EXPECT_TRUE(choice.relaxed.empty());
  }
}

TEST(HopSelection, NoTwoHopsInOneIpv6Slash32) {
  // 2001:db8:1:: and 2001:db8:ffff:: share 2001:db8::/32; 2001:db9:: does not.
  const std::vector<HopCandidate> pool = {peer(1, "2001:db8:1::1"), peer(2, "2001:DB8:ffff::2"),
                                          peer(3, "2001:db9::1")};
  std::mt19937_64 rng(8);
  const auto two = select_ok(pool, request(2), rng);
  EXPECT_TRUE(two.relaxed.empty());
  EXPECT_EQ(std::count(two.hops.begin(), two.hops.end(), hash_of(3)), 1);
  const auto three = select_ok(pool, request(3), rng);
  EXPECT_EQ(three.relaxed, std::vector{Relaxation::kSubnet});
}

TEST(HopSelection, Ipv4MappedIpv6CountsAsIpv4) {
  const std::vector<HopCandidate> pool = {peer(1, "192.0.2.1"), peer(2, "::ffff:192.0.9.9"),
                                          peer(3, "::ffff:c000:0301")};  // 192.0.3.1, hex form
  std::mt19937_64 rng(9);
  EXPECT_EQ(select_ok(pool, request(2), rng).relaxed, std::vector{Relaxation::kSubnet});
}

TEST(HopSelection, PeersWithoutANumericAddressAreSkipped) {
  const std::vector<HopCandidate> pool = {peer(1, "10.1.0.1"), peer(2, "example.com"), peer(3, ""),
                                          peer(4, "fe80::1%eth0"), peer(5, "10.2.0.1")};
  std::mt19937_64 rng(10);
  const auto hops = select_ok(pool, request(2), rng).hops;
  EXPECT_EQ(std::set(hops.begin(), hops.end()), (std::set{hash_of(1), hash_of(5)}));
  EXPECT_EQ(select_hops(pool, request(3), {}, rng).error().code, Errc::kNoRoute);
}

TEST(HopSelection, PeersBelowTheBandwidthThresholdAreNotHops) {
  std::vector<HopCandidate> pool = distinct_pool(6);
  pool[0].bandwidth_kbps = kDefaultParticipationKbps - 1;
  pool[1].bandwidth_kbps = kDefaultParticipationKbps;  // the threshold itself is enough
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200; ++i) {
    const auto choice = select_ok(pool, request(3), rng);
    EXPECT_EQ(std::count(choice.hops.begin(), choice.hops.end(), hash_of(0)), 0);
  }
  const auto strict = select_hops(pool, request(5), {.min_bandwidth_kbps = kDefaultParticipationKbps + 1}, rng);
  ASSERT_TRUE(strict.ok());
  EXPECT_EQ(strict->relaxed, std::vector{Relaxation::kBandwidth}) << "an operator's higher threshold";
}

TEST(HopSelection, AvoidedPeersAreUsedOnlyIfNothingElseFits) {
  const auto pool = distinct_pool(4);
  HopRequest req = request(3);
  req.avoid = {hash_of(0)};
  std::mt19937_64 rng(12);
  for (int i = 0; i < 200; ++i) {
    const auto choice = select_ok(pool, req, rng);
    EXPECT_EQ(std::count(choice.hops.begin(), choice.hops.end(), hash_of(0)), 0);
    EXPECT_TRUE(choice.relaxed.empty());
  }
  req.avoid = {hash_of(0), hash_of(1)};
  const auto choice = select_ok(pool, req, rng);
  EXPECT_EQ(choice.relaxed, std::vector{Relaxation::kAvoidList});
  EXPECT_EQ(std::count(choice.hops.begin(), choice.hops.end(), hash_of(2)) +
                std::count(choice.hops.begin(), choice.hops.end(), hash_of(3)),
            2)
      << "both fresh peers, and one avoided one";
}

TEST(HopSelection, RulesRelaxInOrderAndOnlyAsFarAsNeeded) {
  // 1 and 2 share a /16, 3 is avoided, 4 is slow: three hops need every rule relaxed.
  const std::vector<HopCandidate> pool = {peer(1, "10.1.0.1"), peer(2, "10.1.0.2"), peer(3, "10.3.0.1"),
                                          peer(4, "10.4.0.1", 0.5, 10)};
  HopRequest req = request(3);
  req.avoid = {hash_of(3)};
  std::mt19937_64 rng(13);
  // Two hops: 1 or 2, plus the avoided 3 in its own /16; the subnet rule still holds.
  req.length = 2;
  EXPECT_EQ(select_ok(pool, req, rng).relaxed, std::vector{Relaxation::kAvoidList});
  req.length = 3;  // 1, 2 and 3: the slow 4 is still not needed
  EXPECT_EQ(select_ok(pool, req, rng).relaxed, (std::vector{Relaxation::kAvoidList, Relaxation::kSubnet}));
  req.length = 4;
  const auto all = select_ok(pool, req, rng);
  EXPECT_EQ(all.relaxed, (std::vector{Relaxation::kAvoidList, Relaxation::kSubnet, Relaxation::kBandwidth}));
  // Without the avoided peer, 1, 2 and 4 break subnet and bandwidth but not the avoid list.
  req = request(3);
  req.avoid = {hash_of(3)};
  const std::vector<HopCandidate> no_third = {pool[0], pool[1], pool[3]};
  EXPECT_EQ(select_ok(no_third, req, rng).relaxed, (std::vector{Relaxation::kSubnet, Relaxation::kBandwidth}));
}

TEST(HopSelection, ARelaxedRuleIsBrokenOnlyOnce) {
  // Four /16s for five hops: exactly one pair of hops may share a /16.
  std::vector<HopCandidate> pool;
  for (int i = 0; i < 12; ++i) pool.push_back(peer(i, "10." + std::to_string(i % 4) + ".0." + std::to_string(i)));
  std::mt19937_64 rng(14);
  for (int i = 0; i < 200; ++i) {
    const auto choice = select_ok(pool, request(5), rng);
    std::set<int> subnets;
    for (const auto& hop : choice.hops) subnets.insert(hop.bytes[1] % 4);
    EXPECT_EQ(subnets.size(), 4u);
    EXPECT_EQ(choice.relaxed, std::vector{Relaxation::kSubnet});
  }
}

TEST(HopSelection, TooSmallAnOverlayIsAClearError) {
  std::mt19937_64 rng(15);
  const auto result = select_hops(distinct_pool(2), request(3), {}, rng);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::kNoRoute);
  EXPECT_NE(result.error().message().find("only 2 usable peers"), std::string::npos) << result.error().message();
  EXPECT_EQ(select_hops({}, request(1), {}, rng).error().code, Errc::kNoRoute);
}

TEST(HopSelection, LengthLimits) {
  std::mt19937_64 rng(16);
  EXPECT_TRUE(select_ok({}, request(0), rng).hops.empty()) << "0 hops need no peers";
  EXPECT_EQ(select_hops(distinct_pool(20), request(kMaxHops + 1), {}, rng).error().code,
            core::Errc::kInvalidArgument);
  EXPECT_EQ(select_ok(distinct_pool(20), request(kMaxHops), rng).hops.size(), kMaxHops);
}

TEST(HopSelection, SameSeedSameHops) {
  const auto pool = distinct_pool(50);
  auto run = [&](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::vector<core::RouterHash>> tunnels;
    for (int i = 0; i < 20; ++i) tunnels.push_back(select_ok(pool, request(3), rng).hops);
    return tunnels;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(HopSelection, PositionInATunnelDoesNotFollowScore) {
  // Weighted draws come out best first; the shuffle must hide that, so hop 1 is not the best.
  std::vector<HopCandidate> pool = distinct_pool(3, 0.01);
  pool[0].score = 1.0;
  std::mt19937_64 rng(17);
  std::map<std::size_t, int> position_of_best;
  for (int i = 0; i < 3000; ++i) {
    const auto hops = select_ok(pool, request(3), rng).hops;
    ++position_of_best[static_cast<std::size_t>(std::find(hops.begin(), hops.end(), hash_of(0)) - hops.begin())];
  }
  for (std::size_t p = 0; p < 3; ++p) EXPECT_GT(position_of_best[p], 800) << "position " << p;
}

TEST(HopSelection, RelaxationNames) {
  EXPECT_EQ(to_string(Relaxation::kAvoidList), "avoid-list");
  EXPECT_EQ(to_string(Relaxation::kSubnet), "subnet");
  EXPECT_EQ(to_string(Relaxation::kBandwidth), "bandwidth");
}

}  // namespace
}  // namespace hop::tunnels
