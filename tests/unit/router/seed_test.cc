#include <gtest/gtest.h>

#include "hop/core/encoding.h"
#include "hop/router/seed_dialer.h"
#include "hop/router/seed_file.h"

namespace hop::router {
namespace {

using namespace std::chrono_literals;

std::string key_text() { return core::to_base32(core::crypto::X25519Keypair::generate().public_key); }

TEST(SeedFile, ParsesLinesCommentsAndIpv6) {
  const std::string text = "# seeds\n127.1.0.1:7100:" + key_text() + "\n\n  [::1]:7101:" + key_text() +
                           "   # second\n";
  auto seeds = parse_seeds(text, "seeds.txt");
  ASSERT_TRUE(seeds.ok()) << seeds.error().message();
  ASSERT_EQ(seeds->size(), 2u);
  EXPECT_EQ((*seeds)[0].host, "127.1.0.1");
  EXPECT_EQ((*seeds)[1].host, "::1");
  EXPECT_EQ((*seeds)[1].port, 7101);
}

TEST(SeedFile, ABadLineIsAnErrorNamingIt) {
  auto seeds = parse_seeds("127.1.0.1:7100:" + key_text() + "\n127.1.0.1:7100:short\n", "seeds.txt");
  ASSERT_FALSE(seeds.ok());
  EXPECT_NE(seeds.error().message().find("seeds.txt:2"), std::string::npos) << seeds.error().message();
}

TEST(SeedFile, MissingFileSaysWhich) {
  auto seeds = read_seed_file("/nonexistent/seeds.txt");
  ASSERT_FALSE(seeds.ok());
  EXPECT_NE(seeds.error().message().find("/nonexistent/seeds.txt"), std::string::npos);
}

TEST(SeedDialer, DialsOnceThenBacksOffExponentiallyUpToAMinute) {
  transport::PeerContact c;
  c.static_key[0] = 1;
  const core::TimePoint t0{};
  SeedDialer dialer({c}, t0);
  ASSERT_EQ(dialer.due(t0).size(), 1u);
  EXPECT_TRUE(dialer.due(t0).empty()) << "already dialing";
  core::TimePoint now = t0;
  core::Duration expected = 1s;
  for (int i = 0; i < 10; ++i) {
    dialer.on_failed(c.static_key, now);
    EXPECT_TRUE(dialer.due(now + expected - 1ms).empty());
    ASSERT_EQ(dialer.due(now + expected).size(), 1u);
    now += expected;
    expected = std::min<core::Duration>(expected * 2, 60s);
  }
  EXPECT_EQ(expected, 60s);
}

TEST(SeedDialer, LinkResetsTheBackoff) {
  transport::PeerContact c;
  c.static_key[0] = 2;
  SeedDialer dialer({c}, core::TimePoint{});
  core::TimePoint now{};
  (void)dialer.due(now);
  dialer.on_failed(c.static_key, now);
  now += 1s;
  (void)dialer.due(now);
  dialer.on_failed(c.static_key, now);  // backoff now 4 s
  now += 2s;
  (void)dialer.due(now);
  dialer.on_linked(c.static_key);
  EXPECT_FALSE(dialer.next_deadline().has_value()) << "a linked seed needs no dial";
  dialer.on_failed(c.static_key, now);  // link lost
  EXPECT_EQ(*dialer.next_deadline(), now + 1s);
}

}  // namespace
}  // namespace hop::router
