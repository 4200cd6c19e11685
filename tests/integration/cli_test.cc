// The hopline binary as an operator runs it: real processes, real files, loopback only,
// every wait bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include "support/hopline_process.h"
#include "support/temp_dir.h"

namespace {

using hop::test::Process;
using hop::test::run;
using hop::test::slurp;
using hop::test::TempDir;

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Polls `file` until it contains `needle`; returns the text after it up to the line end.
std::optional<std::string> wait_for_line(const fs::path& file, const std::string& needle,
                                         std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = slurp(file);
    if (auto at = text.find(needle); at != std::string::npos) {
      const auto start = at + needle.size();
      return text.substr(start, text.find('\n', start) - start);
    }
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

TEST(Cli, KeygenWritesAPrivateKeyAndRefusesToReplaceIt) {
  TempDir dir;
  const auto out = dir.path() / "out.txt";
  ASSERT_EQ(run({"keygen", "--out", (dir.path() / "keys").string()}, out), 0) << slurp(out);
  EXPECT_NE(slurp(out).find("router hash: "), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "keys" / "identity.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(run({"keygen", "--out", (dir.path() / "keys").string()}, out), 1);
  EXPECT_NE(slurp(out).find("already exists"), std::string::npos);
}

TEST(Cli, BadConfigAndArgumentsAreClearErrors) {
  TempDir dir;
  const auto conf = dir.path() / "node.conf";
  std::ofstream(conf) << "[links]\nhard_limt = 10\n";
  const auto out = dir.path() / "out.txt";
  EXPECT_EQ(run({"node", "--config", conf.string()}, out), 1);
  EXPECT_NE(slurp(out).find("node.conf:2: unknown config key 'links.hard_limt'"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"node", "--listen"}, out), 2);
  EXPECT_EQ(run({"frobnicate"}, out), 2);
  EXPECT_NE(slurp(out).find("unknown command"), std::string::npos);
}

TEST(Cli, AWorldReadableKeyFileIsRefused) {
  TempDir dir;
  const auto out = dir.path() / "out.txt";
  ASSERT_EQ(run({"keygen", "--out", dir.path().string()}, out), 0);
  ::chmod((dir.path() / "identity.key").c_str(), 0644);
  EXPECT_EQ(run({"node", "--data_dir", dir.path().string(), "--listen", "127.12.0.1:0"}, out), 1);
  EXPECT_NE(slurp(out).find("chmod 600"), std::string::npos) << slurp(out);
}

TEST(Cli, TwoNodeProcessesLinkThroughASeedFileAndStopOnSigterm) {
  TempDir dir;
  const auto log_a = dir.path() / "a.log";
  const auto log_b = dir.path() / "b.log";
  Process a({"node", "--data_dir", (dir.path() / "a").string(), "--listen", "127.11.0.1:0", "--console.listen", "127.11.0.1:0",
             "--log.file", log_a.string()},
            dir.path() / "a.out");
  auto seed = wait_for_line(log_a, "seed line for this node: ");
  ASSERT_TRUE(seed.has_value()) << slurp(log_a) << slurp(dir.path() / "a.out");
  std::ofstream(dir.path() / "seeds.txt") << "# node a\n" << *seed << "\n";
  Process b({"node", "--data_dir", (dir.path() / "b").string(), "--listen", "127.12.0.1:0", "--console.listen", "127.12.0.1:0",
             "--seed_file", (dir.path() / "seeds.txt").string(), "--log.file", log_b.string()},
            dir.path() / "b.out");
  auto up_b = wait_for_line(log_b, "link up: peer ");
  ASSERT_TRUE(up_b.has_value()) << slurp(log_b);
  EXPECT_NE(up_b->find("outbound"), std::string::npos);
  EXPECT_NE(up_b->find("rtt"), std::string::npos);
  auto up_a = wait_for_line(log_a, "link up: peer ");
  ASSERT_TRUE(up_a.has_value());
  EXPECT_NE(up_a->find("127.12.0.1"), std::string::npos) << "b dials from its own address";

  b.signal(SIGTERM);
  EXPECT_EQ(b.wait(10s), 0);
  EXPECT_NE(slurp(log_b).find("node stopped"), std::string::npos);
  // a hears that b left.
  EXPECT_TRUE(wait_for_line(log_a, "link down: peer ").has_value());
  a.signal(SIGINT);
  EXPECT_EQ(a.wait(10s), 0);
}

// Polls `hopline ARGS` until it exits 0 and its output contains `needle`; returns that output.
std::optional<std::string> wait_for_command(const std::vector<std::string>& args, const fs::path& out,
                                            const std::string& needle, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (run(args, out) == 0 && slurp(out).find(needle) != std::string::npos) return slurp(out);
    std::this_thread::sleep_for(100ms);
  }
  return std::nullopt;
}

TEST(Cli, NetdbExportOfARunningNodeIsASeedFileAnotherNodeLoads) {
  TempDir dir;
  const auto a_dir = dir.path() / "a";
  const auto b_dir = dir.path() / "b";
  Process a({"node", "--data_dir", a_dir.string(), "--listen", "127.13.0.1:0", "--console.listen", "127.13.0.1:0", "--log.file",
             (dir.path() / "a.log").string()},
            dir.path() / "a.out");
  ASSERT_TRUE(wait_for_line(dir.path() / "a.log", "seed line for this node: ").has_value()) << slurp(dir.path() / "a.log");
  // The node stores its own signed RouterInfo at start; export prints it while the node runs.
  const auto exported = wait_for_command({"netdb", "export", "--data_dir", a_dir.string()}, dir.path() / "export.txt",
                                         "routerinfo:");
  ASSERT_TRUE(exported.has_value()) << slurp(dir.path() / "export.txt");
  ASSERT_EQ(exported->rfind("# router ", 0), 0u) << *exported;
  const std::string a_hash = exported->substr(9, 52);
  std::ofstream(dir.path() / "seeds.txt") << *exported;

  Process b({"node", "--data_dir", b_dir.string(), "--listen", "127.14.0.1:0", "--console.listen", "127.14.0.1:0", "--seed_file",
             (dir.path() / "seeds.txt").string(), "--log.file", (dir.path() / "b.log").string()},
            dir.path() / "b.out");
  // b verified a's RouterInfo from the seed file and stored it.
  const auto listed = wait_for_command({"netdb", "list", "--data_dir", b_dir.string()}, dir.path() / "list.txt",
                                       a_hash.substr(0, 8) + "  127.13.0.1:");
  ASSERT_TRUE(listed.has_value()) << slurp(dir.path() / "list.txt") << slurp(dir.path() / "b.log");
  const auto row_start = listed->find(a_hash.substr(0, 8));
  const std::string row = listed->substr(row_start, listed->find('\n', row_start) - row_start);
  EXPECT_TRUE(row.ends_with("  ok")) << "verified, and not b itself: " << *listed;
  ASSERT_EQ(run({"netdb", "show", a_hash.substr(0, 6), "--data_dir", b_dir.string()}, dir.path() / "show.txt"), 0)
      << slurp(dir.path() / "show.txt");
  EXPECT_NE(slurp(dir.path() / "show.txt").find("router          " + a_hash), std::string::npos)
      << slurp(dir.path() / "show.txt");
  // An exported RouterInfo is a seed: b links to a.
  EXPECT_TRUE(wait_for_line(dir.path() / "b.log", "link up: peer " + a_hash.substr(0, 8)).has_value())
      << slurp(dir.path() / "b.log");
  b.signal(SIGTERM);
  a.signal(SIGTERM);
  EXPECT_EQ(b.wait(10s), 0);
  EXPECT_EQ(a.wait(10s), 0);
}

TEST(Cli, NetdbCommandsExplainAMissingOrDamagedNetdbAndBadUsage) {
  TempDir dir;
  const auto out = dir.path() / "out.txt";
  EXPECT_EQ(run({"netdb", "list", "--data_dir", (dir.path() / "none").string()}, out), 1);
  EXPECT_NE(slurp(out).find("does not exist"), std::string::npos) << slurp(out);
  EXPECT_NE(slurp(out).find("run the node first"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"netdb", "bans", "--data_dir", dir.path().string()}, out), 1);
  EXPECT_NE(slurp(out).find("no NetDB file"), std::string::npos) << slurp(out);
  EXPECT_FALSE(fs::exists(dir.path() / "netdb.sqlite")) << "a missing NetDB is not created";
  std::ofstream(dir.path() / "netdb.sqlite") << std::string(4096, 'x');
  EXPECT_EQ(run({"netdb", "list", "--data_dir", dir.path().string()}, out), 1);
  EXPECT_NE(slurp(out).find("is not a SQLite database or is damaged"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"netdb"}, out), 2);
  EXPECT_EQ(run({"netdb", "list"}, out), 2);
  EXPECT_NE(slurp(out).find("--data_dir DIR is required"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"netdb", "show", "--data_dir", dir.path().string()}, out), 2);
  EXPECT_EQ(run({"help"}, out), 0);
  EXPECT_NE(slurp(out).find("netdb list|show HASH|export|bans"), std::string::npos) << slurp(out);
}

