// The in-process testnet on loopback: nodes on 127.I.0.1 link into a full mesh; identities persist.
#include "hop/router/testnet.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "hop/router/config.h"
#include "support/echo_backend.h"
#include "support/loopback.h"
#include "support/temp_dir.h"
#include "testnet_layout.h"
#include "testnet_processes.h"

namespace hop::router {
namespace {

using hop::test::TempDir;

using namespace std::chrono_literals;

TEST(Testnet, FourNodesFormAFullMeshAndKeepTheirIdentities) {
  TempDir dir;
  std::vector<core::RouterHash> hashes;
  for (int round = 0; round < 2; ++round) {
    boost::asio::io_context io;
    core::AsioRuntime rt(io);
    auto net = Testnet::create(rt, {.nodes = 4, .dir = dir.path(), .network_id = 1, .log_level = "warn"});
    ASSERT_TRUE(net.ok()) << net.error().message();
    ASSERT_TRUE((*net)->start().ok());
    EXPECT_TRUE(hop::test::run_until(io, [&] { return (*net)->links_up() == 12; }, 10s))
        << (*net)->report();
    // Seeds answer with their RouterInfo, publishing floods it: every node knows every node.
    EXPECT_TRUE(hop::test::run_until(io, [&] { return (*net)->netdb_known() == 16; }, 10s))
        << (*net)->report();
    EXPECT_NE((*net)->report().find("127.4.0.1"), std::string::npos);
    std::vector<core::RouterHash> now;
    for (const auto& node : (*net)->nodes()) now.push_back(node->identity().hash());
    if (round == 0) {
      hashes = now;
    } else {
      EXPECT_EQ(now, hashes) << "identities are loaded from the data directories on restart";
    }
    (*net)->stop();
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "node1" / "identity.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// The demo a newcomer runs: clients placed in DE and in the US by routing.db land on the demo
// backend of their country, an unplaced one on the POP's own region.
TEST(Testnet, ThePopSendsEachClientToTheBackendOfItsPlace) {
  TempDir dir;
  boost::asio::io_context io;
  core::AsioRuntime rt(io);
  auto net = Testnet::create(rt, {.nodes = 3, .dir = dir.path(), .network_id = 1, .log_level = "warn", .pop = true});
  ASSERT_TRUE(net.ok()) << net.error().message();
  ASSERT_TRUE((*net)->start().ok());
  const std::string pop = (*net)->pop_address();
  ASSERT_FALSE(pop.empty());
  const auto port = static_cast<std::uint16_t>(std::stoi(pop.substr(pop.rfind(':') + 1)));
  EXPECT_NE((*net)->pop_howto().find("curl --interface 127.101.0.1 http://" + pop), std::string::npos);
  // The demo backends run on this io_context: ask from another thread while it runs.
  std::map<std::string, std::string> answers;
  std::atomic<bool> done{false};
  std::thread client([&] {
    for (const char* source : {"127.101.0.1", "127.102.0.1", "127.0.0.1"}) {
      hop::test::TestClient c(port, source, "127.1.0.1");
      if (c.send("GET / HTTP/1.0\r\n\r\n")) {
        std::string all;
        while (auto line = c.read_line()) all += *line + "\n";
        answers[source] = all;
      }
    }
    done = true;
  });
  EXPECT_TRUE(hop::test::run_until(io, [&] { return done.load(); }, 20s));
  client.join();
  EXPECT_NE(answers["127.101.0.1"].find("hello from backend-de"), std::string::npos) << answers["127.101.0.1"];
  EXPECT_NE(answers["127.102.0.1"].find("hello from backend-us"), std::string::npos) << answers["127.102.0.1"];
  EXPECT_NE(answers["127.0.0.1"].find("hello from backend-de"), std::string::npos) << "the POP's region is eu";
  EXPECT_NE((*net)->report().find("backend-us"), std::string::npos);
  (*net)->stop();
}

TEST(Node, RefusesToStartWithACorruptIdentity) {
  TempDir dir;
  {
    std::ofstream f(dir.path() / "identity.key");
    f << "not a key";
  }
  ::chmod((dir.path() / "identity.key").c_str(), 0600);
  boost::asio::io_context io;
  core::AsioRuntime rt(io);
  NodeConfig config;
  config.data_dir = dir.path();
  auto node = Node::create(rt, config, {});
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.error().message().find("identity.key"), std::string::npos) << node.error().message();
  // Never deleted: the operator decides.
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "identity.key"));
}

TEST(Node, RefusesToStartWithADamagedNetDbAndLeavesItUntouched) {
  TempDir dir;
  const std::string junk(8192, 'x');
  std::ofstream(dir.path() / "netdb.sqlite") << junk;
  boost::asio::io_context io;
  core::AsioRuntime rt(io);
  NodeConfig config;
  config.data_dir = dir.path();
  auto node = Node::create(rt, config, {});
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.error().message().find((dir.path() / "netdb.sqlite").string()), std::string::npos)
      << node.error().message();
  EXPECT_NE(node.error().message().find("move it aside"), std::string::npos) << node.error().message();
  std::ifstream in(dir.path() / "netdb.sqlite");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), junk);
}

