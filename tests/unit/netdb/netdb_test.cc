// The NetDB service over an in-test mesh link layer: every node can reach every other, messages
// arrive after a fixed delay on the simulated clock. (The multi-node test over SimNetwork, with
// latency and failures, is in netdb_overlay_test.cc.)
#include "hop/netdb/netdb.h"

#include <gtest/gtest.h>

#include <map>

#include "hop/core/sim_runtime.h"
#include "hop/transport/errors.h"

namespace hop::netdb {
namespace {

using namespace std::chrono_literals;

class MeshNet;

// One node's view of the mesh.
class MeshLinks final : public transport::LinkLayer {
 public:
  MeshLinks(MeshNet& net, const core::Identity& id) : net_(net), id_(id) {}
  void set_events(transport::LinkEvents*) override {}
  core::Status connect(const transport::PeerContact&, transport::ConnectOptions) override { return {}; }
  core::Status send(const core::RouterHash& peer, transport::BlockType, core::ByteView body) override;
  core::Status send_to(const transport::PeerContact& c, transport::BlockType, core::ByteView body) override;
  void disconnect(const core::RouterHash&) override {}
  std::vector<transport::LinkInfo> links() const override { return {}; }
  std::set<core::RouterHash> linked;  // peers we have exchanged messages with

 private:
  MeshNet& net_;
  const core::Identity& id_;
};

struct MeshNode {
  MeshNode(MeshNet& net, core::SimRuntime& rt, bool floodfill, int index);
  core::Identity identity = core::Identity::generate();
  std::unique_ptr<MeshLinks> links;
  std::unique_ptr<NetDb> db;
  transport::PeerContact contact() const {
    transport::PeerContact c;
    c.host = "127." + std::to_string(index) + ".0.1";
    c.port = 7100;
    c.static_key = identity.static_keypair().public_key;
    return c;
  }
  int index;
  bool down = false;
};

class MeshNet {
 public:
  explicit MeshNet(core::SimRuntime& rt) : rt_(rt) {}
  MeshNode& add(bool floodfill) {
    nodes_.push_back(std::make_unique<MeshNode>(*this, rt_, floodfill, static_cast<int>(nodes_.size()) + 1));
    return *nodes_.back();
  }
  core::Status deliver(const core::RouterHash& from, MeshNode* to, core::ByteView body) {
    if (!to || to->down) return core::make_error(transport::Errc::kNoLink);
    core::Bytes copy(body.begin(), body.end());
    rt_.schedule(rt_.now() + 5ms, [from, to, copy] {
      if (!to->down) to->db->on_message(from, copy);
    });
    ++messages;
    return {};
  }
  MeshNode* by_hash(const core::RouterHash& h) {
    for (auto& n : nodes_) {
      if (n->identity.hash() == h) return n.get();
    }
    return nullptr;
  }
  MeshNode* by_static(const core::crypto::Key32& k) {
    for (auto& n : nodes_) {
      if (n->identity.static_keypair().public_key == k) return n.get();
    }
    return nullptr;
  }
  std::vector<std::unique_ptr<MeshNode>>& nodes() { return nodes_; }
  std::size_t messages = 0;

