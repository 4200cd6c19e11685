#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hop/core/encoding.h"
#include "hop/netdb/constants.h"
#include "hop/netdb/router_info.h"
#include "hop/router/seed_dialer.h"
#include "hop/router/seed_file.h"

namespace hop::router {
namespace {

using namespace std::chrono_literals;

std::string key_text() { return core::to_base32(core::crypto::X25519Keypair::generate().public_key); }

core::Bytes signed_router_info() {
  netdb::RouterInfo info;
  info.addresses = {{"tcp", "127.1.0.1", 7100}};
  info.region = "DE";
  info.published = core::WallTime(std::chrono::seconds(1'800'000'000));
  return netdb::sign_router_info(core::Identity::generate(), info).wire;
}

TEST(SeedFile, ParsesLinesCommentsAndIpv6) {
  const std::string text = "# seeds\n127.1.0.1:7100:" + key_text() + "\n\n  [::1]:7101:" + key_text() +
                           "   # second\n";
  auto seeds = parse_seeds(text, "seeds.txt");
  ASSERT_TRUE(seeds.ok()) << seeds.error().message();
  ASSERT_EQ(seeds->contacts.size(), 2u);
  EXPECT_EQ(seeds->contacts[0].host, "127.1.0.1");
  EXPECT_EQ(seeds->contacts[1].host, "::1");
  EXPECT_EQ(seeds->contacts[1].port, 7101);
}

TEST(SeedFile, ABadLineIsAnErrorNamingIt) {
  auto seeds = parse_seeds("127.1.0.1:7100:" + key_text() + "\n127.1.0.1:7100:short\n", "seeds.txt");
  ASSERT_FALSE(seeds.ok());
  EXPECT_NE(seeds.error().message().find("seeds.txt:2"), std::string::npos) << seeds.error().message();
}

TEST(SeedFile, AcceptsAnExportedRouterInfoLine) {
  const core::Bytes wire = signed_router_info();
  auto seeds = parse_seeds("# router x\nrouterinfo:" + core::to_base32(wire) + "\n", "seeds.txt");
  ASSERT_TRUE(seeds.ok()) << seeds.error().message();
  EXPECT_TRUE(seeds->contacts.empty());
  ASSERT_EQ(seeds->router_infos.size(), 1u);
  EXPECT_EQ(seeds->router_infos[0], wire) << "the signed bytes exactly, verified later by the node";
}

TEST(SeedFile, AMixedFileKeepsBothKindsInOrder) {
  const core::Bytes a = signed_router_info(), b = signed_router_info();
  const std::string text = "127.1.0.1:7100:" + key_text() + "\nrouterinfo:" + core::to_base32(a) +
                           "  # exported\n\n[::1]:7101:" + key_text() + "\n  routerinfo:" + core::to_base32(b) + "\n";
  auto seeds = parse_seeds(text, "seeds.txt");
  ASSERT_TRUE(seeds.ok()) << seeds.error().message();
  ASSERT_EQ(seeds->contacts.size(), 2u);
  EXPECT_EQ(seeds->contacts[1].host, "::1");
  ASSERT_EQ(seeds->router_infos.size(), 2u);
  EXPECT_EQ(seeds->router_infos[0], a);
  EXPECT_EQ(seeds->router_infos[1], b);
}

TEST(SeedFile, ABadRouterInfoLineIsAnErrorNamingIt) {
  const std::string good = "routerinfo:" + core::to_base32(signed_router_info()) + "\n";
  for (const std::string bad : {"routerinfo:abc!def", "routerinfo:", "routerinfo:ab1", "routerinfo:a"}) {
    auto seeds = parse_seeds(good + bad + "\n", "seeds.txt");
    ASSERT_FALSE(seeds.ok()) << bad;
    EXPECT_NE(seeds.error().message().find("seeds.txt:2: routerinfo line"), std::string::npos)
        << seeds.error().message();
  }
}

TEST(SeedFile, ARouterInfoLineLargerThanNetdbAcceptsIsRefused) {
  const core::Bytes largest(netdb::kMaxRouterInfoSize, 0x5a);
  auto ok = parse_seeds("routerinfo:" + core::to_base32(largest), "seeds.txt");
  ASSERT_TRUE(ok.ok()) << "the size limit itself is accepted: " << ok.error().message();
  EXPECT_EQ(ok->router_infos[0].size(), netdb::kMaxRouterInfoSize);
  const core::Bytes over(netdb::kMaxRouterInfoSize + 1, 0x5a);
  auto seeds = parse_seeds("\nrouterinfo:" + core::to_base32(over), "seeds.txt");
  ASSERT_FALSE(seeds.ok());
  EXPECT_NE(seeds.error().message().find("seeds.txt:2"), std::string::npos) << seeds.error().message();
  EXPECT_NE(seeds.error().message().find("at most 4096 bytes"), std::string::npos) << seeds.error().message();
}

TEST(SeedFile, ReadsRouterInfoLinesFromAFile) {
  const auto path = std::filesystem::temp_directory_path() / ("hop-seeds-" + key_text() + ".txt");
  const core::Bytes wire = signed_router_info();
  std::ofstream(path) << "routerinfo:" << core::to_base32(wire) << "\n";
  auto seeds = read_seed_file(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(seeds.ok()) << seeds.error().message();
  ASSERT_EQ(seeds->router_infos.size(), 1u);
  EXPECT_EQ(seeds->router_infos[0], wire);
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