TEST(Cli, ConsoleCommandsAskARunningNodeAndSayWhenNoneIsThere) {
  TempDir dir;
  const auto out = dir.path() / "out.txt";
  EXPECT_EQ(run({"status", "--console", "http://127.0.0.1:1"}, out), 1);
  EXPECT_EQ(slurp(out), "hopline: cannot reach the console at http://127.0.0.1:1 (connection refused): "
                        "is the node running with console.listen set?\n");
  EXPECT_EQ(run({"peers", "--console", "https://127.0.0.1:1"}, out), 2);
  EXPECT_NE(slurp(out).find("https is not supported"), std::string::npos) << slurp(out);

  const auto log = dir.path() / "node.log";
  Process node({"node", "--data_dir", (dir.path() / "n").string(), "--listen", "127.13.0.1:0", "--console.listen",
                "127.0.0.1:0", "--log.file", log.string()},
               dir.path() / "node.out");
  auto console = wait_for_line(log, "console on ");
  ASSERT_TRUE(console.has_value()) << slurp(log) << slurp(dir.path() / "node.out");
  const std::string url = console->substr(0, console->find('/', 7));  // http://127.0.0.1:PORT
  auto identity = wait_for_line(log, "node ");
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(run({"status", "--console", url}, out), 0) << slurp(out);
  EXPECT_NE(slurp(out).find("identity"), std::string::npos) << slurp(out);
  EXPECT_NE(slurp(out).find(identity->substr(0, identity->find(' '))), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"netdb", "--console", url, "--json"}, out), 0) << slurp(out);
  EXPECT_EQ(slurp(out).rfind("{\"routers\":[", 0), 0u) << slurp(out);
  node.signal(SIGTERM);
  EXPECT_EQ(node.wait(10s), 0);
}