 private:
  core::SimRuntime& rt_;
  std::vector<std::unique_ptr<MeshNode>> nodes_;
};

core::Status MeshLinks::send(const core::RouterHash& peer, transport::BlockType, core::ByteView body) {
  if (!linked.count(peer)) return core::make_error(transport::Errc::kNoLink);
  return net_.deliver(id_.hash(), net_.by_hash(peer), body);
}

core::Status MeshLinks::send_to(const transport::PeerContact& c, transport::BlockType, core::ByteView body) {
  MeshNode* to = net_.by_static(c.static_key);
  if (to) {
    linked.insert(to->identity.hash());
    to->links->linked.insert(id_.hash());
  }
  return net_.deliver(id_.hash(), to, body);
}

MeshNode::MeshNode(MeshNet& net, core::SimRuntime& rt, bool floodfill, int i) : index(i) {
  links = std::make_unique<MeshLinks>(net, identity);
  db = std::make_unique<NetDb>(rt, *links, identity, NetDbConfig{.floodfill = floodfill});
  RouterInfo info;
  info.addresses = {{"tcp", contact().host, contact().port}};
  info.bandwidth_kbps = 1024;
  db->set_local_info(info);
}

class NetDbTest : public ::testing::Test {
 protected:
  core::SimRuntime rt;
  MeshNet net{rt};
};

TEST_F(NetDbTest, BootstrapFromAHostPortKeySeedFetchesItsRecord) {
  auto& a = net.add(false);
  auto& b = net.add(true);
  a.db->bootstrap_from(b.contact());
  rt.advance(1s);
  const auto* rec = a.db->find(b.identity.hash());
  ASSERT_NE(rec, nullptr);
  EXPECT_TRUE(rec->info.floodfill);
}

TEST_F(NetDbTest, PublishReachesTheFloodfillAndFloodsToTheOthers) {
  auto& f1 = net.add(true);
  auto& f2 = net.add(true);
  auto& f3 = net.add(true);
  auto& n = net.add(false);
  // The floodfills know each other; n knows only f1.
  for (auto* x : {&f1, &f2, &f3}) {
    for (auto* y : {&f1, &f2, &f3}) {
      if (x != y) {
        ASSERT_TRUE(x->db->add_record(y->db->find(y->identity.hash())->wire).ok());
      }
    }
  }
  ASSERT_TRUE(n.db->add_record(f1.db->find(f1.identity.hash())->wire).ok());
  n.db->start();
  rt.advance(1s);
  EXPECT_NE(f1.db->find(n.identity.hash()), nullptr);
  EXPECT_NE(f2.db->find(n.identity.hash()), nullptr) << "flooded";
  EXPECT_NE(f3.db->find(n.identity.hash()), nullptr) << "flooded";
  EXPECT_EQ(f1.db->counters().floods_sent, 2u);
}

TEST_F(NetDbTest, ALinkToAFloodfillRepublishesOurRecordOnce) {
  auto& f = net.add(true);
  auto& n = net.add(false);
  ASSERT_TRUE(n.db->add_record(f.db->find(f.identity.hash())->wire).ok());
  n.db->start();
  rt.advance(1s);
  const auto stores = f.db->counters().stores_received;
  ASSERT_GE(stores, 1u);
  // The floodfill restarts elsewhere and links to us again: three link-ups, one publish.
  for (int i = 0; i < 3; ++i) n.db->on_peer_linked(f.identity.hash());
  rt.advance(1s);
  EXPECT_EQ(f.db->counters().stores_received, stores + 1);
  n.db->on_peer_linked(n.identity.hash());  // not a floodfill we know: nothing
  rt.advance(1s);
  EXPECT_EQ(f.db->counters().stores_received, stores + 1);
}

TEST_F(NetDbTest, IterativeLookupFollowsCloserFloodfills) {
  auto& f1 = net.add(true);
  auto& f2 = net.add(true);
  auto& target = net.add(false);
  auto& seeker = net.add(false);
  // f1 knows f2 (not the target); f2 knows the target. The seeker knows only f1.
  ASSERT_TRUE(f1.db->add_record(f2.db->find(f2.identity.hash())->wire).ok());
  ASSERT_TRUE(f2.db->add_record(target.db->find(target.identity.hash())->wire).ok());
  ASSERT_TRUE(seeker.db->add_record(f1.db->find(f1.identity.hash())->wire).ok());
  const SignedRouterInfo* found = nullptr;
  bool done = false;
  seeker.db->lookup(target.identity.hash(), [&](const SignedRouterInfo* r) {
    found = r;
    done = true;
  });
  rt.advance(2s);
  ASSERT_TRUE(done);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->info.hash(), target.identity.hash());
  EXPECT_EQ(seeker.db->counters().lookups_found, 1u);
}

TEST_F(NetDbTest, LookupOfAnUnknownKeyFailsWithinTheTimeout) {
  auto& f1 = net.add(true);
  auto& seeker = net.add(false);
  ASSERT_TRUE(seeker.db->add_record(f1.db->find(f1.identity.hash())->wire).ok());
  core::RouterHash nobody;
  nobody.bytes.fill(0x42);
  bool done = false;
  const SignedRouterInfo* found = &*seeker.db->routers().front();
  seeker.db->lookup(nobody, [&](const SignedRouterInfo* r) {
    found = r;
    done = true;
  });
  rt.advance(NetDbConfig{}.lookup_timeout + 1s);
  ASSERT_TRUE(done);
  EXPECT_EQ(found, nullptr);
  EXPECT_EQ(seeker.db->counters().lookups_failed, 1u);
}

TEST_F(NetDbTest, UnresponsiveFloodfillTimesOutAndTheNextIsAsked) {
  auto& dead = net.add(true);
  auto& alive = net.add(true);
  auto& target = net.add(false);
  auto& seeker = net.add(false);
  ASSERT_TRUE(alive.db->add_record(target.db->find(target.identity.hash())->wire).ok());
  ASSERT_TRUE(seeker.db->add_record(dead.db->find(dead.identity.hash())->wire).ok());
  ASSERT_TRUE(seeker.db->add_record(alive.db->find(alive.identity.hash())->wire).ok());
  dead.down = true;
  const SignedRouterInfo* found = nullptr;
  seeker.db->lookup(target.identity.hash(), [&](const SignedRouterInfo* r) { found = r; });
  rt.advance(NetDbConfig{}.query_timeout * 2);
  ASSERT_NE(found, nullptr);
}

TEST_F(NetDbTest, ExplorationDiscoversEveryRouter) {
  std::vector<MeshNode*> floodfills = {&net.add(true), &net.add(true), &net.add(true)};
  std::vector<MeshNode*> others;
  for (int i = 0; i < 17; ++i) others.push_back(&net.add(false));
  // Floodfills are seeded with the next floodfill; every other node with one floodfill only.
  for (std::size_t i = 0; i < floodfills.size(); ++i) {
    floodfills[i]->db->bootstrap_from(floodfills[(i + 1) % floodfills.size()]->contact());
  }
  for (std::size_t i = 0; i < others.size(); ++i) others[i]->db->bootstrap_from(floodfills[i % 3]->contact());
  rt.advance(1s);
  for (auto& n : net.nodes()) n->db->start();
  rt.advance(10min);
  for (auto& n : net.nodes()) {
    EXPECT_EQ(n->db->size(), net.nodes().size()) << "node " << n->index << " knows " << n->db->size();
  }
}

TEST_F(NetDbTest, ForgedAndForeignRecordsAreRefusedAndCounted) {
  auto& a = net.add(false);
  auto& b = net.add(true);
  core::Bytes forged = b.db->find(b.identity.hash())->wire;
  forged[forged.size() - 1] ^= 1;
  EXPECT_FALSE(a.db->add_record(forged).ok());
  EXPECT_EQ(a.db->counters().refusals[Refusal::kBadSignature], 1u);
  EXPECT_EQ(a.db->find(b.identity.hash()), nullptr);
  // A store message carrying the forged record is refused too, and nothing is flooded.
  b.db->on_message(a.identity.hash(), encode_netdb_message(StoreMsg{b.identity.hash(), forged, true}));
  EXPECT_EQ(b.db->counters().stores_accepted, 0u);
  b.db->on_message(a.identity.hash(), core::Bytes{kNetDbService, 0x99});
  EXPECT_EQ(b.db->counters().malformed_messages, 1u);
}

TEST_F(NetDbTest, ANewerRecordReplacesAnOlderOneButNotTheReverse) {
  auto& a = net.add(false);
  auto& b = net.add(false);
  const core::Bytes old_wire = b.db->find(b.identity.hash())->wire;
  rt.advance(1min);
  RouterInfo info = b.db->find(b.identity.hash())->info;
  info.bandwidth_kbps = 4096;
  b.db->set_local_info(info);
  const core::Bytes new_wire = b.db->find(b.identity.hash())->wire;
  ASSERT_TRUE(a.db->add_record(new_wire).ok());
  ASSERT_TRUE(a.db->add_record(old_wire).ok());
  EXPECT_EQ(a.db->find(b.identity.hash())->info.bandwidth_kbps, 4096u);
}

}  // namespace
}  // namespace hop::netdb