TEST(Node, ABusyListenAddressIsAClearStartError) {
  TempDir dir;
  boost::asio::io_context io;
  core::AsioRuntime rt(io);
  NodeConfig config;
  config.data_dir = dir.path() / "a";
  config.listen_host = "127.9.0.1";
  config.listen_port = 0;
  auto first = Node::create(rt, config, {});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->start().ok());
  config.data_dir = dir.path() / "b";
  config.listen_port = (*first)->contact().port;
  auto second = Node::create(rt, config, {});
  ASSERT_TRUE(second.ok());
  auto st = (*second)->start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("127.9.0.1"), std::string::npos) << st.error().message();
}


// The process testnet's layout: every node.conf `up` writes is one a node accepts, with the
// addresses, roles and ports the docs promise.
TEST(TestnetLayout, EveryNodeConfigParsesWithItsAddressesAndRole) {
  auto layout = plan_testnet({.nodes = 5, .dir = "/tmp/tn", .network_id = 7, .log_level = "warn",
                              .base_port = 21000, .pop_port = 21999});
  ASSERT_TRUE(layout.ok()) << layout.error().message();
  ASSERT_EQ(layout->nodes.size(), 5u);
  std::vector<std::string> roles;
  for (const auto& n : layout->nodes) {
    auto map = parse_config_text(node_config_text(*layout, n), "node.conf");
    ASSERT_TRUE(map.ok()) << map.error().message();
    auto config = build_node_config(*map);
    ASSERT_TRUE(config.ok()) << config.error().message() << "\n" << node_config_text(*layout, n);
    const std::string i = std::to_string(n.index);
    EXPECT_EQ(config->listen_host, "127." + i + ".0.1");
    EXPECT_EQ(config->listen_port, 21000 + n.index);
    EXPECT_EQ(config->console.host, "127.0.0.1");
    EXPECT_EQ(config->console.port, 21000 + n.index);
    EXPECT_EQ(config->network_id, 7u);
    EXPECT_EQ(config->log.level, "warn");
    EXPECT_EQ(config->data_dir, std::filesystem::path("/tmp/tn/node" + i));
    EXPECT_EQ(config->seed_file, std::filesystem::path("/tmp/tn/node" + i + "/seeds.txt"));
    EXPECT_EQ(config->floodfill, n.index <= 3);
    EXPECT_EQ(config->proxy.listeners.empty(), n.index != 1);
    EXPECT_LT(config->prober.interval, std::chrono::seconds(30)) << "quick timings for a local testnet";
    EXPECT_EQ(config->bandwidth_kbps, 51200u) << "loopback: transit buckets far above the 1 MB/s default";
    roles.push_back(n.role());
    if (n.backend) {
      EXPECT_EQ(config->demo_backend.name, n.backend->name);
      EXPECT_EQ(config->demo_backend.host, n.backend->host);
      EXPECT_EQ(config->demo_backend.port, 21000);
      ASSERT_EQ(config->services.size(), 1u);
      EXPECT_EQ(config->services[0].name, n.backend->name);
      EXPECT_EQ(config->services[0].target_host + ":" + std::to_string(config->services[0].target_port),
                layout->backend_address(*n.backend));
      EXPECT_EQ(config->region, n.backend->country);
    } else {
      EXPECT_TRUE(config->demo_backend.name.empty());
      EXPECT_TRUE(config->services.empty());
    }
  }
  EXPECT_EQ(roles, (std::vector<std::string>{"pop", "backend-de", "backend-us", "relay", "relay"}));
  EXPECT_EQ(layout->pop_address(), "127.1.0.1:21999");
  // Every address it binds is distinct, so one check before start finds what is busy.
  std::set<std::string> bound;
  for (const auto& b : layout->bindings()) EXPECT_TRUE(bound.insert(b.host + ":" + std::to_string(b.port)).second) << b.what;
  EXPECT_EQ(bound.size(), 5u * 2 + 1 + 2);
}

