// Two sans-I/O LinkConnections wired back to back: no sockets, time passed in by the test.
#include "hop/transport/link_connection.h"

#include <gtest/gtest.h>

#include "hop/transport/errors.h"
#include "hop/transport/link_control.h"

namespace hop::transport {
namespace {

using namespace std::chrono_literals;

struct Handler final : LinkConnection::Handler {
  void on_established() override { ++established; }
  void on_block(BlockType type, core::ByteView body) override { blocks.emplace_back(type, core::Bytes(body.begin(), body.end())); }
  int established = 0;
  std::vector<std::pair<BlockType, core::Bytes>> blocks;
};

class LinkPair : public ::testing::Test {
 protected:
  LinkPair()
      : client(LinkConnection::outbound(client_id, settings, contact(), t0)),
        server(LinkConnection::inbound(server_id, settings, t0)) {}

  PeerContact contact() {
    PeerContact c;
    c.host = "127.2.0.1";
    c.port = 1;
    c.static_key = server_id.static_keypair().public_key;
    return c;
  }

  // Moves bytes both ways until quiet; returns the first error either side reported.
  core::Status pump(core::TimePoint now) {
    for (int i = 0; i < 8; ++i) {
      for (auto [from, to, handler, inbox] : {std::tuple{&client, &server, &server_events, &to_server},
                                              std::tuple{&server, &client, &client_events, &to_client}}) {
        if (auto st = from->flush(); !st) return st;
        core::Bytes out;
        from->take_output(out);
        inbox->insert(inbox->end(), out.begin(), out.end());
        auto used = to->on_receive(*inbox, now, *handler);
        if (!used) return used.error();
        inbox->erase(inbox->begin(), inbox->begin() + static_cast<std::ptrdiff_t>(*used));
      }
    }
    return {};
  }

  core::Status establish() {
    if (auto st = client.start(t0); !st) return st;
    return pump(t0 + 5ms);
  }

