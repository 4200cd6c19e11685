// `hopline netdb` against a store populated directly, at a fixed `now`.
#include "hop/router/netdb_cli.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "hop/core/encoding.h"
#include "hop/netdb/constants.h"
#include "hop/netdb/router_info.h"
#include "hop/netdb/store.h"
#include "hop/router/data_dir.h"
#include "hop/router/seed_file.h"
#include "support/temp_dir.h"

namespace hop::router {
namespace {

using hop::test::TempDir;

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const core::WallTime kNow = core::WallTime(std::chrono::seconds(1'800'000'000));

struct Output {
  int code = -1;
  std::string out;
  std::string err;
};

Output run(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  Output o;
  o.code = run_netdb_command(args, out, err, kNow);
  o.out = out.str();
  o.err = err.str();
  return o;
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

netdb::SignedRouterInfo signed_info(const core::Identity& id, core::WallTime published, std::string region) {
  netdb::RouterInfo info;
  info.addresses = {{"tcp", "127.21.0.1", 7100}};
  info.bandwidth_kbps = 2048;
  info.floodfill = true;
  info.region = std::move(region);
  info.published = published;
  return netdb::sign_router_info(id, info);
}

netdb::PeerProfile measured_profile() {
  netdb::PeerProfile p;
  for (int i = 0; i < 4; ++i) p.record_reachability(i != 1, 100ms, kNow - 10min + i * 1min);
  p.record_bandwidth(1'000'000, 1s, kNow - 2min);
  p.record_build(netdb::BuildOutcome::kAccepted, kNow - 1min);
  p.record_build(netdb::BuildOutcome::kTimedOut, kNow - 1min);
  return p;
}

// A data directory as a node leaves it: its identity, its own RouterInfo, a measured peer, a
// banned peer whose RouterInfo expired, and a ban that ended for a router with no RouterInfo.
class NetdbCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(self_.save(identity_file(dir_.path())).ok());
    auto store = netdb::NetDbStore::open(netdb_file(dir_.path()));
    ASSERT_TRUE(store.ok()) << store.error().message();
    put(*store, signed_info(self_, kNow - 5min, "DE"));
    put(*store, signed_info(peer_, kNow - 1h, "US"));
    put(*store, signed_info(expired_, kNow - 25h, "FR"));
    ASSERT_TRUE(store->put_profile(peer_.hash(), measured_profile()).ok());
    ASSERT_TRUE(
        store->put_ban(expired_.hash(), {"unreachable: 3 reachability tests failed in a row", kNow - 1h, kNow + 23h})
            .ok());
    ASSERT_TRUE(store->put_ban(unknown_, {"unreachable: gone", kNow - 30h, kNow - 6h}).ok());
  }

  void put(netdb::NetDbStore& store, const netdb::SignedRouterInfo& record) {
    ASSERT_TRUE(store.put_router(record.info.hash(), record.wire, record.info.published).ok());
  }

  std::vector<std::string> args(std::vector<std::string> command) const {
    command.push_back("--data_dir");
    command.push_back(dir_.path().string());
    return command;
  }

  TempDir dir_;
  core::Identity self_ = core::Identity::generate();
  core::Identity peer_ = core::Identity::generate();
  core::Identity expired_ = core::Identity::generate();
  core::RouterHash unknown_ = core::Identity::generate().hash();
};

TEST_F(NetdbCli, ExportPrintsThisNodesRouterInfoAsASeedLineThatSeedFilesAccept) {
  const Output o = run(args({"export"}));
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "# router " + self_.hash().to_string() + " at 127.21.0.1:7100")) << o.out;
  const fs::path seeds = dir_.path() / "seeds.txt";
  std::ofstream(seeds) << o.out;
  auto parsed = read_seed_file(seeds);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_TRUE(parsed->contacts.empty());
  ASSERT_EQ(parsed->router_infos.size(), 1u);
  auto verified = netdb::verify_router_info(parsed->router_infos[0], {.network_id = 1, .now = kNow});
  ASSERT_TRUE(verified.ok()) << verified.error().message();
  EXPECT_EQ(verified->info.hash(), self_.hash());
  EXPECT_EQ(verified->wire, signed_info(self_, kNow - 5min, "DE").wire) << "the stored signed bytes, unchanged";
}

TEST_F(NetdbCli, ExportAllPrintsEveryRecordThatVerifiesAndLeavesOutTheExpired) {
  const Output o = run(args({"export", "--all"}));
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "1 that do not verify")) << o.out;
  const fs::path seeds = dir_.path() / "seeds.txt";
  std::ofstream(seeds) << o.out;
  auto parsed = read_seed_file(seeds);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  ASSERT_EQ(parsed->router_infos.size(), 2u);
  std::set<core::RouterHash> hashes;
  for (const auto& wire : parsed->router_infos) {
    auto verified = netdb::verify_router_info(wire, {.network_id = 1, .now = kNow});
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    hashes.insert(verified->info.hash());
  }
  EXPECT_EQ(hashes, (std::set<core::RouterHash>{self_.hash(), peer_.hash()}));
}

