// `hopline testnet up|down|status` as an operator runs it: six real node processes on loopback,
// a POP in front of two demo backends served by other nodes, nodes killed and restarted. Every
// wait is bounded. Node I listens on 127.I.0.1 like every testnet (the in-process ones use the
// same addresses), so the ports are what keeps this test apart: a fixed range below the
// kernel's ephemeral ports (32768+), which the port-0 listeners of other tests never get.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include "hop/router/console_client.h"
#include "hop/router/json_reader.h"
#include "support/echo_backend.h"
#include "support/hopline_process.h"
#include "support/temp_dir.h"

namespace {

using hop::test::Process;
using hop::test::run;
using hop::test::slurp;
using hop::test::TempDir;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kBasePort = 23400;  // nodes on 23401-23406, their consoles too (on 127.0.0.1)
constexpr int kPopPort = 23480;
constexpr auto kReadyTimeout = 90s;

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(250ms);
  }
  return true;
}

int console_port(int node) { return kBasePort + node; }

std::optional<hop::router::JsonValue> api(int node, const std::string& path) {
  auto url = hop::router::parse_console_url("http://127.0.0.1:" + std::to_string(console_port(node)));
  const auto reply = hop::router::console_get(*url, path, 2s);
  if (reply.failure != hop::router::ConsoleFailure::kNone || reply.status != 200) return std::nullopt;
  auto json = hop::router::parse_json(reply.body);
  if (!json) return std::nullopt;
  return std::move(*json);
}

std::string identity_of(int node) {
  auto status = api(node, "/api/v1/status");
  if (!status) return "";
  return std::string((*status)["identity"].as_text().value_or(""));
}

// The peers `node` holds a ban for.
std::set<std::string> banned_by(int node) {
  std::set<std::string> out;
  if (auto peers = api(node, "/api/v1/peers")) {
    for (const auto& p : (*peers)["peers"].items()) {
      if (!p["ban"].is_null()) out.insert(std::string(p["hash"].as_text().value_or("")));
    }
  }
  return out;
}

// Streams a node's service has carried (its demo backend's, through the overlay).
double service_connections(int node) {
  double total = 0;
  if (auto services = api(node, "/api/v1/services")) {
    for (const auto& s : (*services)["services"].items()) total += s["connections"].as_number().value_or(0);
  }
  return total;
}

// Whether `node` has an established tunnel `direction` of `hops` hops in the pool `pool_name`.
bool has_tunnel(int node, const std::string& pool_name, const std::string& direction, std::size_t hops) {
  auto tunnels = api(node, "/api/v1/tunnels");
  if (!tunnels) return false;
  for (const auto& t : (*tunnels)["tunnels"].items()) {
    if (t["pool_name"].as_text() == pool_name && t["direction"].as_text() == direction &&
        t["state"].as_text() == "established" && t["hops"].items().size() == hops) {
      return true;
    }
  }
  return false;
}

// What a client bound to `source` gets from the POP for a GET.
std::string ask_pop(const char* source) {
  hop::test::TestClient client(kPopPort, source, "127.1.0.1");
  if (!client.send("GET / HTTP/1.0\r\n\r\n")) return "(not connected)";
  std::string all;
  while (auto line = client.read_line()) all += *line + "\n";
  return all;
}

// How many of `n` clients from `source`, all connected at once, get `expected` from the POP.
int answered_at_once(const char* source, int n, const std::string& expected) {
  std::vector<std::unique_ptr<hop::test::TestClient>> clients;
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<hop::test::TestClient>(kPopPort, source, "127.1.0.1"));
    clients.back()->send("GET / HTTP/1.0\r\n\r\n");
  }
  int answered = 0;
  for (auto& c : clients) {
    std::string all;
    while (auto line = c->read_line()) all += *line + "\n";
    answered += all.find(expected) != std::string::npos;
  }
  return answered;
}

