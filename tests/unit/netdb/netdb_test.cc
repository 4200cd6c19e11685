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
  MeshNode(MeshNet& net, core::SimRuntime& rt, NetDbConfig config, int index);
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
  MeshNode& add(bool floodfill) { return add(NetDbConfig{.floodfill = floodfill}); }
  MeshNode& add(NetDbConfig config) {
    nodes_.push_back(std::make_unique<MeshNode>(*this, rt_, config, static_cast<int>(nodes_.size()) + 1));
    return *nodes_.back();
  }
  core::Status deliver(const core::RouterHash& from, MeshNode* to, core::ByteView body) {
    if (!to || to->down) return core::make_error(transport::Errc::kNoLink);
    core::Bytes copy(body.begin(), body.end());
    if (tap) tap(from, *to, copy);
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
  // Sees (and may rewrite) every message before it is delivered.
  std::function<void(const core::RouterHash& from, MeshNode& to, core::Bytes& body)> tap;

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

MeshNode::MeshNode(MeshNet& net, core::SimRuntime& rt, NetDbConfig config, int i) : index(i) {
  links = std::make_unique<MeshLinks>(net, identity);
  db = std::make_unique<NetDb>(rt, *links, identity, config);
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

// LeaseSets in the DHT. Three started floodfills that know each other; K = 3.
class NetDbLeaseSetTest : public NetDbTest {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) ff.push_back(&net.add(true));
    for (auto* x : ff) {
      for (auto* y : ff) {
        if (x != y) know(*x, *y);
      }
    }
    for (auto* x : ff) x->db->start();
    rt.advance(1s);
  }
  static void know(MeshNode& n, MeshNode& other) {
    ASSERT_TRUE(n.db->add_record(other.db->find(other.identity.hash())->wire).ok());
  }
  // A LeaseSet of `d` with one lease, published now and live for `lifetime`.
  SignedLeaseSet sign(const Destination& d, std::uint32_t tunnel_id = 1, core::Duration lifetime = 10min) {
    core::RouterHash gateway;
    gateway.bytes.fill(0x07);
    const auto now = rt.wall_now();
    auto signed_set = sign_lease_set(d, {Lease{gateway, tunnel_id, now + lifetime}}, now);
    EXPECT_TRUE(signed_set.ok());
    return *signed_set;
  }
  static core::Bytes store(const SignedLeaseSet& s, bool flood) {
    return encode_netdb_message(StoreMsg{dht_key(s.lease_set.hash()), s.wire, flood, RecordKind::kLeaseSet});
  }
  // The owner has published `d`'s LeaseSet at ff[0] only (ff[0] floods it to the others).
  MeshNode& publish_at_floodfills(const Destination& d) {
    auto& owner = net.add(false);
    know(owner, *ff[0]);
    owner.db->start();
    owner.db->publish_lease_set(sign(d));
    rt.advance(1s);
    return owner;
  }
  std::vector<MeshNode*> ff;
};

TEST_F(NetDbLeaseSetTest, APublishedLeaseSetIsFoundThroughTheFloodfillsByANodeThatNeverLinkedToItsOwner) {
  const auto dest = Destination::generate();
  auto& owner = publish_at_floodfills(dest);
  for (auto* f : ff) {
    EXPECT_NE(f->db->find_lease_set(dest.hash()), nullptr) << "node " << f->index;
    EXPECT_EQ(f->db->counters().lease_set_stores_accepted, 1u) << "node " << f->index;
  }
  EXPECT_FALSE(owner.links->linked.count(ff[1]->identity.hash())) << "ff[1] and ff[2] have it by flood";
  EXPECT_FALSE(owner.links->linked.count(ff[2]->identity.hash()));
  auto& seeker = net.add(false);
  know(seeker, *ff[1]);
  std::optional<DestinationHash> found;
  bool done = false;
  seeker.db->lookup_lease_set(dest.hash(), [&](const SignedLeaseSet* s) {
    done = true;
    if (s) found = s->lease_set.hash();
  });
  rt.advance(2s);
  ASSERT_TRUE(done);
  EXPECT_EQ(found, dest.hash());
  EXPECT_EQ(seeker.db->counters().lease_set_lookups_started, 1u);
  EXPECT_EQ(seeker.db->counters().lease_set_lookups_found, 1u);
  EXPECT_FALSE(seeker.links->linked.count(owner.identity.hash()));
  EXPECT_FALSE(owner.links->linked.count(seeker.identity.hash()));
}