TEST(Cli, SighupReloadsTheLogLevelAndNamesWhatNeedsARestart) {
  TempDir dir;
  const auto conf = dir.path() / "node.conf";
  const auto log = dir.path() / "node.log";
  auto write_conf = [&](const std::string& extra) {
    std::ofstream(conf) << "data_dir = " << (dir.path() / "n").string() << "\nlisten = 127.14.0.1:0\n"
                        << "[console]\nlisten = off\n[log]\nfile = " << log.string() << "\n" << extra;
  };
  write_conf("level = info\n");
  Process node({"node", "--config", conf.string()}, dir.path() / "node.out");
  ASSERT_TRUE(wait_for_line(log, "seed line for this node: ").has_value()) << slurp(dir.path() / "node.out");
  write_conf("level = debug\n[links]\nhard_limit = 100\n");
  node.signal(SIGHUP);
  EXPECT_TRUE(wait_for_line(log, "reload: log.level is now debug").has_value()) << slurp(log);
  auto restart = wait_for_line(log, "not reloaded (restart to apply): ");
  ASSERT_TRUE(restart.has_value()) << slurp(log);
  EXPECT_EQ(*restart, "links.hard_limit");
  write_conf("level = debug\nthis is not a config line\n");
  node.signal(SIGHUP);
  EXPECT_TRUE(wait_for_line(log, "reload failed, keeping the running config: ").has_value()) << slurp(log);
  node.signal(SIGTERM);
  EXPECT_EQ(node.wait(10s), 0) << "still running after the failed reload, and stops cleanly";
}

// ---- hopline proxy ----

// The shared test data beside the project (tests/CMakeLists.txt: PROJECT_SOURCE_DIR/../shared);
// cli_test does not get HOP_SHARED_DIR, so it is found from this file's path.
fs::path shared_dir() {
#ifdef HOP_SHARED_DIR
  return HOP_SHARED_DIR;
#else
  return fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() / "shared";
#endif
}

bool has_sqlite3_shell() { return std::system("command -v sqlite3 >/dev/null 2>&1") == 0; }