// index -> pid, from DIR/testnet.pids.
std::map<int, pid_t> recorded_pids(const fs::path& dir) {
  std::map<int, pid_t> out;
  std::istringstream in(slurp(dir / "testnet.pids"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    int index = 0;
    pid_t pid = 0;
    if (words >> index >> pid) out[index] = pid;
  }
  return out;
}

bool is_hopline_node(pid_t pid) {
  const std::string cmdline = slurp("/proc/" + std::to_string(pid) + "/cmdline");
  return cmdline.find(std::string("node\0--config", 13)) != std::string::npos;
}

std::string logs_of(const fs::path& dir) {
  std::string out;
  for (int i = 1; i <= 6; ++i) {
    const std::string log = slurp(dir / ("node" + std::to_string(i)) / "node.log");
    out += "--- node" + std::to_string(i) + " (last 2000 bytes)\n" + log.substr(log.size() > 2000 ? log.size() - 2000 : 0);
  }
  return out;
}

// Whatever happens in the test, no node outlives it.
struct StopsTheTestnet {
  fs::path dir;
  ~StopsTheTestnet() {
    run({"testnet", "down", "--dir", dir.string()}, dir.parent_path() / "cleanup.txt");
    for (const auto& [index, pid] : recorded_pids(dir)) {
      if (is_hopline_node(pid)) ::kill(pid, SIGKILL);
    }
  }
};

TEST(TestnetProcesses, UpServesBothCountriesSurvivesKilledNodesAndGoesDown) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "testnet";
  const fs::path out = tmp.path() / "out.txt";
  StopsTheTestnet guard{dir};
  const std::vector<std::string> up = {"testnet", "up", "--nodes", "6", "--dir", dir.string(), "--base-port",
                                       std::to_string(kBasePort), "--pop-port", std::to_string(kPopPort),
                                       "--timeout", "80s"};
  ASSERT_EQ(run(up, out, kReadyTimeout), 0) << slurp(out) << logs_of(dir);
  const std::string said = slurp(out);
  EXPECT_NE(said.find("curl --interface 127.101.0.1 http://127.1.0.1:" + std::to_string(kPopPort) + "/"),
            std::string::npos) << said;
  EXPECT_NE(said.find("http://127.0.0.1:" + std::to_string(console_port(6))), std::string::npos) << said;
  EXPECT_NE(said.find(".hop -> 127.200.0.1:" + std::to_string(kBasePort)), std::string::npos) << said;
  EXPECT_NE(slurp(dir / "seeds.txt").find("127.3.0.1:" + std::to_string(kBasePort + 3) + ":"), std::string::npos);
  const auto pids = recorded_pids(dir);
  ASSERT_EQ(pids.size(), 6u) << slurp(dir / "testnet.pids");

  // status: every node alive, each with tunnels (up waited for them).
  EXPECT_EQ(run({"testnet", "status", "--dir", dir.string()}, out), 0) << slurp(out);
  EXPECT_NE(slurp(out).find("6 of 6 nodes alive"), std::string::npos) << slurp(out);
  EXPECT_EQ(slurp(out).find("dead"), std::string::npos) << slurp(out);

  // The POP sends each client to the backend of its country, over the overlay: out a 3-hop
  // tunnel of its gateway, in a 3-hop tunnel of the service on another node.
  const double de_before = service_connections(2), us_before = service_connections(3);
  EXPECT_NE(ask_pop("127.101.0.1").find("hello from backend-de"), std::string::npos) << logs_of(dir);
  EXPECT_NE(ask_pop("127.102.0.1").find("hello from backend-us"), std::string::npos) << logs_of(dir);
  EXPECT_GE(service_connections(2), de_before + 1) << "backend-de's service on node2 carried the stream";
  EXPECT_GE(service_connections(3), us_before + 1) << "backend-us's service on node3 carried the stream";
  EXPECT_TRUE(has_tunnel(1, "proxy:gateway", "outbound", 3));
  EXPECT_TRUE(has_tunnel(2, "service:backend-de", "inbound", 3));
  EXPECT_TRUE(has_tunnel(3, "service:backend-us", "inbound", 3));
  // A crowd at once: 100 streams through one session each way, none refused or lost.
  EXPECT_EQ(answered_at_once("127.101.0.1", 100, "hello from backend-de"), 100) << logs_of(dir);
  EXPECT_EQ(answered_at_once("127.102.0.1", 100, "hello from backend-us"), 100) << logs_of(dir);

  // A second up on the running testnet starts nothing.
  EXPECT_EQ(run(up, out), 3) << slurp(out);
  EXPECT_NE(slurp(out).find("testnet already running in " + dir.string() + " (6 nodes); hopline testnet down --dir " +
                            dir.string()),
            std::string::npos)
      << slurp(out);
  EXPECT_EQ(recorded_pids(dir), pids);

  // Two relays die without a word: their peers ban them, the service stays up.
  const std::string hash4 = identity_of(4), hash5 = identity_of(5), pop_hash = identity_of(1);
  ASSERT_FALSE(hash4.empty() || hash5.empty() || pop_hash.empty());
  ::kill(pids.at(4), SIGKILL);
  ::kill(pids.at(5), SIGKILL);
  for (int node : {1, 2}) {
    EXPECT_TRUE(eventually([&] { auto b = banned_by(node); return b.count(hash4) && b.count(hash5); }, 60s))
        << "node" << node << " did not ban node4 and node5\n" << logs_of(dir);
  }
  // By then their tunnels were replaced (a lost link has its peer retested and its tunnels
  // tested at once): both countries are served through the 4 nodes left.
  for (const auto& [source, backend] : {std::pair{"127.101.0.1", "hello from backend-de"},
                                        std::pair{"127.102.0.1", "hello from backend-us"}}) {
    EXPECT_TRUE(eventually([&] { return ask_pop(source).find(backend) != std::string::npos; }, 20s))
        << source << " after the kills\n" << logs_of(dir);
  }
  EXPECT_EQ(run({"testnet", "status", "--dir", dir.string()}, out), 1) << "two nodes are dead";
  EXPECT_NE(slurp(out).find("4 of 6 nodes alive"), std::string::npos) << slurp(out);

  // The POP restarted with the same config keeps its identity, its NetDB and its bans.
  ::kill(pids.at(1), SIGTERM);
  ASSERT_TRUE(eventually([&] { return !is_hopline_node(pids.at(1)); }, 15s));
  Process pop({"node", "--config", (dir / "node1" / "node.conf").string()}, tmp.path() / "pop-restarted.log");
  ASSERT_TRUE(eventually([&] { return !identity_of(1).empty(); }, 20s)) << slurp(tmp.path() / "pop-restarted.log");
  EXPECT_EQ(identity_of(1), pop_hash);
  const auto restarted = banned_by(1);
  EXPECT_TRUE(restarted.count(hash4) && restarted.count(hash5)) << "bans are kept across the restart";
  auto status = api(1, "/api/v1/status");
  ASSERT_TRUE(status.has_value());
  EXPECT_GE((*status)["netdb_routers"].as_number().value_or(0), 6) << "the stored RouterInfos are loaded";
  // The services' tunnels through the old POP died with it; both countries are served again.
  for (const auto& [source, backend] : {std::pair{"127.101.0.1", "hello from backend-de"},
                                        std::pair{"127.102.0.1", "hello from backend-us"}}) {
    EXPECT_TRUE(eventually([&] { return ask_pop(source).find(backend) != std::string::npos; }, 30s))
        << source << " after the POP's restart\n" << slurp(tmp.path() / "pop-restarted.log") << logs_of(dir);
  }
  ::kill(pop.pid(), SIGTERM);
  EXPECT_EQ(pop.wait(15s), 0) << slurp(tmp.path() / "pop-restarted.log");

  // down stops what is left (nodes 2, 3 and 6), removes the PID file; a second down has nothing to do.
  EXPECT_EQ(run({"testnet", "down", "--dir", dir.string()}, out, 30s), 0) << slurp(out);
  EXPECT_NE(slurp(out).find("stopped (3 nodes)"), std::string::npos) << slurp(out);
  for (const auto& [index, pid] : pids) EXPECT_FALSE(is_hopline_node(pid)) << "node" << index << " still runs";
  EXPECT_FALSE(fs::exists(dir / "testnet.pids"));
  EXPECT_EQ(run({"testnet", "down", "--dir", dir.string()}, out), 0) << slurp(out);
  EXPECT_NE(slurp(out).find("testnet in " + dir.string() + " is not running"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"testnet", "status", "--dir", dir.string()}, out), 1);
  EXPECT_NE(slurp(out).find("no testnet in"), std::string::npos) << slurp(out);
}