TEST_F(NetDbLeaseSetTest, ACachedLeaseSetIsAnsweredAtOnceWithoutTraffic) {
  const auto dest = Destination::generate();
  publish_at_floodfills(dest);
  auto& seeker = net.add(false);
  know(seeker, *ff[0]);
  seeker.db->lookup_lease_set(dest.hash(), [](const SignedLeaseSet*) {});
  rt.advance(2s);
  ASSERT_NE(seeker.db->find_lease_set(dest.hash()), nullptr) << "cached";
  const auto messages = net.messages;
  const SignedLeaseSet* found = nullptr;
  seeker.db->lookup_lease_set(dest.hash(), [&](const SignedLeaseSet* s) { found = s; });
  ASSERT_NE(found, nullptr) << "before lookup_lease_set returned";
  EXPECT_EQ(found->lease_set.hash(), dest.hash());
  EXPECT_EQ(net.messages, messages);
  EXPECT_EQ(seeker.db->counters().lease_set_lookups_started, 1u);
  ASSERT_EQ(seeker.db->lease_sets().size(), 1u);
  EXPECT_FALSE(seeker.db->lease_sets().front().local);
}

TEST_F(NetDbLeaseSetTest, ARefreshAsksTheFloodfillsDespiteAHeldLeaseSetAndKeepsTheNewest) {
  const auto dest = Destination::generate();
  auto& owner = publish_at_floodfills(dest);  // tunnel 1
  auto& seeker = net.add(false);
  know(seeker, *ff[0]);
  seeker.db->lookup_lease_set(dest.hash(), [](const SignedLeaseSet*) {});
  rt.advance(2s);
  ASSERT_NE(seeker.db->find_lease_set(dest.hash()), nullptr);
  // The owner's tunnels changed; the seeker missed the push.
  rt.advance(1min);
  owner.db->publish_lease_set(sign(dest, 2));
  rt.advance(1s);
  std::optional<std::uint32_t> held_answer;
  seeker.db->lookup_lease_set(dest.hash(), [&](const SignedLeaseSet* s) { held_answer = s->lease_set.leases.front().tunnel_id; });
  EXPECT_EQ(held_answer, 1u) << "kHeldFirst answers from what it holds";
  std::optional<std::uint32_t> refreshed;
  seeker.db->lookup_lease_set(
      dest.hash(), [&](const SignedLeaseSet* s) { refreshed = s ? s->lease_set.leases.front().tunnel_id : 0; },
      NetDb::LeaseSetLookup::kRefresh);
  EXPECT_FALSE(refreshed.has_value()) << "asked the floodfills";
  rt.advance(2s);
  EXPECT_EQ(refreshed, 2u);
  EXPECT_EQ(seeker.db->find_lease_set(dest.hash())->lease_set.leases.front().tunnel_id, 2u);
  // A refresh that finds nothing newer (nor anything: the floodfills lost it) answers the held one.
  for (auto* f : ff) f->db->withdraw_lease_set(dest.hash());
  std::optional<std::uint32_t> fallback;
  seeker.db->lookup_lease_set(
      dest.hash(), [&](const SignedLeaseSet* s) { fallback = s ? s->lease_set.leases.front().tunnel_id : 0; },
      NetDb::LeaseSetLookup::kRefresh);
  rt.advance(1min);
  EXPECT_EQ(fallback, 2u);
}

