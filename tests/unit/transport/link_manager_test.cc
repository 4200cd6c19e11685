// The TCP link manager on real loopback sockets (port 0), bounded in time.
#include "hop/transport/link_manager.h"

#include <gtest/gtest.h>

#include <map>

#include "hop/core/asio_runtime.h"
#include "hop/transport/errors.h"
#include "hop/transport/handshake.h"
#include "support/loopback.h"

namespace hop::transport {
namespace {

using namespace std::chrono_literals;
using hop::test::RawPeer;
using hop::test::run_until;

struct Recorder final : LinkEvents {
  std::vector<LinkInfo> ups;
  std::vector<std::pair<core::RouterHash, CloseReason>> downs;
  std::vector<std::pair<PeerContact, CloseReason>> dial_failures;
  std::vector<std::pair<BlockType, core::Bytes>> blocks;

  void on_link_up(const LinkInfo& link) override { ups.push_back(link); }
  void on_link_down(const core::RouterHash& peer, CloseReason reason, const std::string&) override {
    downs.emplace_back(peer, reason);
  }
  void on_block(const core::RouterHash&, BlockType type, core::ByteView body) override {
    blocks.emplace_back(type, core::Bytes(body.begin(), body.end()));
  }
  void on_dial_failed(const PeerContact& c, CloseReason reason, const std::string&) override {
    dial_failures.emplace_back(c, reason);
  }
};

// A node: identity, link manager on 127.I.0.1 port 0, and an event recorder.
struct TestNode {
  TestNode(core::AsioRuntime& rt, int index, LinkManagerConfig config = {})
      : identity(core::Identity::generate()) {
    config.listen_host = "127." + std::to_string(index) + ".0.1";
    config.listen_port = 0;
    links = std::make_unique<LinkManager>(rt, identity, config);
    links->set_events(&events);
    auto st = links->start();
    EXPECT_TRUE(st.ok()) << st.error().message();
  }
  PeerContact contact() const { return links->local_contact(); }
  bool linked_to(const TestNode& other) const {
    for (const auto& l : links->links()) {
      if (l.peer == other.identity.hash()) return true;
    }
    return false;
  }

  core::Identity identity;
  Recorder events;
  std::unique_ptr<LinkManager> links;
};

class LinkManagerTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  core::AsioRuntime rt{io};

  LinkManagerConfig fast_config() {
    LinkManagerConfig c;
    c.link.handshake_timeout = 500ms;
    return c;
  }