TEST(TestnetProcesses, UpSaysWhichAddressIsBusyAndStartsNothing) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "testnet";
  const fs::path out = tmp.path() / "out.txt";
  // Something else holds node3's console port.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(kBasePort + 103));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  EXPECT_EQ(run({"testnet", "up", "--nodes", "4", "--dir", dir.string(), "--base-port", std::to_string(kBasePort + 100),
                 "--pop-port", std::to_string(kPopPort + 100)},
                out),
            1);
  ::close(fd);
  EXPECT_NE(slurp(out).find("127.0.0.1:" + std::to_string(kBasePort + 103) + " (node3's console)"), std::string::npos)
      << slurp(out);
  EXPECT_NE(slurp(out).find("--base-port"), std::string::npos) << slurp(out);
  EXPECT_FALSE(fs::exists(dir / "testnet.pids"));
  EXPECT_EQ(run({"testnet", "up", "--nodes", "3", "--dir", dir.string()}, out), 2);
  EXPECT_NE(slurp(out).find("--nodes must be from 4"), std::string::npos) << slurp(out);
  EXPECT_EQ(run({"testnet", "up", "--nodes", "4"}, out), 2);
  EXPECT_NE(slurp(out).find("--dir DIR is required"), std::string::npos) << slurp(out);
}

}  // namespace
