#include "hop/tunnels/stream_mux.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "hop/tunnels/errors.h"
#include "stream_sim.h"

namespace hop::tunnels {
namespace {

using namespace std::chrono_literals;
using sim::ChannelConfig;
using sim::Driver;

constexpr core::TimePoint kNow = sim::kT0 + 1s;

StreamPacket data_packet(StreamId id, std::uint8_t flags) {
  StreamPacket p;
  p.stream_id = id;
  p.flags = flags;
  p.timestamp = 1;
  p.window = 65536;
  p.payload = {1, 2, 3};
  return p;
}

TEST(StreamMux, HundredConcurrentStreamsOverALossyChannelArriveByteExact) {
  constexpr std::size_t kStreams = 100;
  constexpr std::size_t kBytes = 64 * 1024;
  StreamMux a({}, MuxSide::kOdd);
  StreamMux b({}, MuxSide::kEven);
  Driver<StreamMux, StreamMux> driver(
      a, b, {.delay = 20ms, .jitter = 5ms, .loss = 0.02, .duplicate = 0.01, .bytes_per_second = 10e6}, 11);
  std::map<StreamId, sim::Source> sources;
  std::map<StreamId, sim::Sink> sinks;
  for (std::size_t i = 0; i < kStreams; ++i) {
    auto id = a.open(driver.now());
    ASSERT_TRUE(id.ok());
    sources[*id].data = sim::random_bytes(kBytes, *id);
  }
  std::size_t finished = 0;
  auto app = [&] {
    for (auto& [id, source] : sources) {
      if (Stream* s = a.find(id)) source.feed(*s, driver.now());
    }
    while (auto id = b.accept()) sinks[*id];
    finished = 0;
    for (auto& [id, sink] : sinks) {
      Stream* s = b.find(id);
      if (s) sink.drain(*s);
      if (sink.data.size() == kBytes && (!s || s->read_closed())) {
        ++finished;
        if (s && !s->write_closed()) s->shutdown_write(driver.now());  // close our side too
      }
    }
  };
  ASSERT_TRUE(driver.run([&] { return finished == kStreams; }, app, 600s));
  for (auto& [id, sink] : sinks) EXPECT_TRUE(sink.data == sources[id].data) << "stream " << id;
  EXPECT_EQ(b.stats().accepted, kStreams);
  driver.advance(30s);  // linger passes, the closed streams go away
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(a.stats().reaped, kStreams);
}

TEST(StreamMux, RefusesUnknownStreamsWithRst) {
  StreamMux mux({}, MuxSide::kEven);
  mux.on_packet(data_packet(5, kStreamAck), kNow);
  auto rst = mux.poll_transmit(kNow);
  ASSERT_TRUE(rst);
  EXPECT_TRUE(rst->has(kStreamRst));
  EXPECT_EQ(rst->stream_id, 5u);
  EXPECT_TRUE(encode_stream_packet(*rst).ok());
  mux.on_packet(*rst, kNow);  // a RST is never answered
  EXPECT_FALSE(mux.poll_transmit(kNow));
  EXPECT_EQ(mux.stats().unknown, 1u);
}

TEST(StreamMux, RefusesASynWithOurOwnParity) {
  StreamMux mux({}, MuxSide::kOdd);
  mux.on_packet(data_packet(3, kStreamSyn), kNow);
  auto rst = mux.poll_transmit(kNow);
  ASSERT_TRUE(rst);
  EXPECT_TRUE(rst->has(kStreamRst));
  EXPECT_EQ(mux.size(), 0u);
  EXPECT_EQ(mux.stats().refused, 1u);
}

TEST(StreamMux, BoundsTheNumberOfStreams) {
  StreamMuxConfig config;
  config.max_streams = 2;
  StreamMux server(config, MuxSide::kEven);
  server.on_packet(data_packet(1, kStreamSyn), kNow);
  server.on_packet(data_packet(3, kStreamSyn), kNow);
  server.on_packet(data_packet(5, kStreamSyn), kNow);
  EXPECT_EQ(server.size(), 2u);
  EXPECT_EQ(server.stats().refused, 1u);
  auto first = server.poll_transmit(kNow);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->stream_id, 5u);
  EXPECT_TRUE(first->has(kStreamRst));
  EXPECT_EQ(server.accept(), StreamId{1});
  EXPECT_EQ(server.accept(), StreamId{3});
  EXPECT_FALSE(server.accept());

  StreamMux client(config, MuxSide::kOdd);
  ASSERT_TRUE(client.open(kNow).ok());
  ASSERT_TRUE(client.open(kNow).ok());
  auto third = client.open(kNow);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, make_error_code(Errc::kLimit));
}

TEST(StreamMux, RefusedOpenerSeesAReset) {
  StreamMuxConfig config;
  config.max_streams = 1;
  StreamMux a({}, MuxSide::kOdd);
  StreamMux b(config, MuxSide::kEven);
  Driver<StreamMux, StreamMux> driver(a, b, {.delay = 10ms}, 3);
  auto first = a.open(driver.now());
  auto second = a.open(driver.now());
  ASSERT_TRUE(first.ok() && second.ok());
  driver.advance(1s);
  EXPECT_TRUE(a.find(*first)->is_established());
  EXPECT_EQ(a.find(*second), nullptr);  // reset by the peer, then removed
  EXPECT_EQ(b.stats().refused, 1u);
}

TEST(StreamMux, SendsFairlyAcrossStreams) {
  StreamMux mux({}, MuxSide::kOdd);
  std::vector<StreamId> ids;
  for (int i = 0; i < 3; ++i) {
    auto id = mux.open(kNow);
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
    const core::Bytes data(20'000, 1);
    mux.find(*id)->write(data, kNow);
  }
  std::vector<StreamId> order;
  for (int i = 0; i < 9; ++i) {
    auto p = mux.poll_transmit(kNow);
    ASSERT_TRUE(p);
    order.push_back(p->stream_id);
  }
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], ids[i % 3]) << i;
}

}  // namespace
}  // namespace hop::tunnels