TEST_F(NetdbCli, ExportWithoutItsOwnRouterInfoSaysToStartTheNode) {
  {
    auto store = netdb::NetDbStore::open(netdb_file(dir_.path()));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store->remove_router(self_.hash()).ok());
  }
  const Output o = run(args({"export"}));
  EXPECT_EQ(o.code, 1);
  EXPECT_TRUE(o.out.empty()) << o.out;
  EXPECT_TRUE(contains(o.err, "this node's RouterInfo (" + self_.hash().to_string() + ") is not in")) << o.err;
  EXPECT_TRUE(contains(o.err, "start the node")) << o.err;
}

TEST_F(NetdbCli, ListShowsEveryRouterWithItsScoreBanAndState) {
  const Output o = run(args({"list"}));
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(o.err.empty()) << o.err;
  std::istringstream lines(o.out);
  std::map<std::string, std::string> row_of;
  for (std::string line; std::getline(lines, line);) row_of[line.substr(0, 8)] = line;
  ASSERT_TRUE(row_of.count("HASH    ")) << o.out;
  const std::string self_row = row_of[self_.hash().short_string()];
  EXPECT_TRUE(contains(self_row, "127.21.0.1:7100")) << self_row;
  EXPECT_TRUE(contains(self_row, "yes")) << self_row;
  EXPECT_TRUE(contains(self_row, "2048")) << self_row;
  EXPECT_TRUE(contains(self_row, "DE")) << self_row;
  EXPECT_TRUE(contains(self_row, "5m00s ago")) << self_row;
  EXPECT_TRUE(self_row.ends_with("self")) << self_row;
  char score[16];
  std::snprintf(score, sizeof score, "%.3f", netdb::score(measured_profile(), kNow));
  const std::string peer_row = row_of[peer_.hash().short_string()];
  EXPECT_TRUE(contains(peer_row, std::string("  ") + score + "  ")) << peer_row;
  EXPECT_TRUE(peer_row.ends_with("ok")) << peer_row;
  const std::string expired_row = row_of[expired_.hash().short_string()];
  EXPECT_TRUE(contains(expired_row, "FR")) << "an expired record is shown with its fields: " << expired_row;
  EXPECT_TRUE(contains(expired_row, "1d01h ago")) << expired_row;
  EXPECT_TRUE(contains(expired_row, "banned, 23h00m left")) << expired_row;
  EXPECT_TRUE(expired_row.ends_with("expired")) << expired_row;
  EXPECT_FALSE(row_of.count(unknown_.short_string())) << "one row per stored RouterInfo";
  EXPECT_TRUE(contains(o.out, "RouterInfos: 3 (2 valid); profiles: 1; bans: 2 (1 in force)")) << o.out;
}

TEST_F(NetdbCli, ListMarksRecordsThatDoNotVerify) {
  {
    auto store = netdb::NetDbStore::open(netdb_file(dir_.path()));
    ASSERT_TRUE(store.ok());
    core::Bytes tampered = signed_info(peer_, kNow - 1h, "US").wire;
    tampered[tampered.size() - 1] ^= 1;  // inside the signature
    ASSERT_TRUE(store->put_router(peer_.hash(), tampered, kNow - 1h).ok());
  }
  const Output o = run(args({"list"}));
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(contains(o.out, peer_.hash().short_string() + "  ?")) << o.out;
  EXPECT_TRUE(contains(o.out, "bad-signature")) << o.out;
  const Output foreign = run(args({"list", "--network_id", "7"}));
  ASSERT_EQ(foreign.code, 0) << foreign.err;
  EXPECT_TRUE(contains(foreign.out, "self, foreign-network")) << foreign.out;
  EXPECT_TRUE(contains(foreign.out, "RouterInfos: 3 (0 valid)")) << foreign.out;
}