TEST_F(NetDbLeaseSetTest, LookupsOfAnUnknownDestinationJoinAndFailAtTheLookupTimeout) {
  // One floodfill that never answers, and a query timeout longer than the lookup's.
  auto& seeker = net.add(NetDbConfig{.query_timeout = 30s, .lookup_timeout = 4s});
  know(seeker, *ff[0]);
  ff[0]->down = true;
  int calls = 0;
  const SignedLeaseSet* found = nullptr;
  const auto nobody = Destination::generate().hash();
  for (int i = 0; i < 2; ++i) {
    seeker.db->lookup_lease_set(nobody, [&](const SignedLeaseSet* s) {
      ++calls;
      found = s;
    });
  }
  EXPECT_EQ(seeker.db->counters().lease_set_lookups_started, 1u) << "the second joined the first";
  rt.advance(3900ms);
  EXPECT_EQ(calls, 0);
  rt.advance(500ms);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(found, nullptr);
  EXPECT_EQ(seeker.db->counters().lease_set_lookups_failed, 1u);
}

TEST_F(NetDbLeaseSetTest, AForgedLeaseSetInAStoreIsRefusedCountedAndNotFlooded) {
  auto& sender = net.add(false);
  const auto dest = Destination::generate();
  const auto genuine = sign(dest);
  SignedLeaseSet forged = genuine;
  forged.wire.back() ^= 1;  // the last byte is in the signature
  const auto stores = ff[1]->db->counters().stores_received;
  const auto floods = ff[0]->db->counters().floods_sent;
  ff[0]->db->on_message(sender.identity.hash(), store(forged, true));
  EXPECT_EQ(ff[0]->db->counters().lease_set_refusals[LeaseSetRefusal::kBadSignature], 1u);
  // A genuine set stored under another destination's key is refused too.
  const auto other = Destination::generate().hash();
  ff[0]->db->on_message(sender.identity.hash(),
                        encode_netdb_message(StoreMsg{dht_key(other), genuine.wire, true, RecordKind::kLeaseSet}));
  EXPECT_EQ(ff[0]->db->counters().lease_set_refusals[LeaseSetRefusal::kHashMismatch], 1u);
  rt.advance(1s);
  EXPECT_EQ(ff[0]->db->counters().lease_set_stores_accepted, 0u);
  EXPECT_EQ(ff[0]->db->counters().floods_sent, floods);
  EXPECT_EQ(ff[1]->db->counters().stores_received, stores);
  for (auto* f : ff) {
    EXPECT_EQ(f->db->find_lease_set(dest.hash()), nullptr);
    EXPECT_EQ(f->db->find_lease_set(other), nullptr);
    EXPECT_TRUE(f->db->lease_sets().empty());
  }
  // A node that is not a floodfill does not take stores of LeaseSets at all.
  sender.db->on_message(ff[0]->identity.hash(), store(genuine, true));
  EXPECT_EQ(sender.db->find_lease_set(dest.hash()), nullptr);
}

TEST_F(NetDbLeaseSetTest, AFloodfillAnsweringWithAnotherDestinationsLeaseSetIsRefused) {
  const auto wanted = Destination::generate();
  const auto other = Destination::generate();
  const auto other_set = sign(other);
  auto& seeker = net.add(false);
  know(seeker, *ff[0]);
  // ff[0] lies: every LeaseSet reply it sends carries `other`'s set.
  net.tap = [&](const core::RouterHash& from, MeshNode& to, core::Bytes& body) {
    if (from != ff[0]->identity.hash() || &to != &seeker) return;
    auto msg = decode_netdb_message(body);
    auto* reply = msg ? std::get_if<SearchReplyMsg>(&*msg) : nullptr;
    if (!reply || reply->kind != RecordKind::kLeaseSet) return;
    reply->found = other_set.wire;
    body = encode_netdb_message(*reply);
  };
  bool done = false;
  const SignedLeaseSet* found = nullptr;
  seeker.db->lookup_lease_set(wanted.hash(), [&](const SignedLeaseSet* s) {
    done = true;
    found = s;
  });
  rt.advance(NetDbConfig{}.lookup_timeout + 1s);
  ASSERT_TRUE(done);
  EXPECT_EQ(found, nullptr);
  EXPECT_GE(seeker.db->counters().lease_set_refusals[LeaseSetRefusal::kHashMismatch], 1u);
  EXPECT_EQ(seeker.db->find_lease_set(other.hash()), nullptr) << "not taken either";
  EXPECT_TRUE(seeker.db->lease_sets().empty());
}