TEST(Cli, ProxyInitDbThenCheckAndExplainAsAnOperatorRunsThem) {
  TempDir dir;
  const auto db = dir.path() / "routing.db";
  const auto out = dir.path() / "out.txt";
  const auto geoip = shared_dir() / "geoip" / "GeoLite2-Country-Test.mmdb";
  ASSERT_TRUE(fs::exists(geoip)) << geoip;
  ASSERT_EQ(run({"proxy", "init-db", db.string()}, out), 0) << slurp(out);
  EXPECT_NE(slurp(out).find("created routing.db " + db.string()), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"proxy", "init-db", db.string()}, out), 1);
  EXPECT_NE(slurp(out).find("already has a routing.db schema"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"proxy", "check", "--routing-db", db.string()}, out), 0) << slurp(out);
  EXPECT_NE(slurp(out).find("loads: 0 backends, 0 geo overrides, 0 rows skipped"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"proxy", "explain", "--routing-db", db.string(), "--geoip", geoip.string(), "--ip", "89.160.20.113"}, out), 0)
      << slurp(out);
  EXPECT_NE(slurp(out).find("no backend can take this client: routing.db has no backends"), std::string::npos) << slurp(out);

  // Rows as the init-db hint adds them, with the sqlite3 shell.
  if (!has_sqlite3_shell()) GTEST_SKIP() << "no sqlite3 shell: the rest needs one to add rows";
  const std::string sql =
      "INSERT INTO backends(id, country, continent, target, soft_limit, hard_limit) VALUES"
      " ('se-1', 'SE', 'EU', '127.0.0.1:9001', 10, 20), ('de-1', 'DE', 'EU', '127.0.0.1:9002', 10, 20),"
      " ('bad', 'SE', 'EU', '127.0.0.1:9003', 10, 5);";
  ASSERT_EQ(std::system(("sqlite3 '" + db.string() + "' \"" + sql + "\"").c_str()), 0);
  EXPECT_EQ(run({"proxy", "check", "--routing-db", db.string()}, out), 0) << slurp(out);
  EXPECT_NE(slurp(out).find("hard_limit 5 is below soft_limit 10"), std::string::npos) << slurp(out);
  EXPECT_NE(slurp(out).find("loads: 2 backends, 0 geo overrides, 1 row skipped"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"proxy", "explain", "--routing-db", db.string(), "--geoip", geoip.string(), "--ip", "89.160.20.113"}, out), 0)
      << slurp(out);
  EXPECT_NE(slurp(out).find("place:       country SE, continent EU (GeoIP: GeoLite2-Country"), std::string::npos)
      << slurp(out);
  EXPECT_NE(slurp(out).find("would choose: se-1 (tier country, score 0.1)"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"proxy", "explain", "--routing-db", db.string(), "--ip", "89.160.20.113", "--json"}, out), 0);
  EXPECT_EQ(slurp(out).rfind("{\"client\":\"89.160.20.113\"", 0), 0u) << slurp(out);
}

TEST(Cli, ProxyCommandsSayWhatIsWrongWithTheirArgumentsOrFiles) {
  TempDir dir;
  const auto out = dir.path() / "out.txt";
  const auto db = dir.path() / "routing.db";
  ASSERT_EQ(run({"proxy", "init-db", db.string()}, out), 0) << slurp(out);
  EXPECT_EQ(run({"proxy", "explain", "--routing-db", db.string()}, out), 2);
  EXPECT_NE(slurp(out).find("hopline proxy: explain needs --ip ADDR"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"proxy", "explain", "--routing-db", db.string(), "--ip", "1.2.3"}, out), 2);
  EXPECT_NE(slurp(out).find("--ip '1.2.3' is not an IPv4 or IPv6 address"), std::string::npos) << slurp(out);
  const auto missing = dir.path() / "missing.db";
  EXPECT_EQ(run({"proxy", "explain", "--routing-db", missing.string(), "--ip", "192.0.2.1"}, out), 1);
  EXPECT_NE(slurp(out).find(missing.string() + " does not exist"), std::string::npos) << slurp(out);
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_EQ(run({"proxy", "check", "--routing-db", db.string(), "--geoip", (dir.path() / "none.mmdb").string()}, out), 1);
  EXPECT_NE(slurp(out).find("none.mmdb"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"proxy", "check"}, out), 2);
  EXPECT_NE(slurp(out).find("--config FILE"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"proxy", "status", "--console", "http://127.0.0.1:1"}, out), 1);
  EXPECT_NE(slurp(out).find("cannot reach the console at http://127.0.0.1:1"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"proxy", "launch"}, out), 2);
  EXPECT_NE(slurp(out).find("unknown proxy command 'launch'"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"help"}, out), 0);
  EXPECT_NE(slurp(out).find("proxy explain --ip ADDR"), std::string::npos) << slurp(out);
}

TEST(Cli, TestnetDemoFormsAFullMesh) {
  TempDir dir;
  const auto out = dir.path() / "out.txt";
  EXPECT_EQ(run({"testnet", "--nodes", "3", "--duration", "3s", "--dir", dir.path().string(),
                 "--log-level", "warn", "--pop-port", "0"},
                out),
            0)
      << slurp(out);
  EXPECT_NE(slurp(out).find("full mesh formed"), std::string::npos);
  EXPECT_NE(slurp(out).find("curl --interface 127.101.0.1 http://127.1.0.1:"), std::string::npos) << slurp(out);
  EXPECT_NE(slurp(out).find("backend-us"), std::string::npos) << "the report lists the POP's backends";
  EXPECT_TRUE(fs::exists(dir.path() / "seeds.txt"));
}

}  // namespace