  // Completes a real handshake by hand from a raw socket; returns the keys for forging frames.
  std::optional<TransportKeys> raw_handshake(RawPeer& raw, TestNode& server, const core::Identity& me) {
    auto hs = LinkHandshake::initiator(me, 1, server.identity.static_keypair().public_key);
    core::Bytes out;
    EXPECT_TRUE(hs.start(out).ok());
    raw.write(out);
    auto msg2 = raw.read_exactly(kLengthPrefixSize + kHandshake2Size);
    if (!msg2) return std::nullopt;
    out.clear();
    auto used = hs.consume(*msg2, out);
    if (!used || !hs.is_complete()) return std::nullopt;
    raw.write(out);
    auto outcome = hs.finish();
    if (!outcome) return std::nullopt;
    return std::move(outcome->keys);
  }
};

TEST_F(LinkManagerTest, TwoNodesLinkExchangeBlocksAndMeasureRtt) {
  TestNode a(rt, 1), b(rt, 2);
  ASSERT_TRUE(a.links->connect(b.contact()).ok());
  ASSERT_TRUE(run_until(io, [&] { return a.linked_to(b) && b.linked_to(a); }));
  ASSERT_EQ(a.events.ups.size(), 1u);
  EXPECT_EQ(a.events.ups[0].peer, b.identity.hash());
  EXPECT_EQ(a.events.ups[0].direction, LinkDirection::kOutbound);
  EXPECT_TRUE(a.events.ups[0].rtt.has_value());
  EXPECT_EQ(b.events.ups[0].direction, LinkDirection::kInbound);
  // Peers see the dialer's own loopback address, not 127.0.0.1.
  EXPECT_EQ(b.events.ups[0].remote_address.rfind("127.1.0.1:", 0), 0u) << b.events.ups[0].remote_address;

  core::Bytes big(60000, 0xab);
  ASSERT_TRUE(a.links->send(b.identity.hash(), BlockType::kMessage, core::as_bytes("hello")).ok());
  ASSERT_TRUE(a.links->send(b.identity.hash(), BlockType::kCell, big).ok());
  ASSERT_TRUE(run_until(io, [&] { return b.events.blocks.size() == 2; }));
  EXPECT_EQ(b.events.blocks[0].first, BlockType::kMessage);
  EXPECT_EQ(b.events.blocks[0].second, core::Bytes({'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(b.events.blocks[1].second, big);
}

TEST_F(LinkManagerTest, PingsUpdateRtt) {
  auto config = fast_config();
  config.link.ping_interval = 100ms;
  TestNode a(rt, 1, config), b(rt, 2, config);
  ASSERT_TRUE(a.links->connect(b.contact()).ok());
  ASSERT_TRUE(run_until(io, [&] { return a.linked_to(b); }));
  // After several ping intervals the link is still up (pongs arrive) and has an RTT.
  run_until(io, [] { return false; }, 600ms);
  ASSERT_TRUE(a.linked_to(b));
  EXPECT_TRUE(a.links->links()[0].rtt.has_value());
  EXPECT_GT(a.links->links()[0].bytes_in, 0u);
}

TEST_F(LinkManagerTest, WrongStaticKeyFailsTheHandshakeAndNoLinkForms) {
  TestNode a(rt, 1, fast_config()), b(rt, 2, fast_config());
  PeerContact wrong = b.contact();
  wrong.static_key = core::crypto::X25519Keypair::generate().public_key;
  wrong.hash.reset();
  ASSERT_TRUE(a.links->connect(wrong).ok());
  ASSERT_TRUE(run_until(io, [&] { return !a.events.dial_failures.empty(); }));
  EXPECT_TRUE(a.links->links().empty());
  EXPECT_TRUE(b.links->links().empty());
  EXPECT_TRUE(run_until(io, [&] { return b.links->counters().handshake_failures == 1; }));
  EXPECT_EQ(b.links->open_connections(), 0u);
}

TEST_F(LinkManagerTest, DifferentNetworkIdsNeverLink) {
  auto other = fast_config();
  other.link.network_id = 2;
  TestNode a(rt, 1, fast_config()), b(rt, 2, other);
  ASSERT_TRUE(a.links->connect(b.contact()).ok());
  ASSERT_TRUE(run_until(io, [&] { return !a.events.dial_failures.empty(); }));
  EXPECT_TRUE(a.links->links().empty());
  EXPECT_TRUE(b.links->links().empty());
}

TEST_F(LinkManagerTest, ExpectedRouterHashMismatchIsRefused) {
  TestNode a(rt, 1, fast_config()), b(rt, 2, fast_config());
  PeerContact c = b.contact();
  c.hash = core::Identity::generate().hash();
  ASSERT_TRUE(a.links->connect(c).ok());
  ASSERT_TRUE(run_until(io, [&] { return !a.events.dial_failures.empty(); }));
  EXPECT_EQ(a.events.dial_failures[0].second, CloseReason::kHandshakeFailed);
  EXPECT_TRUE(a.links->links().empty());
}

TEST_F(LinkManagerTest, RandomBytesCloseTheConnectionAndTheNodeCarriesOn) {
  TestNode server(rt, 1, fast_config()), good(rt, 2, fast_config());
  RawPeer raw(io);
  raw.connect(server.links->local_endpoint());
  core::Bytes junk(300);
  core::crypto::random_bytes(junk);
  junk[0] = 0;  // length prefix 0x00?? is not 48
  raw.write(junk);
  EXPECT_TRUE(raw.closed_by_peer());
  EXPECT_TRUE(run_until(io, [&] { return server.links->counters().handshake_failures == 1; }));
  // The node still links with a well-behaved peer.
  ASSERT_TRUE(good.links->connect(server.contact()).ok());
  EXPECT_TRUE(run_until(io, [&] { return good.linked_to(server); }));
}

TEST_F(LinkManagerTest, TruncatedHandshakeClosesAtTheTimeout) {
  TestNode server(rt, 1, fast_config());
  RawPeer raw(io);
  raw.connect(server.links->local_endpoint());
  auto me = core::Identity::generate();
  auto hs = LinkHandshake::initiator(me, 1, server.identity.static_keypair().public_key);
  core::Bytes msg1;
  ASSERT_TRUE(hs.start(msg1).ok());
  msg1.resize(20);  // half a message, then silence
  raw.write(msg1);
  EXPECT_TRUE(raw.closed_by_peer(3s));
  EXPECT_EQ(server.links->counters().handshake_timeouts, 1u);
}

TEST_F(LinkManagerTest, SilentConnectionIsClosedAtTheHandshakeTimeout) {
  TestNode server(rt, 1, fast_config());
  RawPeer raw(io);
  raw.connect(server.links->local_endpoint());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(raw.closed_by_peer(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms);  // not before the timeout
  EXPECT_EQ(server.links->counters().handshake_timeouts, 1u);
  EXPECT_EQ(server.links->open_connections(), 0u);
}

TEST_F(LinkManagerTest, OversizedLengthPrefixClosesBeforeReadingTheBody) {
  TestNode server(rt, 1, fast_config());
  RawPeer raw(io);
  raw.connect(server.links->local_endpoint());
  const core::Bytes prefix = {0xff, 0xff};  // claims 65535 bytes; message 1 is 48
  raw.write(prefix);
  // Closed right away (well before the 500 ms handshake timeout), with nothing more sent.
  EXPECT_TRUE(raw.closed_by_peer(300ms));
  EXPECT_EQ(server.links->counters().handshake_failures, 1u);
  EXPECT_EQ(server.links->counters().handshake_timeouts, 0u);
}

TEST_F(LinkManagerTest, TamperedFrameClosesTheLink) {
  TestNode server(rt, 1, fast_config());
  RawPeer raw(io);
  raw.connect(server.links->local_endpoint());
  auto me = core::Identity::generate();
  auto keys = raw_handshake(raw, server, me);
  ASSERT_TRUE(keys.has_value());
  ASSERT_TRUE(run_until(io, [&] { return server.events.ups.size() == 1; }));
  FrameWriter writer(std::move(keys->send));
  ASSERT_TRUE(writer.add_block(BlockType::kMessage, core::as_bytes("genuine")).ok());
  ASSERT_TRUE(writer.flush().ok());
  core::Bytes frame;
  writer.take_sealed(frame);
  frame[5] ^= 0x01;
  raw.write(frame);
  EXPECT_TRUE(raw.closed_by_peer());
  ASSERT_TRUE(run_until(io, [&] { return server.events.downs.size() == 1; }));
  EXPECT_EQ(server.events.downs[0].second, CloseReason::kProtocolError);
  EXPECT_TRUE(server.events.blocks.empty());
  EXPECT_EQ(server.links->counters().protocol_errors, 1u);
}

TEST_F(LinkManagerTest, ReplayedFrameClosesTheLink) {
  TestNode server(rt, 1, fast_config());
  RawPeer raw(io);
  raw.connect(server.links->local_endpoint());
  auto me = core::Identity::generate();
  auto keys = raw_handshake(raw, server, me);
  ASSERT_TRUE(keys.has_value());
  FrameWriter writer(std::move(keys->send));
  ASSERT_TRUE(writer.add_block(BlockType::kMessage, core::as_bytes("once")).ok());
  ASSERT_TRUE(writer.flush().ok());
  core::Bytes frame;
  writer.take_sealed(frame);
  raw.write(frame);
  ASSERT_TRUE(run_until(io, [&] { return server.events.blocks.size() == 1; }));
  raw.write(frame);  // the same frame again: its nonce is spent
  EXPECT_TRUE(raw.closed_by_peer());
  ASSERT_TRUE(run_until(io, [&] { return server.events.downs.size() == 1; }));
  EXPECT_EQ(server.events.downs[0].second, CloseReason::kProtocolError);
  EXPECT_EQ(server.events.blocks.size(), 1u);
}

TEST_F(LinkManagerTest, HardLimitRefusesNewInboundAndKeepsExistingLinks) {
  auto config = fast_config();
  config.limits = {.hard = 2, .soft = 2};
  TestNode server(rt, 1, config), a(rt, 2), b(rt, 3);
  ASSERT_TRUE(a.links->connect(server.contact()).ok());
  ASSERT_TRUE(b.links->connect(server.contact()).ok());
  ASSERT_TRUE(run_until(io, [&] { return server.links->links().size() == 2; }));

  RawPeer raw(io);
  raw.connect(server.links->local_endpoint());
  EXPECT_TRUE(raw.closed_by_peer(1s));
  EXPECT_EQ(server.links->counters().inbound_refused_limit, 1u);
  // Existing links still carry traffic.
  ASSERT_TRUE(a.links->send(server.identity.hash(), BlockType::kMessage, core::as_bytes("still here")).ok());
  EXPECT_TRUE(run_until(io, [&] { return server.events.blocks.size() == 1; }));
  EXPECT_EQ(server.links->links().size(), 2u);
}

TEST_F(LinkManagerTest, SoftLimitStopsDialingAndEvictsTheIdlest) {
  auto config = fast_config();
  config.limits = {.hard = 10, .soft = 1};
  TestNode hub(rt, 1, config), a(rt, 2), b(rt, 3);
  ASSERT_TRUE(a.links->connect(hub.contact()).ok());
  ASSERT_TRUE(run_until(io, [&] { return hub.links->links().size() == 1; }));
  // At the soft limit the hub dials no one.
  auto st = hub.links->connect(b.contact());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::kLinkLimit);
  // An inbound link beyond the soft limit is accepted; then the idlest one is evicted.
  ASSERT_TRUE(a.links->send(hub.identity.hash(), BlockType::kMessage, core::as_bytes("x")).ok());
  ASSERT_TRUE(run_until(io, [&] { return hub.events.blocks.size() == 1; }));
  ASSERT_TRUE(b.links->connect(hub.contact()).ok());
  ASSERT_TRUE(run_until(io, [&] { return hub.links->counters().evicted == 1; }));
  EXPECT_TRUE(run_until(io, [&] { return hub.links->links().size() == 1; }));
}

TEST_F(LinkManagerTest, IdleLinksCloseButPersistentOnesStay) {
  auto config = fast_config();
  config.link.idle_timeout = 300ms;
  // Persistence is a local choice: only `a` has the short timeout, so only `a` decides.
  TestNode a(rt, 1, config), b(rt, 2, fast_config()), c(rt, 3, fast_config());
  ASSERT_TRUE(a.links->connect(b.contact()).ok());
  ASSERT_TRUE(a.links->connect(c.contact(), {.persistent = true}).ok());
  ASSERT_TRUE(run_until(io, [&] { return a.links->links().size() == 2; }));
  ASSERT_TRUE(run_until(io, [&] { return a.events.downs.size() == 1; }, 3s));
  EXPECT_EQ(a.events.downs[0].first, b.identity.hash());
  EXPECT_EQ(a.events.downs[0].second, CloseReason::kIdle);
  EXPECT_TRUE(a.linked_to(c));
}

TEST_F(LinkManagerTest, SimultaneousDialsLeaveOneLinkOnEachSide) {
  TestNode a(rt, 1), b(rt, 2);
  ASSERT_TRUE(a.links->connect(b.contact()).ok());
  ASSERT_TRUE(b.links->connect(a.contact()).ok());
  ASSERT_TRUE(run_until(io, [&] { return a.linked_to(b) && b.linked_to(a); }));
  run_until(io, [] { return false; }, 200ms);
  EXPECT_EQ(a.links->links().size(), 1u);
  EXPECT_EQ(b.links->links().size(), 1u);
  EXPECT_EQ(a.links->open_connections(), 1u);
  EXPECT_EQ(b.links->open_connections(), 1u);
  // The surviving link works both ways.
  ASSERT_TRUE(a.links->send(b.identity.hash(), BlockType::kMessage, core::as_bytes("ab")).ok());
  ASSERT_TRUE(b.links->send(a.identity.hash(), BlockType::kMessage, core::as_bytes("ba")).ok());
  EXPECT_TRUE(run_until(io, [&] { return a.events.blocks.size() == 1 && b.events.blocks.size() == 1; }));
}

TEST_F(LinkManagerTest, SendToDialsOnDemandAndDeliversQueuedBlocks) {
  TestNode a(rt, 1), b(rt, 2);
  EXPECT_EQ(a.links->send(b.identity.hash(), BlockType::kMessage, core::as_bytes("x")).error().code,
            Errc::kNoLink);
  ASSERT_TRUE(a.links->send_to(b.contact(), BlockType::kMessage, core::as_bytes("first")).ok());
  ASSERT_TRUE(a.links->send_to(b.contact(), BlockType::kMessage, core::as_bytes("second")).ok());
  ASSERT_TRUE(run_until(io, [&] { return b.events.blocks.size() == 2; }));
  EXPECT_EQ(b.events.blocks[0].second, core::Bytes({'f', 'i', 'r', 's', 't'}));
  EXPECT_EQ(a.links->open_connections(), 1u);
}

TEST_F(LinkManagerTest, SendToDoesNotRedialAPeerWhoseDialJustFailed) {
  TestNode a(rt, 1);
  PeerContact dead;
  {
    TestNode gone(rt, 2);
    dead = gone.contact();
  }  // its listener is closed: dials are refused
  ASSERT_TRUE(a.links->send_to(dead, BlockType::kCell, core::as_bytes("cell 1")).ok());
  ASSERT_TRUE(run_until(io, [&] { return a.events.dial_failures.size() == 1; }));
  // Every further cell for that dead next hop is refused at once instead of dialing again.
  for (int i = 0; i < 50; ++i) {
    auto st = a.links->send_to(dead, BlockType::kCell, core::as_bytes("cell"));
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, Errc::kNoLink);
  }
  run_until(io, [] { return false; }, 200ms);
  EXPECT_EQ(a.events.dial_failures.size(), 1u);
  EXPECT_EQ(a.links->counters().dial_failures, 1u);
  // An explicit connect (the prober's, a seed's) is not held back.
  ASSERT_TRUE(a.links->connect(dead, {}).ok());
  ASSERT_TRUE(run_until(io, [&] { return a.events.dial_failures.size() == 2; }));
}

TEST_F(LinkManagerTest, RefusesToDialItself) {
  TestNode a(rt, 1);
  EXPECT_EQ(a.links->connect(a.contact()).error().code, Errc::kSelfDial);
}

TEST_F(LinkManagerTest, StopReportsEveryLinkDownAndTellsPeers) {
  TestNode a(rt, 1), b(rt, 2);
  ASSERT_TRUE(a.links->connect(b.contact()).ok());
  ASSERT_TRUE(run_until(io, [&] { return a.linked_to(b) && b.linked_to(a); }));
  a.links->stop();
  EXPECT_EQ(a.events.downs.size(), 1u);
  ASSERT_TRUE(run_until(io, [&] { return b.events.downs.size() == 1; }));
  EXPECT_EQ(b.events.downs[0].second, CloseReason::kPeerClosed);
}

}  // namespace
}  // namespace hop::transport
