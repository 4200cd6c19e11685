#include "hop/netdb/kademlia.h"

#include <gtest/gtest.h>

#include <bitset>
#include <random>
#include <set>
#include <string>

namespace hop::netdb {
namespace {

core::RouterHash random_hash(std::mt19937_64& rng) {
  core::RouterHash h;
  for (auto& b : h.bytes) b = static_cast<std::uint8_t>(rng());
  return h;
}

// Naive reference: the distance as a 256-character bit string, compared lexicographically.
std::string distance_bits(const core::RouterHash& a, const core::RouterHash& b) {
  std::string s;
  for (std::size_t i = 0; i < a.bytes.size(); ++i) {
    s += std::bitset<8>(static_cast<unsigned>(a.bytes[i] ^ b.bytes[i])).to_string();
  }
  return s;
}

std::vector<core::RouterHash> naive_closest(const core::RouterHash& target,
                                            const std::vector<core::RouterHash>& all, std::size_t k) {
  std::set<std::pair<std::string, core::RouterHash>> ordered;
  for (const auto& h : all) ordered.insert({distance_bits(target, h), h});
  std::vector<core::RouterHash> out;
  for (const auto& [d, h] : ordered) {
    if (out.size() == k) break;
    out.push_back(h);
  }
  return out;
}

TEST(Kademlia, DistanceIsSymmetricAndZeroOnlyToItself) {
  std::mt19937_64 rng(1);
  const auto a = random_hash(rng), b = random_hash(rng);
  EXPECT_EQ(xor_distance(a, b), xor_distance(b, a));
  EXPECT_EQ(xor_distance(a, a), Distance{});
  EXPECT_NE(xor_distance(a, b), Distance{});
  EXPECT_FALSE(is_closer(a, a, a));
  EXPECT_TRUE(is_closer(a, a, b));
}

TEST(Kademlia, ClosestMatchesANaiveReferenceOnRandomKeys) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<core::RouterHash> all;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) all.push_back(random_hash(rng));
    if (round % 3 == 0) all.push_back(all.front());  // duplicates count once
    const auto target = round % 5 == 0 ? all.back() : random_hash(rng);
    const std::size_t k = 1 + rng() % 8;
    EXPECT_EQ(closest(target, all, k), naive_closest(target, all, k)) << "round " << round;
  }
}

TEST(Kademlia, CloseKeysShareLongPrefixes) {
  core::RouterHash target{}, near{}, far{};
  near.bytes[31] = 1;  // differs only in the last bit
  far.bytes[0] = 0x80;  // differs in the first bit
  EXPECT_TRUE(is_closer(target, near, far));
  auto picked = closest(target, std::vector<core::RouterHash>{far, near}, 1);
  ASSERT_EQ(picked.size(), 1u);
  EXPECT_EQ(picked[0], near);
}

TEST(Kademlia, RoutingKeysRotateAtUtcMidnight) {
  std::mt19937_64 rng(7);
  const auto key = random_hash(rng);
  // 2027-01-15T00:00:00Z
  const core::WallTime midnight{std::chrono::seconds(1'800'000'000 - 1'800'000'000 % 86400)};
  const auto before = routing_key(key, midnight - std::chrono::seconds(1));
  const auto at = routing_key(key, midnight);
  const auto later = routing_key(key, midnight + std::chrono::hours(23));
  EXPECT_NE(before, at);
  EXPECT_EQ(at, later);
  EXPECT_NE(at, key);
}

}  // namespace
}  // namespace hop::netdb
