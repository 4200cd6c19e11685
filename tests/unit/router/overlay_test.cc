// An overlay of 20 nodes on loopback, each on its own 127.x.0.1 (distinct /16s), 3 floodfills,
// every other node seeded with one floodfill only: every node learns every RouterInfo; 2 nodes
// stopped are banned by all the others; a restarted node keeps its NetDB and its bans.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>

#include "hop/router/node.h"
#include "hop/tunnels/tunnel_manager.h"
#include "support/local_nodes.h"
#include "support/loopback.h"
#include "support/temp_dir.h"

namespace hop::router {
namespace {

using hop::test::TempDir;

using namespace std::chrono_literals;

constexpr int kNodes = 20;
constexpr int kFloodfills = 3;

NodeConfig overlay_config(const std::filesystem::path& dir, int i) {
  NodeConfig c;
  c.data_dir = dir / ("node" + std::to_string(i));
  c.listen_host = "127." + std::to_string(60 + i) + ".0.1";  // 127.60-79: apart from other tests
  c.listen_port = 0;
  c.log.level = "warn";
  c.floodfill = i < kFloodfills;
  c.explore_interval = 1s;
  c.prober.interval = 1s;
  c.prober.probe_timeout = 2s;
  c.prober.budget_per_minute = 10'000;
  c.prober.bandwidth_interval = 3s;
  c.prober.bandwidth_bytes = 64 * 1024;
  c.link.handshake_timeout = 2s;
  c.bans = {.failures_before_ban = 3, .duration = 24h};
  return c;
}

struct Overlay {
  boost::asio::io_context io;
  core::AsioRuntime rt{io};
  TempDir dir;
  std::vector<std::unique_ptr<Node>> nodes;  // null: stopped