TEST_F(NetDbLeaseSetTest, ExpiredLeaseSetsAreNotAnsweredAndArePurged) {
  const auto dest = Destination::generate();
  ASSERT_TRUE(ff[0]->db->add_lease_set(sign(dest, 1, 2min).wire).ok());
  ASSERT_NE(ff[0]->db->find_lease_set(dest.hash()), nullptr);
  rt.advance(2min);
  EXPECT_EQ(ff[0]->db->find_lease_set(dest.hash()), nullptr) << "expired";
  EXPECT_EQ(ff[0]->db->lease_sets().size(), 1u) << "not yet dropped: the lease-set timer does that";
  auto& seeker = net.add(false);
  know(seeker, *ff[0]);
  bool done = false;
  const SignedLeaseSet* found = nullptr;
  seeker.db->lookup_lease_set(dest.hash(), [&](const SignedLeaseSet* s) {
    done = true;
    found = s;
  });
  rt.advance(kLeaseSetRepublish);
  ASSERT_TRUE(done);
  EXPECT_EQ(found, nullptr) << "an expired set is not answered";
  EXPECT_TRUE(ff[0]->db->lease_sets().empty()) << "dropped by the lease-set timer";
}

TEST_F(NetDbLeaseSetTest, ANewerLeaseSetReplacesAnOlderOneButNotTheReverse) {
  const auto dest = Destination::generate();
  const auto older = sign(dest, 1);
  rt.advance(1min);
  const auto newer = sign(dest, 2);
  auto& n = net.add(false);
  ASSERT_TRUE(n.db->add_lease_set(older.wire, dest.hash()).ok());
  auto kept = n.db->add_lease_set(newer.wire);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ((*kept)->lease_set.leases.front().tunnel_id, 2u);
  kept = n.db->add_lease_set(older.wire);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ((*kept)->lease_set.leases.front().tunnel_id, 2u) << "the newer one is kept";
  EXPECT_EQ(n.db->find_lease_set(dest.hash())->lease_set.leases.front().tunnel_id, 2u);
  EXPECT_EQ(n.db->lease_sets().size(), 1u);
  EXPECT_FALSE(n.db->add_lease_set(newer.wire, Destination::generate().hash()).ok());
  // The same at a floodfill, through stores: the older one is not accepted (nor flooded).
  ff[0]->db->on_message(n.identity.hash(), store(newer, false));
  ff[0]->db->on_message(n.identity.hash(), store(older, false));
  EXPECT_EQ(ff[0]->db->counters().lease_set_stores_accepted, 1u);
  EXPECT_EQ(ff[0]->db->find_lease_set(dest.hash())->lease_set.leases.front().tunnel_id, 2u);
}

