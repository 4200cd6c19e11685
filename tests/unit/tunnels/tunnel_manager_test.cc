// TunnelManager on the simulated network and clock: pools build, rotate make-before-break,
// test themselves, replace a tunnel whose hop dies, refuse over the transit limits, and drop
// tampered cells. Real keys and real cell crypto; only the links are simulated.
#include "hop/tunnels/tunnel_manager.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <memory>

#include "hop/core/sim_runtime.h"
#include "hop/transport/sim_network.h"

namespace hop::tunnels {
namespace {

using namespace std::chrono_literals;

// Flips a byte of every cell it sends while `tamper` is set; otherwise passes everything on.
class TamperingLinks final : public transport::LinkLayer {
 public:
  explicit TamperingLinks(transport::LinkLayer& inner) : inner_(inner) {}
  void set_events(transport::LinkEvents* events) override { inner_.set_events(events); }
  core::Status connect(const transport::PeerContact& c, transport::ConnectOptions o) override {
    return inner_.connect(c, o);
  }
  core::Status send(const core::RouterHash& peer, transport::BlockType type, core::ByteView body) override {
    return inner_.send(peer, type, maybe_tamper(type, body));
  }
  core::Status send_to(const transport::PeerContact& c, transport::BlockType type, core::ByteView body) override {
    return inner_.send_to(c, type, maybe_tamper(type, body));
  }
  void disconnect(const core::RouterHash& peer) override { inner_.disconnect(peer); }
  std::vector<transport::LinkInfo> links() const override { return inner_.links(); }
  bool tamper = false;

 private:
  core::ByteView maybe_tamper(transport::BlockType type, core::ByteView body) {
    if (!tamper || type != transport::BlockType::kCell) return body;
    scratch_.assign(body.begin(), body.end());
    scratch_[100] ^= 0x01;
    return scratch_;
  }
  transport::LinkLayer& inner_;
  core::Bytes scratch_;
};

struct World;

// One node: its link layer (maybe tampering), its manager, and the test's view of its peers.
struct Node final : TunnelPeers, transport::LinkEvents {
  World* world = nullptr;
  core::Identity identity = core::Identity::generate();
  transport::SimLinkLayer* sim = nullptr;
  std::unique_ptr<TamperingLinks> links;
  std::unique_ptr<TunnelManager> manager;
  std::map<core::RouterHash, std::map<netdb::BuildOutcome, int>> outcomes;
  std::vector<core::Bytes> delivered;  // non-tunnel messages that came through our inbound tunnels

  std::optional<transport::PeerContact> contact_of(const core::RouterHash& router) override;
  std::vector<HopCandidate> hop_candidates() override;
  void on_build_outcome(const core::RouterHash& hop, netdb::BuildOutcome outcome) override {
    ++outcomes[hop][outcome];
  }
  void on_link_up(const transport::LinkInfo&) override {}
  void on_link_down(const core::RouterHash&, transport::CloseReason, const std::string&) override {}
  void on_block(const core::RouterHash& from, transport::BlockType type, core::ByteView body) override {
    if (type == transport::BlockType::kCell) return manager->on_cell(from, body);
    if (!body.empty() && body[0] == kTunnelService) manager->on_message(from, body);
  }
};

struct World {
  core::SimRuntime rt;
  transport::SimNetwork net{rt, 42};
  std::vector<std::unique_ptr<Node>> nodes;
  std::set<core::RouterHash> unreachable;  // as the NetDB would see a dead peer after its probes