  std::unique_ptr<Node> make(int i) {
    auto node = Node::create(rt, overlay_config(dir.path(), i), {});
    EXPECT_TRUE(node.ok()) << node.error().message();
    return node.ok() ? std::move(*node) : nullptr;
  }
  std::vector<Node*> live() {
    std::vector<Node*> out;
    for (auto& n : nodes) {
      if (n) out.push_back(n.get());
    }
    return out;
  }
  std::string sizes() {
    std::string out;
    for (auto* n : live()) out += std::to_string(n->netdb().size()) + " ";
    return "NetDB sizes: " + out;
  }
};

TEST(Overlay, TwentyNodesLearnEveryRouterBanTheDeadAndKeepItAllAcrossARestart) {
  Overlay o;
  for (int i = 0; i < kNodes; ++i) {
    o.nodes.push_back(o.make(i));
    ASSERT_TRUE(o.nodes.back());
    ASSERT_TRUE(o.nodes.back()->start().ok());
  }
  // Each node is seeded with one floodfill only (round robin); floodfills with the next one.
  for (int i = 0; i < kNodes; ++i) {
    const int seed = i < kFloodfills ? (i + 1) % kFloodfills : i % kFloodfills;
    o.nodes[static_cast<std::size_t>(i)]->set_seeds({o.nodes[static_cast<std::size_t>(seed)]->contact()});
  }
  ASSERT_TRUE(hop::test::run_until(o.io, [&] {
    for (auto* n : o.live()) {
      if (n->netdb().size() != static_cast<std::size_t>(kNodes)) return false;
    }
    return true;
  }, 60s)) << o.sizes();

  // Bandwidth probes ran between linked peers and landed in profiles.
  ASSERT_TRUE(hop::test::run_until(o.io, [&] {
    for (auto* n : o.live()) {
      if (n->prober().bandwidth_probes_started() == 0) return false;
    }
    return true;
  }, 30s));
  std::size_t measured = 0;
  for (const auto& [peer, profile] : o.nodes[0]->peers().profiles()) measured += profile.bandwidth_samples > 0;
  EXPECT_GT(measured, 0u);

  // Stop two non-floodfill nodes: every other node bans both after 3 failed tests in a row.
  std::vector<core::RouterHash> dead = {o.nodes[10]->identity().hash(), o.nodes[11]->identity().hash()};
  o.nodes[10].reset();
  o.nodes[11].reset();
  ASSERT_TRUE(hop::test::run_until(o.io, [&] {
    const auto now = o.rt.wall_now();
    for (auto* n : o.live()) {
      for (const auto& d : dead) {
        if (!n->peers().is_banned(d, now)) return false;
      }
    }
    return true;
  }, 60s));
  for (auto* n : o.live()) {
    const auto* ban = n->peers().ban_of(dead[0]);
    ASSERT_NE(ban, nullptr);
    EXPECT_EQ(ban->end - ban->start, std::chrono::duration_cast<core::WallTime::duration>(24h));
    EXPECT_NE(ban->reason.find("3 reachability tests failed"), std::string::npos) << ban->reason;
    for (const auto& peer : n->peers().selection(o.rt.wall_now())) {
      EXPECT_NE(peer, dead[0]);
      EXPECT_NE(peer, dead[1]);
    }
  }

  // Restart node 5: its NetDB and its bans come back from its store before it talks to anyone.
  const auto before_profiles = o.nodes[5]->peers().profiles().size();
  o.nodes[5].reset();  // destruction finishes every pending store write
  o.nodes[5] = o.make(5);
  ASSERT_TRUE(o.nodes[5]);
  Node& again = *o.nodes[5];
  for (const auto& d : dead) EXPECT_TRUE(again.peers().is_banned(d, o.rt.wall_now()));
  EXPECT_EQ(again.peers().profiles().size(), before_profiles);
  ASSERT_TRUE(again.start().ok());
  EXPECT_EQ(again.netdb().size(), static_cast<std::size_t>(kNodes)) << "every stored RouterInfo is loaded";
  // The node runs on with them: it never lets a banned peer back in during its ban.
  ASSERT_TRUE(hop::test::run_until(o.io, [&] { return again.links().links().size() >= 3; }, 20s));
  for (const auto& link : again.links().links()) {
    EXPECT_NE(link.peer, dead[0]);
    EXPECT_NE(link.peer, dead[1]);
  }
  for (const auto& d : dead) EXPECT_TRUE(again.peers().is_banned(d, o.rt.wall_now()));

  // A banned node comes back and dials the others: they close its links, and the ban stays.
  std::map<Node*, netdb::Ban> bans_before;
  for (auto* n : o.live()) bans_before[n] = *n->peers().ban_of(dead[0]);
  o.nodes[10] = o.make(10);
  ASSERT_TRUE(o.nodes[10] && o.nodes[10]->start().ok());
  Node& returned = *o.nodes[10];
  ASSERT_TRUE(hop::test::run_until(o.io, [&] { return returned.prober().probes_started() >= 20; }, 20s));
  hop::test::run_until(o.io, [] { return false; }, 1s);
  for (auto* n : o.live()) {
    if (n == &returned) continue;
    EXPECT_TRUE(n->peers().is_banned(dead[0], o.rt.wall_now()));
    EXPECT_EQ(*n->peers().ban_of(dead[0]), bans_before[n]) << "neither lifted nor extended";
    for (const auto& link : n->links().links()) EXPECT_NE(link.peer, dead[0]);
  }
}

// Ten nodes on loopback (127.80-89.0.1), each seeded with every other: every node's exploratory
// pool of 2 inbound and 2 outbound 3-hop tunnels comes up (aim: within 10 s), and tunnel tests
// (out one tunnel, back through another) pass.
TEST(Overlay, TenNodesBuildTheirTunnelPoolsWithinTenSecondsAndTestThem) {
  hop::test::LocalNodes overlay;
  auto& io = overlay.io;
  auto& nodes = overlay.nodes;
  for (int i = 0; i < 10; ++i) {
    NodeConfig c;
    c.data_dir = overlay.dir.path() / ("node" + std::to_string(i));
    c.listen_host = "127." + std::to_string(80 + i) + ".0.1";
    c.listen_port = 0;
    c.log.level = "warn";
    c.floodfill = i < 3;
    c.tunnels.test_interval = 2s;
    ASSERT_NE(overlay.add(c), nullptr);
  }
  overlay.mesh();
  auto pools_up = [&] {
    for (auto& n : nodes) {
      if (n->tunnels().established(tunnels::Direction::kInbound) < 2 ||
          n->tunnels().established(tunnels::Direction::kOutbound) < 2) {
        return false;
      }
    }
    return true;
  };
  // The aim is 10 s (about 2 s here unloaded); the bound is wider so a loaded CI machine does not
  // fail it. The time taken is recorded, not asserted (benchmarks check speed).
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(hop::test::run_until(io, pools_up, 30s));
  ::testing::Test::RecordProperty(
      "pools_up_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - started).count()));
  for (auto& n : nodes) {
    for (const auto& t : n->tunnels().tunnels()) {
      if (t.state != tunnels::TunnelState::kEstablished) continue;
      EXPECT_EQ(t.hops.size(), 3u);
    }
  }
  ASSERT_TRUE(hop::test::run_until(io, [&] {
    for (auto& n : nodes) {
      if (n->tunnels().counters().tests_passed == 0) return false;
    }
    return true;
  }, 10s));
  std::size_t transit = 0;
  for (auto& n : nodes) transit += n->tunnels().transit().size();
  EXPECT_GE(transit, 10u * 4u * 3u) << "every hop of every tunnel is someone's transit tunnel";
}

}  // namespace
}  // namespace hop::router