TEST_F(NetDbLeaseSetTest, ANodeAnswersForItsOwnLeaseSetsOnlyAndNotOnceWithdrawn) {
  const auto own = Destination::generate();
  const auto cached = Destination::generate();
  auto& n = net.add(false);
  auto& asker = net.add(false);
  know(n, asker);
  n.db->publish_lease_set(sign(own));
  ASSERT_TRUE(n.db->add_lease_set(sign(cached).wire).ok());
  std::vector<SearchReplyMsg> replies;
  net.tap = [&](const core::RouterHash&, MeshNode& to, core::Bytes& body) {
    auto msg = decode_netdb_message(body);
    if (&to == &asker && msg && std::holds_alternative<SearchReplyMsg>(*msg)) {
      replies.push_back(std::get<SearchReplyMsg>(*msg));
    }
  };
  auto ask = [&](const DestinationHash& d) {
    replies.clear();
    n.db->on_message(asker.identity.hash(),
                     encode_netdb_message(LookupMsg{dht_key(d), 5, false, {}, RecordKind::kLeaseSet}));
    rt.advance(1s);
  };
  ask(own.hash());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].kind, RecordKind::kLeaseSet);
  EXPECT_EQ(replies[0].found, n.db->find_lease_set(own.hash())->wire);
  ask(cached.hash());
  EXPECT_TRUE(replies.empty()) << "only floodfills answer for others";
  const auto held = n.db->lease_sets();
  EXPECT_EQ(held.size(), 2u);
  EXPECT_TRUE(held.front().local);

  n.db->withdraw_lease_set(own.hash());
  EXPECT_EQ(n.db->find_lease_set(own.hash()), nullptr);
  ask(own.hash());
  EXPECT_TRUE(replies.empty());
  EXPECT_EQ(n.db->lease_sets().size(), 1u);
}

TEST_F(NetDbLeaseSetTest, OurLeaseSetsAreRepublishedWhileLive) {
  auto& owner = net.add(false);
  for (auto* f : ff) know(owner, *f);
  int stored = 0;
  net.tap = [&](const core::RouterHash& from, MeshNode&, core::Bytes& body) {
    auto msg = decode_netdb_message(body);
    auto* s = msg ? std::get_if<StoreMsg>(&*msg) : nullptr;
    if (from == owner.identity.hash() && s && s->kind == RecordKind::kLeaseSet) ++stored;
  };
  owner.db->publish_lease_set(sign(Destination::generate(), 1, kMaxLeaseLifetime));  // not running: kept only
  EXPECT_EQ(stored, 0);
  owner.db->start();  // publishes at once (to K = 3 floodfills), then every kLeaseSetRepublish
  EXPECT_EQ(stored, 3);
  rt.advance(kLeaseSetRepublish);
  EXPECT_EQ(stored, 6);
  rt.advance(kLeaseSetRepublish);
  EXPECT_EQ(stored, 9);
  rt.advance(kLeaseSetRepublish * 2);
  EXPECT_EQ(stored, 9) << "expired: no longer published";
}

TEST_F(NetDbLeaseSetTest, TheNumberOfOthersLeaseSetsHeldIsBounded) {
  auto& f = net.add(NetDbConfig{.floodfill = true, .max_stored_lease_sets = 3});
  auto& sender = net.add(false);
  std::vector<Destination> dests;
  for (int i = 0; i < 4; ++i) dests.push_back(Destination::generate());
  for (const auto& d : dests) f.db->on_message(sender.identity.hash(), store(sign(d), false));
  EXPECT_EQ(f.db->counters().lease_set_stores_accepted, 3u);
  EXPECT_EQ(f.db->counters().lease_sets_refused_full, 1u);
  EXPECT_EQ(f.db->lease_sets().size(), 3u);
  EXPECT_EQ(f.db->find_lease_set(dests[3].hash()), nullptr);
  EXPECT_FALSE(f.db->add_lease_set(sign(dests[3]).wire).ok());
  // A newer set of one held still replaces it; our own do not count.
  rt.advance(1s);
  EXPECT_TRUE(f.db->add_lease_set(sign(dests[0], 9).wire).ok());
  f.db->publish_lease_set(sign(Destination::generate()));
  EXPECT_EQ(f.db->lease_sets().size(), 4u);
  EXPECT_EQ(f.db->counters().lease_sets_refused_full, 2u);
}

}  // namespace
}  // namespace hop::netdb
