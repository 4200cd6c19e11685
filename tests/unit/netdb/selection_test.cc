#include "hop/netdb/selection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace hop::netdb {
namespace {

using namespace std::chrono_literals;

const core::WallTime kNow = core::WallTime(std::chrono::seconds(1'800'000'000));

core::RouterHash hash_of(int i) {
  core::RouterHash h;
  h.bytes[0] = static_cast<std::uint8_t>(i >> 8);
  h.bytes[1] = static_cast<std::uint8_t>(i);
  return h;
}

// A peer tested just now, successfully, with the given RTT (which sets its score).
PeerProfile good_peer(core::Duration rtt = 50ms) {
  PeerProfile p;
  p.record_reachability(true, rtt, kNow - 1min);
  return p;
}

TEST(Selection, BannedPeersAreNeverSelected) {
  Profiles profiles{{hash_of(1), good_peer()}, {hash_of(2), good_peer()}};
  BanList bans;
  bans.ban(hash_of(1), {"test", kNow - 1h, kNow + 23h});
  EXPECT_EQ(selection_pool(profiles, bans, {}, kNow), std::vector{hash_of(2)});
  EXPECT_EQ(selection_pool(profiles, bans, {.min_score = 0}, kNow + 23h).size(), 2u) << "back when the ban ends";
  EXPECT_EQ(selection_pool(profiles, bans, {.min_score = 0}, kNow + 23h - 1ns).size(), 1u);
}

TEST(Selection, UnreachablePeersAreNeverSelected) {
  PeerProfile failed;
  failed.record_reachability(true, 1ms, kNow - 1h);
  failed.record_reachability(false, std::nullopt, kNow - 30s);
  PeerProfile never_tested;
  PeerProfile seen_recently = failed;
  seen_recently.record_seen(kNow - 20s);  // after its failed test
  PeerProfile seen_before_failing = failed;
  seen_before_failing.record_seen(kNow - 40s);
  Profiles profiles{{hash_of(1), failed}, {hash_of(2), never_tested}, {hash_of(3), seen_recently},
                    {hash_of(4), seen_before_failing}};
  EXPECT_EQ(selection_pool(profiles, {}, {.min_score = 0}, kNow), std::vector{hash_of(3)});
  EXPECT_TRUE(selection_pool(profiles, {}, {.min_score = 0, .seen_within = 10s}, kNow).empty());
}

TEST(Selection, KeepsOnlyPeersAtOrAboveTheThreshold) {
  Profiles profiles{{hash_of(1), good_peer(10ms)}, {hash_of(2), good_peer(2s)}};
  const double low = score(profiles[hash_of(2)], kNow);
  const double high = score(profiles[hash_of(1)], kNow);
  ASSERT_LT(low, high);
  EXPECT_EQ(selection_pool(profiles, {}, {.min_score = low}, kNow).size(), 2u) << "at the threshold is in";
  EXPECT_EQ(selection_pool(profiles, {}, {.min_score = std::nextafter(low, 1.0)}, kNow),
            std::vector{hash_of(1)});
  EXPECT_TRUE(selection_pool(profiles, {}, {.min_score = std::nextafter(high, 1.0)}, kNow).empty());
}

TEST(Selection, CapacityKeepsTheBestInScoreOrder) {
  Profiles profiles;
  for (int i = 0; i < 50; ++i) profiles[hash_of(i)] = good_peer(std::chrono::milliseconds(10 + 10 * i));
  const auto pool = selection_pool(profiles, {}, {.min_score = 0, .capacity = 5}, kNow);
  EXPECT_EQ(pool, (std::vector{hash_of(0), hash_of(1), hash_of(2), hash_of(3), hash_of(4)}));
  EXPECT_TRUE(selection_pool(profiles, {}, {.min_score = 0, .capacity = 0}, kNow).empty());
}

TEST(Selection, EqualScoresAreOrderedByHash) {
  Profiles profiles;
  for (int i : {7, 3, 9, 1, 5}) profiles[hash_of(i)] = good_peer();
  EXPECT_EQ(selection_pool(profiles, {}, {.capacity = 3}, kNow),
            (std::vector{hash_of(1), hash_of(3), hash_of(5)}));
}

// The obvious implementation: filter, then repeatedly take the best remaining peer.
std::vector<core::RouterHash> naive_pool(const Profiles& profiles, const BanList& bans,
                                         const SelectionOptions& options, core::WallTime now) {
  std::vector<std::pair<core::RouterHash, double>> left;
  for (const auto& [hash, p] : profiles) {
    const double s = score(p, now);
    if (!bans.is_banned(hash, now) && is_reachable(p, now, options.seen_within) && s >= options.min_score) {
      left.emplace_back(hash, s);
    }
  }
  std::vector<core::RouterHash> out;
  while (out.size() < options.capacity && !left.empty()) {
    auto best = left.begin();
    for (auto it = left.begin(); it != left.end(); ++it) {
      if (it->second > best->second || (it->second == best->second && it->first < best->first)) best = it;
    }
    out.push_back(best->first);
    left.erase(best);
  }
  return out;
}

PeerProfile random_profile(std::mt19937_64& rng) {
  PeerProfile p;
  const int tests = static_cast<int>(rng() % 20);
  for (int i = 0; i < tests; ++i) {
    const auto rtt = std::chrono::milliseconds(rng() % 4 * 100);  // few distinct values: ties
    p.record_reachability(rng() % 4 != 0, rtt, kNow - std::chrono::minutes(rng() % 180));
  }
  if (rng() % 2) p.record_bandwidth(rng() % 4 * 250'000, 1s, kNow - std::chrono::minutes(rng() % 60));
  if (rng() % 3 == 0) p.record_build(static_cast<BuildOutcome>(rng() % 3), kNow - std::chrono::minutes(rng() % 60));
  if (rng() % 4 == 0) p.record_seen(kNow - std::chrono::minutes(rng() % 20));
  return p;
}

TEST(Selection, AgreesWithANaiveReferenceOnRandomInputs) {
  std::mt19937_64 rng(2024);
  for (int round = 0; round < 200; ++round) {
    Profiles profiles;
    BanList bans;
    const int peers = static_cast<int>(rng() % 60);
    for (int i = 0; i < peers; ++i) {
      profiles[hash_of(static_cast<int>(rng() % 100))] = random_profile(rng);
      if (rng() % 5 == 0) bans.ban(hash_of(i), {"r", kNow - 1h, kNow + std::chrono::minutes(rng() % 120) - 1h});
    }
    const SelectionOptions options{.min_score = static_cast<double>(rng() % 6) / 10,
                                   .capacity = rng() % 40};
    ASSERT_EQ(selection_pool(profiles, bans, options, kNow), naive_pool(profiles, bans, options, kNow))
        << "round " << round;
  }
}

}  // namespace
}  // namespace hop::netdb