TEST_F(NetdbCli, ListAsJson) {
  const Output o = run(args({"list", "--json"}));
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(o.out.starts_with("{\"now\":\"2027-01-15T08:00:00Z\",\"self\":\"" + self_.hash().to_string())) << o.out;
  EXPECT_TRUE(contains(o.out, "{\"hash\":\"" + self_.hash().to_string() + "\",\"short\":\"" +
                                  self_.hash().short_string() +
                                  "\",\"self\":true,\"status\":\"ok\","
                                  "\"addresses\":[\"127.21.0.1:7100\"],\"floodfill\":true,\"bandwidth_kbps\":2048,"
                                  "\"region\":\"DE\",\"published\":\"2027-01-15T07:55:00Z\",\"published_age_s\":300,"
                                  "\"score\":null,\"ban\":null}"))
      << o.out;
  EXPECT_TRUE(contains(o.out, "\"status\":\"expired\"")) << o.out;
  EXPECT_TRUE(contains(o.out, "\"in_force\":true,\"left_s\":82800}")) << o.out;
  EXPECT_TRUE(o.out.ends_with("],\"profiles\":1,\"bans\":2,\"skipped_rows\":0}\n")) << o.out;
}

TEST_F(NetdbCli, ShowPrintsRouterInfoProfileScoreTermsAndBan) {
  const Output o = run(args({"show", peer_.hash().to_string()}));
  ASSERT_EQ(o.code, 0) << o.err;
  const std::string key = core::to_base32(peer_.static_keypair().public_key);
  for (const std::string& expected :
       std::vector<std::string>{"router          " + peer_.hash().to_string(),
                                "status        ok (verified)",
                                "tcp 127.21.0.1:7100",
                                "floodfill     yes",
                                "bandwidth     2048 KB/s",
                                "region        US",
                                "network       1",
                                "published     2027-01-15T07:00:00Z (1h00m ago)",
                                "static key    " + key,
                                "contact       127.21.0.1:7100:" + key,
                                "reachability  3 ok, 1 failed of the last 4 tests (window 16)",
                                "failing       0 consecutive failures",
                                "rtt           srtt 100.0 ms, rttvar 28.1 ms (3 samples)",
                                "bandwidth     1000000 B/s (1 probe)",
                                "accepted",
                                "timed out",
                                "last seen     2027-01-15T07:59:00Z (1m00s ago)",
                                "last tested   2027-01-15T07:53:00Z (7m00s ago)",
                                "score terms   freshness ",
                                "* reachability 0.667",
                                "ban             none"}) {
    EXPECT_TRUE(contains(o.out, expected)) << "missing '" << expected << "' in\n" << o.out;
  }
}

TEST_F(NetdbCli, ShowAcceptsAPrefixAndShowsAnExpiredRecordAndItsBan) {
  const Output o = run(args({"show", expired_.hash().to_string().substr(0, 10)}));
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "router          " + expired_.hash().to_string())) << o.out;
  EXPECT_TRUE(contains(o.out, "status        expired: published more than 1d00h ago")) << o.out;
  EXPECT_TRUE(contains(o.out, "region        FR")) << o.out;
  EXPECT_TRUE(contains(o.out, "published     2027-01-14T07:00:00Z (1d01h ago)")) << o.out;
  EXPECT_TRUE(contains(o.out, "profile         none")) << o.out;
  EXPECT_TRUE(contains(o.out, "reason        unreachable: 3 reachability tests failed in a row")) << o.out;
  EXPECT_TRUE(contains(o.out, "start         2027-01-15T07:00:00Z (1h00m ago)")) << o.out;
  EXPECT_TRUE(contains(o.out, "end           2027-01-16T07:00:00Z (in 23h00m)")) << o.out;
  EXPECT_TRUE(contains(o.out, "state         in force, 23h00m left")) << o.out;

  std::string upper_prefix = self_.hash().to_string().substr(0, 8);
  for (char& c : upper_prefix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const Output upper = run(args({"show", upper_prefix}));
  ASSERT_EQ(upper.code, 0) << upper.err;
  EXPECT_TRUE(contains(upper.out, "(self: this node)")) << upper.out;
}

TEST_F(NetdbCli, ShowFindsARouterKnownOnlyByItsBan) {
  const Output o = run(args({"show", unknown_.to_string()}));
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(contains(o.out, "RouterInfo      none stored")) << o.out;
  EXPECT_TRUE(contains(o.out, "state         ended 6h00m ago")) << o.out;
}

