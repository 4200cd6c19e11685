// The simulated network: link timing, delivery, bandwidth, loss, failures and limits, all on
// simulated time (milliseconds of wall time for minutes of simulated time).
#include "hop/transport/sim_network.h"

#include <gtest/gtest.h>

#include <random>

#include "hop/transport/errors.h"

namespace hop::transport {
namespace {

using namespace std::chrono_literals;

struct Recorder final : LinkEvents {
  explicit Recorder(core::SimRuntime& rt) : rt_(rt) {}
  std::vector<std::pair<core::RouterHash, core::TimePoint>> ups;
  std::vector<std::pair<core::RouterHash, CloseReason>> downs;
  std::vector<CloseReason> dial_failures;
  std::vector<core::TimePoint> dial_failure_times;
  std::vector<std::pair<core::Bytes, core::TimePoint>> blocks;
  std::string trace;

  void on_link_up(const LinkInfo& l) override {
    ups.emplace_back(l.peer, rt_.now());
    trace += "up " + l.peer.short_string() + "@" + std::to_string(rt_.now().time_since_epoch().count()) + ";";
  }
  void on_link_down(const core::RouterHash& p, CloseReason r, const std::string&) override {
    downs.emplace_back(p, r);
    trace += "down " + p.short_string() + ";";
  }
  void on_block(const core::RouterHash&, BlockType, core::ByteView body) override {
    blocks.emplace_back(core::Bytes(body.begin(), body.end()), rt_.now());
    trace += "block " + std::to_string(body.size()) + "@" + std::to_string(rt_.now().time_since_epoch().count()) + ";";
  }
  void on_dial_failed(const PeerContact&, CloseReason r, const std::string&) override {
    dial_failures.push_back(r);
    dial_failure_times.push_back(rt_.now());
  }