  LinkSettings settings{.handshake_timeout = 10s, .idle_timeout = 5min, .ping_interval = 30s,
                        .ping_timeout = 20s, .max_queued_bytes = 100'000};
  core::TimePoint t0 = core::TimePoint(1h);
  core::Identity client_id = core::Identity::generate();
  core::Identity server_id = core::Identity::generate();
  LinkConnection client;
  LinkConnection server;
  Handler client_events, server_events;
  core::Bytes to_server, to_client;
};

TEST_F(LinkPair, EstablishesWithRttAndPeerIdentities) {
  ASSERT_TRUE(establish().ok());
  EXPECT_EQ(client_events.established, 1);
  EXPECT_EQ(server_events.established, 1);
  EXPECT_EQ(*client.peer(), server_id.hash());
  EXPECT_EQ(*server.peer(), client_id.hash());
  ASSERT_TRUE(client.rtt().has_value());
  EXPECT_EQ(*client.rtt(), 5ms) << "message 1 at t0, message 2 read at t0+5ms";
}

TEST_F(LinkPair, BlocksQueuedBeforeEstablishmentArriveAfter) {
  ASSERT_TRUE(client.send_block(BlockType::kMessage, core::as_bytes("early"), t0).ok());
  ASSERT_TRUE(establish().ok());
  ASSERT_EQ(server_events.blocks.size(), 1u);
  EXPECT_EQ(server_events.blocks[0].second, core::Bytes({'e', 'a', 'r', 'l', 'y'}));
}

TEST_F(LinkPair, BackpressureBeyondTheQueueLimit) {
  ASSERT_TRUE(establish().ok());
  ASSERT_TRUE(client.send_block(BlockType::kCell, core::Bytes(60'000), t0).ok());
  auto st = client.send_block(BlockType::kCell, core::Bytes(60'000), t0);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::kBackpressure);
}

TEST_F(LinkPair, HandshakeTimeoutOnlyBeforeEstablishment) {
  EXPECT_FALSE(server.on_tick(t0 + 9s).has_value());
  auto cause = server.on_tick(t0 + 10s);
  ASSERT_TRUE(cause.has_value());
  EXPECT_EQ(cause->reason, CloseReason::kHandshakeTimeout);
}

TEST_F(LinkPair, PingsMeasureRttAndUnansweredPingsClose) {
  ASSERT_TRUE(establish().ok());
  const auto t1 = t0 + 5ms + 30s;
  EXPECT_FALSE(client.on_tick(t1).has_value());  // sends a ping
  ASSERT_TRUE(pump(t1 + 40ms).ok());
  EXPECT_EQ(*client.rtt(), (std::chrono::nanoseconds(5ms) * 7 + 40ms) / 8) << "smoothed: 7/8 old + 1/8 new";
  // Next ping is never answered.
  const auto t2 = t1 + 30s + 1s;
  EXPECT_FALSE(client.on_tick(t2).has_value());
  EXPECT_FALSE(client.on_tick(t2 + 19s).has_value());
  auto cause = client.on_tick(t2 + 20s);
  ASSERT_TRUE(cause.has_value());
  EXPECT_EQ(cause->reason, CloseReason::kUnresponsive);
}

TEST_F(LinkPair, IdleLinksCloseUnlessPersistent) {
  ASSERT_TRUE(establish().ok());
  settings.idle_timeout = 5min;
  // Keep pings answered so only idleness matters.
  core::TimePoint now = t0;
  std::optional<CloseCause> cause;
  server.set_persistent(true);
  for (int i = 0; i < 12 && !cause; ++i) {
    now += 30s;
    cause = client.on_tick(now);
    EXPECT_FALSE(server.on_tick(now).has_value());
    ASSERT_TRUE(pump(now).ok());
  }
  ASSERT_TRUE(cause.has_value());
  EXPECT_EQ(cause->reason, CloseReason::kIdle);
}

TEST_F(LinkPair, CloseTellsThePeerWhy) {
  ASSERT_TRUE(establish().ok());
  client.send_close(CloseReason::kEvicted, "too many links");
  auto st = pump(t0 + 1s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(close_reason_for(st.error()), CloseReason::kPeerClosed);
  EXPECT_NE(st.error().message().find("evicted"), std::string::npos) << st.error().message();
  EXPECT_EQ(server.close_reason(st.error()), CloseReason::kEvicted) << "the peer decided: not lost";
  EXPECT_FALSE(is_lost(server.close_reason(st.error())));
}

TEST_F(LinkPair, APeerShuttingDownIsLost) {
  ASSERT_TRUE(establish().ok());
  client.send_close(CloseReason::kLocal, "shutting down");
  auto st = pump(t0 + 1s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(server.close_reason(st.error()), CloseReason::kPeerClosed);
  EXPECT_TRUE(is_lost(server.close_reason(st.error()))) << "it may be restarting: its tunnels are gone";
}

TEST(LinkControl, ACloseDetailCutInsideAUtf8CharacterStillParses) {
  std::string detail(199, 'x');
  detail += "\xc3\xa9";  // 'é' straddles the 200-byte cut
  auto decoded = decode_link_control(encode_link_control(CloseMsg{7, detail}));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(std::get<CloseMsg>(*decoded).detail.size(), kMaxCloseDetail);
}

TEST_F(LinkPair, TamperedFrameIsAProtocolError) {
  ASSERT_TRUE(establish().ok());
  ASSERT_TRUE(client.send_block(BlockType::kMessage, core::as_bytes("hello"), t0).ok());
  ASSERT_TRUE(client.flush().ok());
  core::Bytes out;
  client.take_output(out);
  out[out.size() - 1] ^= 1;
  auto used = server.on_receive(out, t0, server_events);
  ASSERT_FALSE(used.ok());
  EXPECT_EQ(close_reason_for(used.error()), CloseReason::kProtocolError);
  EXPECT_TRUE(server_events.blocks.empty());
}

}  // namespace
}  // namespace hop::transport