TEST_F(NetdbCli, ShowAnUnknownOrAmbiguousHashSaysSo) {
  const Output unknown = run(args({"show", core::Identity::generate().hash().to_string()}));
  EXPECT_EQ(unknown.code, 1);
  EXPECT_TRUE(contains(unknown.err, "no router ")) << unknown.err;
  const Output bad = run(args({"show", "not-a-hash"}));
  EXPECT_EQ(bad.code, 1);
  EXPECT_TRUE(contains(bad.err, "is not a router hash")) << bad.err;
  // Two routers known only by their profiles, with hashes that share their first characters.
  core::RouterHash a, b;
  b.bytes[4] = 1;
  {
    auto store = netdb::NetDbStore::open(netdb_file(dir_.path()));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store->put_profile(a, {}).ok());
    ASSERT_TRUE(store->put_profile(b, {}).ok());
  }
  const Output ambiguous = run(args({"show", "aaaa"}));
  EXPECT_EQ(ambiguous.code, 1);
  EXPECT_TRUE(contains(ambiguous.err, "'aaaa' matches 2 routers")) << ambiguous.err;
  const Output unique = run(args({"show", b.to_string().substr(0, 8)}));
  EXPECT_EQ(unique.code, 0) << unique.err;
}

TEST_F(NetdbCli, BansListsEveryBanWithItsTimeLeftAndTheEndedOnes) {
  const Output o = run(args({"bans"}));
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(contains(o.out, expired_.hash().short_string() +
                                  "  2027-01-15T07:00:00Z  2027-01-16T07:00:00Z  in force, 23h00m left  "
                                  "unreachable: 3 reachability tests failed in a row"))
      << o.out;
  EXPECT_TRUE(
      contains(o.out, unknown_.short_string() + "  2027-01-14T02:00:00Z  2027-01-15T02:00:00Z  ended 6h00m ago"))
      << o.out;
  EXPECT_TRUE(contains(o.out, "bans: 2 (1 in force)")) << o.out;
}

TEST(NetdbCliErrors, AMissingDataDirOrNetdbSaysToRunTheNodeFirstAndCreatesNothing) {
  TempDir dir;
  const Output missing = run({"list", "--data_dir", (dir.path() / "nope").string()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_TRUE(contains(missing.err, "data directory " + (dir.path() / "nope").string() + " does not exist"))
      << missing.err;
  EXPECT_TRUE(contains(missing.err, "run the node first")) << missing.err;
  EXPECT_FALSE(fs::exists(dir.path() / "nope"));

  const Output no_file = run({"bans", "--data_dir", dir.path().string()});
  EXPECT_EQ(no_file.code, 1);
  EXPECT_TRUE(contains(no_file.err, "there is no NetDB file " + netdb_file(dir.path()).string())) << no_file.err;
  EXPECT_TRUE(contains(no_file.err, "run the node first")) << no_file.err;
  EXPECT_FALSE(fs::exists(netdb_file(dir.path()))) << "the file must not be created";
}

TEST(NetdbCliErrors, ACorruptFileIsRefusedWithTheStoresMessageAndLeftUntouched) {
  TempDir dir;
  std::mt19937 rng(3);
  std::string junk(8192, '\0');
  for (char& c : junk) c = static_cast<char>(rng());
  std::ofstream(netdb_file(dir.path()), std::ios::binary) << junk;
  const Output o = run({"list", "--data_dir", dir.path().string()});
  EXPECT_EQ(o.code, 1);
  EXPECT_TRUE(
      contains(o.err, "NetDB file " + netdb_file(dir.path()).string() + " is not a SQLite database or is damaged"))
      << o.err;
  std::ifstream in(netdb_file(dir.path()), std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), junk);
}

TEST(NetdbCliErrors, UsageErrorsExitWithTwo) {
  TempDir dir;
  const std::string d = dir.path().string();
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{},
                                             {"list"},
                                             {"frob", "--data_dir", d},
                                             {"show", "--data_dir", d},
                                             {"list", "extra", "--data_dir", d},
                                             {"export", "--json", "--data_dir", d},
                                             {"list", "--all", "--data_dir", d},
                                             {"list", "--data_dir"},
                                             {"list", "--data_dir", d, "--network_id", "x"},
                                             {"list", "--data_dir", d, "--verbose"}}) {
    const Output o = run(bad);
    EXPECT_EQ(o.code, 2) << ::testing::PrintToString(bad) << ": " << o.err;
    EXPECT_FALSE(o.err.empty());
  }
  const Output help = run({"help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_TRUE(contains(help.out, "export [--all]")) << help.out;
}

}  // namespace
}  // namespace hop::router