  explicit World(int n, TunnelManagerConfig config = {}, transport::SimLinkProps props = {.latency = 5ms}) {
    net.set_default_link(props);
    for (int i = 0; i < n; ++i) {
      auto node = std::make_unique<Node>();
      node->world = this;
      // 127.(10+i).0.1: every node in its own /16, as the hop rules want.
      node->sim = &net.add_node(node->identity, {.host = "127." + std::to_string(10 + i) + ".0.1"});
      node->links = std::make_unique<TamperingLinks>(*node->sim);
      node->links->set_events(node.get());
      node->manager = std::make_unique<TunnelManager>(rt, *node->links, node->identity, *node, config);
      node->manager->set_local_delivery([raw = node.get()](core::ByteView b, std::optional<PoolId>) { raw->delivered.emplace_back(b.begin(), b.end()); });
      nodes.push_back(std::move(node));
    }
  }
  Node* by_hash(const core::RouterHash& h) {
    for (auto& n : nodes) {
      if (n->identity.hash() == h) return n.get();
    }
    return nullptr;
  }
};

std::optional<transport::PeerContact> Node::contact_of(const core::RouterHash& router) {
  Node* n = world->by_hash(router);
  return n ? std::optional(n->sim->contact()) : std::nullopt;
}

std::vector<HopCandidate> Node::hop_candidates() {
  std::vector<HopCandidate> out;
  for (auto& n : world->nodes) {
    if (!world->unreachable.count(n->identity.hash())) out.push_back({n->identity.hash(), 0.5, n->sim->options().host, 1024});
  }
  return out;
}

void crypto_fill(BuildRecord& r) {
  core::crypto::random_bytes(r.layer_key);
  core::crypto::random_bytes(r.iv_key);
  core::crypto::random_bytes(r.reply_key);
  core::crypto::random_bytes(r.integrity_key);
}

TunnelManagerConfig quick_config() {
  TunnelManagerConfig c;
  c.test_interval = 30s;
  c.test_timeout = 5s;
  return c;
}

TEST(TunnelManager, BuildsItsPoolAndCarriesATestOutOneTunnelAndBackThroughAnother) {
  World w(12, quick_config());
  auto& owner = *w.nodes[0];
  owner.manager->start();
  w.rt.advance(2s);
  EXPECT_EQ(owner.manager->established(Direction::kOutbound), 2u);
  EXPECT_EQ(owner.manager->established(Direction::kInbound), 2u);
  for (const auto& t : owner.manager->tunnels()) {
    ASSERT_EQ(t.hops.size(), 3u);
    ASSERT_TRUE(t.build_latency.has_value());
    // 3 hops and the reply: a few link latencies of 5 ms, not seconds.
    EXPECT_LT(*t.build_latency, 100ms);
  }
  // Each hop's profile heard that it accepted.
  int accepted = 0;
  for (const auto& [hop, by] : owner.outcomes) accepted += by.count(netdb::BuildOutcome::kAccepted) ? by.at(netdb::BuildOutcome::kAccepted) : 0;
  EXPECT_EQ(accepted, 12);

  w.rt.advance(31s);
  EXPECT_GE(owner.manager->counters().tests_passed, 2u);
  EXPECT_EQ(owner.manager->counters().tests_failed, 0u);
  for (const auto& t : owner.manager->tunnels()) EXPECT_TRUE(t.latency.has_value());

  // A message out through an outbound tunnel into one of our own inbound tunnels.
  auto views = owner.manager->tunnels();
  const TunnelView* inbound = nullptr;
  for (const auto& t : views) {
    if (t.direction == Direction::kInbound) inbound = &t;
  }
  ASSERT_NE(inbound, nullptr);
  core::Bytes hello(5000, 0x42);
  hello[0] = 9;  // a service byte that is not the tunnel service
  ASSERT_TRUE(owner.manager->send_out(hello, inbound->hops[0].router, inbound->hops[0].receive_id).ok());
  w.rt.advance(1s);
  ASSERT_EQ(owner.delivered.size(), 1u);
  EXPECT_EQ(owner.delivered[0], hello);
}

TEST(TunnelManager, RotatesEveryPoolMakeBeforeBreakForThirtyMinutes) {
  World w(15, quick_config());
  auto& owner = *w.nodes[0];
  owner.manager->start();
  w.rt.advance(2s);
  std::size_t min_in = 99, min_out = 99;
  for (int s = 0; s < 30 * 60; ++s) {
    w.rt.advance(1s);
    min_in = std::min(min_in, owner.manager->established(Direction::kInbound));
    min_out = std::min(min_out, owner.manager->established(Direction::kOutbound));
  }
  EXPECT_GE(min_in, 2u) << "never fewer established inbound tunnels than the quantity";
  EXPECT_GE(min_out, 2u);
  // 2 + 2 tunnels, each living 10 min and replaced 90 s early: at least 3 rebuilds of each.
  EXPECT_GE(owner.manager->counters().builds_succeeded, 4u * 4u);
  EXPECT_EQ(owner.manager->counters().builds_timed_out, 0u);
  EXPECT_EQ(owner.manager->build_success_rate_since_start(), 1.0);
  for (const auto& t : owner.manager->tunnels()) EXPECT_GT(t.expires, w.rt.now());
}

TEST(TunnelManager, ABlackHoledMiddleHopIsReplacedWithinTwoTestIntervals) {
  World w(15, quick_config());
  auto& owner = *w.nodes[0];
  owner.manager->start();
  w.rt.advance(2s);
  auto views = owner.manager->tunnels();
  const auto victim_tunnel = std::find_if(views.begin(), views.end(), [](const auto& t) {
    return t.direction == Direction::kOutbound;
  });
  ASSERT_NE(victim_tunnel, views.end());
  const std::uint64_t victim_id = victim_tunnel->id;
  const auto middle = victim_tunnel->hops[1].router;
  w.net.blackhole(middle, true);
  w.unreachable.insert(middle);
  w.rt.advance(2 * 30s + 6s);  // two test intervals and a test timeout
  bool still_there = false;
  for (const auto& t : owner.manager->tunnels()) still_there = still_there || t.id == victim_id;
  EXPECT_FALSE(still_there) << "the tunnel through the dead hop was replaced";
  w.rt.advance(1s);
  EXPECT_EQ(owner.manager->established(Direction::kOutbound), 2u);
  EXPECT_GT(owner.outcomes[middle][netdb::BuildOutcome::kTimedOut], 0) << "its hops were charged";
}

TEST(TunnelManager, ASuspectedPoolIsTestedAtOnceAndItsBrokenTunnelReplacedWithinSeconds) {
  World w(15, quick_config());
  auto& owner = *w.nodes[0];
  owner.manager->start();
  w.rt.advance(2s);
  auto views = owner.manager->tunnels();
  const auto victim_tunnel = std::find_if(views.begin(), views.end(), [](const auto& t) {
    return t.direction == Direction::kOutbound;
  });
  ASSERT_NE(victim_tunnel, views.end());
  const std::uint64_t victim_id = victim_tunnel->id;
  const auto middle = victim_tunnel->hops[1].router;
  w.net.blackhole(middle, true);  // the NetDB does not know yet: no ban, still a candidate
  const auto sent = owner.manager->counters().tests_sent;
  owner.manager->suspect_pool(kExploratoryPool);
  owner.manager->suspect_pool(kExploratoryPool);  // again at once: its tests are still out
  EXPECT_EQ(owner.manager->counters().tests_sent, sent + 4) << "two rounds of two pairs, once";
  // The tests wait 8 build round trips (tens of ms here), at least min_test_timeout (2 s).
  w.rt.advance(2s + 500ms);
  bool still_there = false;
  for (const auto& t : owner.manager->tunnels()) still_there = still_there || t.id == victim_id;
  EXPECT_FALSE(still_there) << "replaced after one test timeout, not two test intervals";
  // Its successor avoids the hops of the tunnel that failed.
  w.rt.advance(1s);
  EXPECT_EQ(owner.manager->established(Direction::kOutbound), 2u);
  for (const auto& t : owner.manager->tunnels()) {
    for (const auto& h : t.hops) EXPECT_NE(h.router, middle) << "tunnel " << t.id << " goes through the dead hop";
  }
}

TEST(TunnelManager, ASuspectedHopLosesItsBuildsAndHasItsTunnelsTestedAtOnce) {
  World w(15, quick_config());
  auto& owner = *w.nodes[0];
  owner.manager->start();
  w.rt.advance(1ms);  // the first builds are out, none answered yet
  const auto building = owner.manager->tunnels();
  ASSERT_FALSE(building.empty());
  ASSERT_EQ(building.front().state, TunnelState::kBuilding);
  const auto gone = building.front().hops.at(1).router;
  w.net.kill(gone);  // the NetDB does not know yet: still a candidate
  owner.manager->suspect_hop(gone);
  for (const auto& t : owner.manager->tunnels()) {
    for (const auto& h : t.hops) EXPECT_NE(h.router, gone) << "the build through it is given up at once";
  }
  w.rt.advance(2s);  // rebuilt without it, well before the 10 s build timeout
  EXPECT_EQ(owner.manager->established(Direction::kOutbound), 2u);
  EXPECT_EQ(owner.manager->established(Direction::kInbound), 2u);
  for (const auto& t : owner.manager->tunnels()) {
    for (const auto& h : t.hops) EXPECT_NE(h.router, gone) << "tunnel " << t.id << " goes through the suspect";
  }

  // A hop of established tunnels: their pool is tested now, in two rounds.
  const auto hop = owner.manager->tunnels().front().hops.at(1).router;
  const auto sent = owner.manager->counters().tests_sent;
  owner.manager->suspect_hop(hop);
  EXPECT_EQ(owner.manager->counters().tests_sent, sent + 4);
  EXPECT_EQ(owner.manager->established(Direction::kOutbound), 2u) << "a live hop's tunnels are only tested";
}

TEST(TunnelManager, TunnelsThroughABannedPeerAreDroppedAndRebuiltElsewhere) {
  World w(15, quick_config());
  auto& owner = *w.nodes[0];
  owner.manager->start();
  w.rt.advance(2s);
  const auto views = owner.manager->tunnels();
  ASSERT_FALSE(views.empty());
  const auto banned = views.front().hops.at(0).router;
  std::size_t through = 0;
  for (const auto& t : views) {
    for (const auto& h : t.hops) through += h.router == banned;
  }
  w.unreachable.insert(banned);
  owner.manager->drop_tunnels_through(banned);
  EXPECT_EQ(owner.manager->tunnels().size(), views.size() - through);
  w.rt.advance(2s);
  EXPECT_EQ(owner.manager->established(Direction::kOutbound), 2u);
  EXPECT_EQ(owner.manager->established(Direction::kInbound), 2u);
  for (const auto& t : owner.manager->tunnels()) {
    for (const auto& h : t.hops) EXPECT_NE(h.router, banned);
  }
}

TEST(TunnelManager, TransitLimitRefusesBuildsAndTheOwnerGoesElsewhere) {
  TunnelManagerConfig config = quick_config();
  config.transit.max_transit = 0;
  World w(10, config);
  auto& owner = *w.nodes[0];
  owner.manager->start();
  w.rt.advance(5s);
  // Every hop refuses: nothing is established and each refusal is counted at the hops.
  EXPECT_EQ(owner.manager->established(Direction::kOutbound), 0u);
  EXPECT_GT(owner.manager->counters().builds_refused, 0u);
  std::uint64_t refused = 0;
  for (auto& n : w.nodes) refused += n->manager->counters().transit_refused;
  EXPECT_GT(refused, 0u);
  for (const auto& [hop, by] : owner.outcomes) EXPECT_EQ(by.count(netdb::BuildOutcome::kAccepted), 0u);
}

TEST(TunnelManager, TamperedCellsAreDroppedAtTheEndAndCounted) {
  World w(12, quick_config());
  auto& owner = *w.nodes[0];
  owner.manager->start();
  w.rt.advance(2s);
  ASSERT_EQ(owner.manager->established(Direction::kOutbound), 2u);
  // Every hop of every tunnel tampers from now on: the outer ends must refuse every cell.
  for (auto& n : w.nodes) n->links->tamper = n.get() != &owner;
  w.rt.advance(31s);
  std::uint64_t rejected = owner.manager->counters().cells_rejected;
  for (auto& n : w.nodes) rejected += n->manager->counters().cells_rejected;
  EXPECT_GT(rejected, 0u);
  EXPECT_EQ(owner.manager->counters().tests_passed, 0u) << "no tampered test message got through";
}

TEST(TunnelManager, CellsForUnknownTunnelsAreDroppedAndCounted) {
  World w(3, quick_config());
  core::Bytes cell(kCellSize, 0);
  cell[3] = 7;  // tunnel id 7: nobody's
  w.nodes[1]->manager->on_cell(w.nodes[0]->identity.hash(), cell);
  w.nodes[1]->manager->on_cell(w.nodes[0]->identity.hash(), core::Bytes(10, 0));
  EXPECT_EQ(w.nodes[1]->manager->counters().cells_unknown_tunnel, 1u);
  EXPECT_EQ(w.nodes[1]->manager->counters().malformed, 1u);
}

TEST(TunnelManager, ADestinationPoolKeepsItsOwnTunnelsAndLeases) {
  World w(12, quick_config());
  auto& owner = *w.nodes[0];
  EXPECT_FALSE(owner.manager->add_pool({.inbound_quantity = 7}).ok());
  EXPECT_FALSE(owner.manager->add_pool({.length = 8}).ok());
  EXPECT_FALSE(owner.manager->add_pool({.lifetime = 11min}).ok()) << "hops would refuse it";
  const auto added = owner.manager->add_pool({.inbound_quantity = 1, .outbound_quantity = 3, .length = 1});
  ASSERT_TRUE(added.ok());
  const PoolId pool = *added;
  owner.manager->start();
  w.rt.advance(2s);
  EXPECT_EQ(owner.manager->established(Direction::kInbound, pool), 1u);
  EXPECT_EQ(owner.manager->established(Direction::kOutbound, pool), 3u);
  EXPECT_EQ(owner.manager->established(Direction::kOutbound), 2u) << "the exploratory pool is apart";
  for (const auto& t : owner.manager->tunnels()) EXPECT_EQ(t.hops.size(), t.pool == pool ? 1u : 3u);
  const auto leases = owner.manager->inbound_leases(pool);
  ASSERT_EQ(leases.size(), 1u);
  // Someone else's outbound tunnel reaches the pool's inbound tunnel through its lease.
  auto& other = *w.nodes[5];
  other.manager->start();
  w.rt.advance(2s);
  core::Bytes hello = {9, 1, 2, 3};
  ASSERT_TRUE(other.manager->send_out(hello, leases[0].gateway, leases[0].tunnel).ok());
  w.rt.advance(1s);
  ASSERT_EQ(owner.delivered.size(), 1u);
  EXPECT_EQ(owner.delivered[0], hello);
  owner.manager->remove_pool(pool);
  EXPECT_EQ(owner.manager->established(Direction::kOutbound, pool), 0u);
  w.rt.advance(2s);
  EXPECT_EQ(owner.manager->established(Direction::kOutbound, pool), 0u) << "not rebuilt";
  EXPECT_TRUE(owner.manager->inbound_leases(pool).empty());
}

TEST(TunnelManager, ATransitBuildCannotTakeTheIdOfOurOwnInboundTunnel) {
  TunnelManagerConfig config = quick_config();
  config.exploratory.length = 0;  // our inbound tunnel is 0-hop: its id is our gateway id
  World w(3, config);
  auto& owner = *w.nodes[0];
  auto& attacker = *w.nodes[1];
  owner.manager->start();
  w.rt.advance(1s);
  const auto leases = owner.manager->inbound_leases(kExploratoryPool);
  ASSERT_FALSE(leases.empty());
  // The attacker asks us to be the gateway of "its" tunnel with our lease's id.
  HopPlan hop{owner.identity.hash(), owner.identity.static_keypair().public_key, {}};
  hop.record.role = HopRole::kInboundGateway;
  hop.record.receive_id = leases[0].tunnel;
  hop.record.next_id = 77;
  hop.record.next_router = attacker.identity.hash();
  hop.record.expiry = w.rt.wall_now() + 5min;
  crypto_fill(hop.record);
  auto prepared = prepare_build({hop});
  ASSERT_TRUE(attacker.sim->connect(owner.sim->contact()).ok());
  w.rt.advance(1s);
  ASSERT_TRUE(attacker.sim->send(owner.identity.hash(), transport::BlockType::kMessage,
                                 encode_tunnel_block(TunnelKind::kBuildRequest, leases[0].tunnel, prepared.slots))
                  .ok());
  w.rt.advance(1s);
  EXPECT_EQ(owner.manager->counters().transit_accepted, 0u);
  EXPECT_EQ(owner.manager->counters().transit_refused, 1u);
  // Messages for the lease still reach us, not the attacker.
  core::Bytes hello = {9, 9};
  ASSERT_TRUE(attacker.sim->send(owner.identity.hash(), transport::BlockType::kMessage,
                                 encode_tunnel_block(TunnelKind::kGatewayMessage, leases[0].tunnel, hello))
                  .ok());
  w.rt.advance(1s);
  ASSERT_EQ(owner.delivered.size(), 1u);
  EXPECT_EQ(owner.delivered[0], hello);
}

TEST(TunnelManager, TunnelTestsArrivingStraightOverALinkAreDropped) {
  World w(3, quick_config());
  const std::uint8_t body[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  w.nodes[0]->manager->on_message(w.nodes[1]->identity.hash(), encode_tunnel_block(TunnelKind::kTunnelTest, 0, body));
  EXPECT_EQ(w.nodes[0]->manager->counters().malformed, 1u);
  EXPECT_EQ(w.nodes[0]->manager->counters().tests_passed, 0u);
}

TEST(TunnelManager, ZeroHopPoolsUseDirectLinks) {
  TunnelManagerConfig config = quick_config();
  config.exploratory.length = 0;
  World w(2, config);
  auto& owner = *w.nodes[0];
  owner.manager->start();
  w.rt.advance(31s);
  EXPECT_EQ(owner.manager->established(Direction::kInbound), 2u);
  EXPECT_GE(owner.manager->counters().tests_passed, 2u);
}

}  // namespace
}  // namespace hop::tunnels
