// The in-process testnet on loopback: nodes on 127.I.0.1 link into a full mesh; identities persist.
#include "hop/router/testnet.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include "support/echo_backend.h"
#include "support/loopback.h"
#include "support/temp_dir.h"

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

}  // namespace
}  // namespace hop::router