 private:
  core::SimRuntime& rt_;
};

struct SimNode {
  SimNode(SimNetwork& net, core::SimRuntime& rt, int i, SimNodeOptions o = {})
      : identity(core::Identity::generate()), events(rt) {
    o.host = "127." + std::to_string(i) + ".0.1";
    layer = &net.add_node(identity, o);
    layer->set_events(&events);
  }
  core::RouterHash hash() const { return identity.hash(); }
  core::Identity identity;
  Recorder events;
  SimLinkLayer* layer;
};

class SimNetworkTest : public ::testing::Test {
 protected:
  core::SimRuntime rt;
  SimNetwork net{rt, 1};
};

TEST_F(SimNetworkTest, LinksComeUpAfterTwoAndThreeLatencies) {
  net.set_default_link({.latency = 10ms});
  SimNode a(net, rt, 1), b(net, rt, 2);
  const auto t0 = rt.now();
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  rt.advance(1s);
  ASSERT_EQ(a.events.ups.size(), 1u);
  ASSERT_EQ(b.events.ups.size(), 1u);
  EXPECT_EQ(a.events.ups[0].second - t0, 20ms);
  EXPECT_EQ(b.events.ups[0].second - t0, 30ms);
  EXPECT_EQ(a.layer->links()[0].rtt, 20ms);
  EXPECT_EQ(a.layer->links()[0].direction, LinkDirection::kOutbound);
  EXPECT_EQ(b.layer->links()[0].remote_address, "127.1.0.1:7100");
}

TEST_F(SimNetworkTest, NothingHappensUntilTimeMoves) {
  SimNode a(net, rt, 1), b(net, rt, 2);
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  EXPECT_TRUE(a.events.ups.empty());
  EXPECT_TRUE(a.layer->links().empty());
}

TEST_F(SimNetworkTest, BandwidthSerializesBlocksAndLatencyAdds) {
  net.set_default_link({.latency = 50ms, .bandwidth_bytes_per_sec = 1e6});
  SimNode a(net, rt, 1, {.max_queued_bytes = 2u << 20}), b(net, rt, 2);
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  rt.advance(1s);
  const auto t0 = rt.now();
  const core::Bytes block(50'000, 1);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(a.layer->send(b.hash(), BlockType::kCell, block).ok());  // 1 MB
  rt.advance(5s);
  ASSERT_EQ(b.events.blocks.size(), 20u);
  EXPECT_EQ(b.events.blocks.front().second - t0, 50ms + 50ms) << "first: 50 ms on the wire + 50 ms latency";
  EXPECT_EQ(b.events.blocks.back().second - t0, 1000ms + 50ms) << "1 MB at 1 MB/s";
  EXPECT_EQ(net.counters().bytes_delivered, 1'000'000u);
}

TEST_F(SimNetworkTest, BackpressureWhenTheQueueWouldExceedItsLimit) {
  net.set_default_link({.latency = 1ms, .bandwidth_bytes_per_sec = 1000});
  SimNode a(net, rt, 1, {.max_queued_bytes = 100'000}), b(net, rt, 2);
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  rt.advance(1s);
  const core::Bytes block(40'000, 1);
  ASSERT_TRUE(a.layer->send(b.hash(), BlockType::kCell, block).ok());
  ASSERT_TRUE(a.layer->send(b.hash(), BlockType::kCell, block).ok());
  EXPECT_EQ(a.layer->send(b.hash(), BlockType::kCell, block).error().code, Errc::kBackpressure);
}

TEST_F(SimNetworkTest, LossDropsAboutTheConfiguredShare) {
  net.set_default_link({.latency = 1ms, .loss = 0.01});
  SimNode a(net, rt, 1), b(net, rt, 2);
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  rt.advance(1s);
  const core::Bytes block(10, 1);
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(a.layer->send(b.hash(), BlockType::kCell, block).ok());
  rt.advance(1s);
  const auto lost = 10'000 - b.events.blocks.size();
  EXPECT_GE(lost, 60u);
  EXPECT_LE(lost, 140u);
  EXPECT_EQ(net.counters().blocks_lost, lost);
}

TEST(SimNetwork, SameSeedSameTrace) {
  auto run = [](std::uint64_t seed) {
    core::SimRuntime runtime;
    SimNetwork network(runtime, seed);
    network.set_default_link({.latency = 3ms, .loss = 0.2});
    SimNode a(network, runtime, 1), b(network, runtime, 2);
    (void)a.layer->connect(b.layer->contact());
    runtime.advance(1s);
    for (int i = 0; i < 50; ++i) (void)a.layer->send(b.hash(), BlockType::kCell, core::Bytes(static_cast<std::size_t>(i + 1), 0));
    runtime.advance(1s);
    std::string trace;
    for (const auto& [body, t] : b.events.blocks) trace += std::to_string(body.size()) + ",";
    return trace;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST_F(SimNetworkTest, BlackHoleFailsDialsAndTakesLinksDown) {
  SimNode a(net, rt, 1, {.dead_link_timeout = 50s}), b(net, rt, 2), c(net, rt, 3);
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  rt.advance(1s);
  net.blackhole(a.hash(), true);
  ASSERT_TRUE(a.layer->connect(c.layer->contact()).ok());
  const auto t0 = rt.now();
  rt.advance(kDefaultHandshakeTimeout + 1s);
  ASSERT_EQ(a.events.dial_failures.size(), 1u);
  EXPECT_EQ(a.events.dial_failures[0], CloseReason::kHandshakeTimeout);
  EXPECT_EQ(a.events.dial_failure_times[0] - t0, kDefaultHandshakeTimeout);
  EXPECT_TRUE(b.events.downs.empty()) << "not before the dead-link timeout";
  rt.advance(50s);
  ASSERT_EQ(b.events.downs.size(), 1u);
  EXPECT_EQ(b.events.downs[0].second, CloseReason::kUnresponsive);
  ASSERT_EQ(a.events.downs.size(), 1u);
  // Lifted: dials work again.
  net.blackhole(a.hash(), false);
  ASSERT_TRUE(a.layer->connect(c.layer->contact()).ok());
  rt.advance(1s);
  EXPECT_EQ(a.layer->links().size(), 1u);
}

TEST_F(SimNetworkTest, AShortBlackHoleKeepsLinks) {
  SimNode a(net, rt, 1), b(net, rt, 2);
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  rt.advance(1s);
  net.blackhole(b.hash(), true);
  rt.advance(5s);
  net.blackhole(b.hash(), false);
  rt.advance(2min);
  EXPECT_TRUE(a.events.downs.empty());
  EXPECT_EQ(a.layer->links().size(), 1u);
}

TEST_F(SimNetworkTest, KilledNodesPeersSeeTheLinkClose) {
  SimNode a(net, rt, 1), b(net, rt, 2);
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  rt.advance(1s);
  net.kill(b.hash());
  rt.advance(1s);
  ASSERT_EQ(a.events.downs.size(), 1u);
  EXPECT_EQ(a.events.downs[0].second, CloseReason::kPeerClosed);
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  rt.advance(kDefaultHandshakeTimeout + 1s);
  EXPECT_EQ(a.events.dial_failures.size(), 1u);
}

TEST_F(SimNetworkTest, DifferentNetworkIdsNeverLink) {
  SimNode a(net, rt, 1), b(net, rt, 2, {.network_id = 2});
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  rt.advance(1min);
  EXPECT_TRUE(a.layer->links().empty());
  EXPECT_TRUE(b.layer->links().empty());
  ASSERT_EQ(a.events.dial_failures.size(), 1u);
  EXPECT_EQ(a.events.dial_failures[0], CloseReason::kPeerClosed);
}

TEST_F(SimNetworkTest, HardLimitRefusesAndSoftLimitEvictsTheIdlest) {
  SimNode hub(net, rt, 1, {.limits = {.hard = 2, .soft = 1}}), a(net, rt, 2), b(net, rt, 3), c(net, rt, 4);
  ASSERT_TRUE(a.layer->connect(hub.layer->contact()).ok());
  rt.advance(1s);
  ASSERT_TRUE(a.layer->send(hub.hash(), BlockType::kMessage, core::Bytes{1}).ok());
  rt.advance(1s);
  ASSERT_TRUE(b.layer->connect(hub.layer->contact()).ok());
  rt.advance(1s);
  // Over the soft limit: the idlest goes. a was last active a second before b's link came up.
  EXPECT_EQ(hub.layer->links().size(), 1u);
  EXPECT_EQ(hub.layer->links()[0].peer, b.hash());
  ASSERT_EQ(a.events.downs.size(), 1u);
  EXPECT_EQ(a.events.downs[0].second, CloseReason::kEvicted) << "as the hub's Close block says: a is not lost";
  EXPECT_EQ(hub.layer->connect(c.layer->contact()).error().code, Errc::kLinkLimit);
}

TEST_F(SimNetworkTest, HardLimitRefusesInbound) {
  SimNode hub(net, rt, 1, {.limits = {.hard = 1, .soft = 1}}), a(net, rt, 2), b(net, rt, 3);
  ASSERT_TRUE(a.layer->connect(hub.layer->contact()).ok());
  rt.advance(1s);
  ASSERT_TRUE(b.layer->connect(hub.layer->contact()).ok());
  rt.advance(1s);
  ASSERT_EQ(b.events.dial_failures.size(), 1u);
  EXPECT_EQ(hub.layer->links().size(), 1u);
}

TEST_F(SimNetworkTest, SendNeedsALinkAndSendToDialsOnDemand) {
  SimNode a(net, rt, 1), b(net, rt, 2);
  EXPECT_EQ(a.layer->send(b.hash(), BlockType::kMessage, core::Bytes{1}).error().code, Errc::kNoLink);
  EXPECT_EQ(a.layer->connect(a.layer->contact()).error().code, Errc::kSelfDial);
  ASSERT_TRUE(a.layer->send_to(b.layer->contact(), BlockType::kMessage, core::Bytes{1}).ok());
  ASSERT_TRUE(a.layer->send_to(b.layer->contact(), BlockType::kMessage, core::Bytes{2, 2}).ok());
  rt.advance(1s);
  ASSERT_EQ(b.events.blocks.size(), 2u);
  EXPECT_EQ(b.events.blocks[1].first, core::Bytes({2, 2}));
}

TEST_F(SimNetworkTest, DisconnectClosesBothSides) {
  SimNode a(net, rt, 1), b(net, rt, 2);
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  rt.advance(1s);
  a.layer->disconnect(b.hash());
  rt.advance(1s);
  ASSERT_EQ(a.events.downs.size(), 1u);
  EXPECT_EQ(a.events.downs[0].second, CloseReason::kLocal);
  ASSERT_EQ(b.events.downs.size(), 1u);
  EXPECT_EQ(b.events.downs[0].second, CloseReason::kPeerClosed);
}

TEST_F(SimNetworkTest, SimultaneousDialsGiveOneLinkEachSide) {
  SimNode a(net, rt, 1), b(net, rt, 2);
  ASSERT_TRUE(a.layer->connect(b.layer->contact()).ok());
  ASSERT_TRUE(b.layer->connect(a.layer->contact()).ok());
  rt.advance(1s);
  EXPECT_EQ(a.layer->links().size(), 1u);
  EXPECT_EQ(b.layer->links().size(), 1u);
  EXPECT_EQ(a.events.ups.size(), 1u);
  EXPECT_EQ(b.events.ups.size(), 1u);
}

TEST_F(SimNetworkTest, ThreeHundredNodesLinkInSimulatedTime) {
  std::vector<std::unique_ptr<SimNode>> nodes;
  for (int i = 0; i < 300; ++i) nodes.push_back(std::make_unique<SimNode>(net, rt, i % 250 + 1));
  std::mt19937_64 rng(3);
  std::size_t dials = 0;
  for (auto& n : nodes) {
    for (int k = 0; k < 8; ++k) {
      auto& peer = nodes[rng() % nodes.size()];
      if (peer != n && n->layer->connect(peer->layer->contact()).ok()) ++dials;
    }
  }
  rt.advance(1s);
  std::size_t links = 0, ups = 0;
  for (auto& n : nodes) {
    links += n->layer->links().size();
    ups += n->events.ups.size();
    EXPECT_TRUE(n->events.dial_failures.empty());
  }
  EXPECT_EQ(links, ups);
  EXPECT_GE(links, dials) << "each dial gives a link on both sides, minus duplicates";
  EXPECT_GT(links, 2000u);
}

}  // namespace
}  // namespace hop::transport