TEST(TestnetLayout, RefusesLayoutsThatCannotWork) {
  auto plan = [](int nodes, std::uint16_t base, std::uint16_t pop) {
    return plan_testnet({.nodes = nodes, .dir = "/tmp/tn", .base_port = base, .pop_port = pop});
  };
  EXPECT_FALSE(plan(3, 17000, 18080).ok()) << "3-hop tunnels need 3 peers besides their owner";
  EXPECT_FALSE(plan(251, 17000, 18080).ok());
  EXPECT_FALSE(plan(10, 65530, 18080).ok()) << "ports past 65535";
  EXPECT_FALSE(plan(5, 17000, 17001).ok()) << "the POP on node1's link port";
  EXPECT_TRUE(plan(4, 17000, 18080).ok());
}

TEST(TestnetProcesses, PidFileRoundTripsAndAStrangerIsNotANode) {
  TempDir dir;
  const std::vector<TestnetProcess> written = {
      {1, ::getpid(), "127.1.0.1:17001", "http://127.0.0.1:17001", "pop", dir.path() / "node1" / "node.conf"},
      {2, 999999, "127.2.0.1:17002", "http://127.0.0.1:17002", "backend-de", dir.path() / "a dir" / "node.conf"},
  };
  ASSERT_TRUE(write_pid_file(dir.path() / "testnet.pids", written).ok());
  auto read = read_pid_file(dir.path() / "testnet.pids");
  ASSERT_TRUE(read.ok()) << read.error().message();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[1].pid, 999999);
  EXPECT_EQ((*read)[1].role, "backend-de");
  EXPECT_EQ((*read)[1].config, dir.path() / "a dir" / "node.conf") << "a path with a space survives";
  // This test binary is alive but is no `hopline node --config ...`: never taken for (or signalled as) a node.
  EXPECT_FALSE(is_running((*read)[0]));
  EXPECT_FALSE(is_running((*read)[1]));
  EXPECT_TRUE(stop_processes(*read, std::chrono::milliseconds(10)).empty());
  std::ofstream(dir.path() / "bad.pids") << "1 notapid\n";
  EXPECT_FALSE(read_pid_file(dir.path() / "bad.pids").ok());
}

// demo.backend makes a node run the built-in responder, which its service can put on the overlay.
TEST(Node, RunsTheDemoBackendItIsConfiguredWith) {
  TempDir dir;
  ConfigMap map;
  // A fixed port below the ephemeral range, on an address no other test uses.
  ASSERT_TRUE(apply_overrides(map, {"--data_dir=" + dir.path().string(), "--listen=127.209.0.1:0",
                                    "--console.listen=off", "--demo.backend=backend-us 127.209.0.2:23391"})
                  .ok());
  auto config = build_node_config(map);
  ASSERT_TRUE(config.ok()) << config.error().message();
  EXPECT_FALSE(build_node_config({{"demo.backend", {"127.201.0.1:80", "test"}}}).ok()) << "a name is required";
  EXPECT_FALSE(build_node_config({{"demo.backend", {"web 127.201.0.1", "test"}}}).ok()) << "and a port";
  boost::asio::io_context io;
  core::AsioRuntime rt(io);
  auto node = Node::create(rt, *config);
  ASSERT_TRUE(node.ok()) << node.error().message();
  ASSERT_TRUE((*node)->start().ok());
  std::string answer;
  std::atomic<bool> done{false};
  std::thread client([&] {
    hop::test::TestClient c(23391, nullptr, "127.209.0.2");
    if (c.send("GET / HTTP/1.0\r\n\r\n")) {
      while (auto line = c.read_line()) answer += *line + "\n";
    }
    done = true;
  });
  EXPECT_TRUE(hop::test::run_until(io, [&] { return done.load(); }, 10s));
  client.join();
  EXPECT_NE(answer.find("hello from backend-us"), std::string::npos) << answer;
  (*node)->stop();
}

}  // namespace
}  // namespace hop::router
