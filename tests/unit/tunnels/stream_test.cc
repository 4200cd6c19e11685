#include "hop/tunnels/stream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "stream_sim.h"

namespace hop::tunnels {
namespace {

using namespace std::chrono_literals;
using sim::Acceptor;
using sim::ChannelConfig;
using sim::Driver;

constexpr std::size_t kTenMegabytes = 10'000'000;

// A one-way transfer from an opener to an acceptor, both through the simulated channel.
struct Transfer {
  explicit Transfer(const ChannelConfig& channel, std::size_t size, std::uint64_t seed = 1,
                    const StreamConfig& config = {})
      : a(Stream::open(7, config, sim::kT0 + 1s)), b{config, std::nullopt}, driver(a, b, channel, seed) {
    source.data = sim::random_bytes(size, seed);
  }
  bool done() const { return sink.data.size() == source.data.size() && b.stream && b.stream->read_closed(); }
  void app() {
    source.feed(a, driver.now());
    if (b.stream) sink.drain(*b.stream);
  }
  bool run(core::Duration limit) {
    return driver.run([&] { return done(); }, [&] { app(); }, limit);
  }

  Stream a;
  Acceptor b;
  Driver<Stream, Acceptor> driver;
  sim::Source source;
  sim::Sink sink;
};

double seconds(core::Duration d) { return std::chrono::duration<double>(d).count(); }

void expect_byte_exact(const Transfer& t) {
  ASSERT_EQ(t.sink.data.size(), t.source.data.size());
  EXPECT_TRUE(t.sink.data == t.source.data);
}

void report(const char* name, const Transfer& t, core::Duration took) {
  const StreamStats s = t.a.stats();
  std::printf("[ stream   ] %s: %.2f s simulated, %.2f MB/s, sent %llu retransmitted %llu lost %llu rtos %llu, "
              "srtt %.1f ms, cwnd %zu\n",
              name, seconds(took), static_cast<double>(t.source.data.size()) / seconds(took) / 1e6,
              static_cast<unsigned long long>(s.sender.packets_sent),
              static_cast<unsigned long long>(s.sender.packets_retransmitted),
              static_cast<unsigned long long>(s.sender.packets_lost),
              static_cast<unsigned long long>(s.sender.rtos), seconds(s.srtt) * 1e3, s.cwnd);
}

TEST(StreamTransfer, TenMegabytesWithoutLoss) {
  Transfer t({.delay = 5ms, .bytes_per_second = 20e6}, kTenMegabytes);
  const auto start = t.driver.now();
  ASSERT_TRUE(t.run(60s));
  report("0% loss", t, t.driver.now() - start);
  expect_byte_exact(t);
  EXPECT_EQ(t.a.stats().sender.packets_retransmitted, 0u);
}

TEST(StreamTransfer, TenMegabytesWithOnePercentLossAnd50msDelay) {
  Transfer t({.delay = 50ms, .loss = 0.01, .bytes_per_second = 10e6}, kTenMegabytes, 2);
  const auto start = t.driver.now();
  ASSERT_TRUE(t.run(600s));
  report("1% loss 50 ms", t, t.driver.now() - start);
  expect_byte_exact(t);
  EXPECT_GT(t.a.stats().sender.packets_retransmitted, 0u);
}

TEST(StreamTransfer, TenMegabytesWithFivePercentLossReorderingAndDuplication) {
  Transfer t({.delay = 20ms, .jitter = 10ms, .loss = 0.05, .duplicate = 0.02, .bytes_per_second = 10e6},
             kTenMegabytes, 3);
  const auto start = t.driver.now();
  ASSERT_TRUE(t.run(1200s));
  report("5% loss, reorder, dup", t, t.driver.now() - start);
  expect_byte_exact(t);
  EXPECT_GT(t.b.stream->stats().receiver.duplicate_bytes, 0u);
}

// The window follows the bandwidth-delay product (1 MB here), not a fixed size: the rate
// after ramp-up is the channel's, whatever the round trip.
TEST(StreamTransfer, ThroughputIsLimitedByBandwidthNotRoundTrip) {
  constexpr double kRate = 10e6;
  Transfer t({.delay = 50ms, .bytes_per_second = kRate, .queue_limit = 256 * 1024}, kTenMegabytes, 4);
  std::optional<core::TimePoint> ramped;
  ASSERT_TRUE(t.driver.run([&] { return t.done(); },
                           [&] {
                             t.app();
                             if (!ramped && t.sink.data.size() >= 2'000'000) ramped = t.driver.now();
                           },
                           120s));
  expect_byte_exact(t);
  ASSERT_TRUE(ramped);
  const double rate = 8e6 / seconds(t.driver.now() - *ramped);
  std::printf("[ stream   ] 50 ms one way, 10 MB/s: %.2f MB/s after ramp-up (%.0f %%), cwnd %zu, min rtt %.1f ms\n",
              rate / 1e6, 100 * rate / kRate, t.a.stats().cwnd, seconds(t.a.stats().min_rtt) * 1e3);
  EXPECT_GE(rate, 0.7 * kRate);
}

TEST(StreamTransfer, SurvivesAPathChange) {
  Transfer t({.delay = 5ms, .bytes_per_second = 10e6}, kTenMegabytes, 5);
  bool changed = false;
  std::size_t dropped = 0;
  ASSERT_TRUE(t.driver.run([&] { return t.done(); },
                           [&] {
                             t.app();
                             if (!changed && t.sink.data.size() >= 3'000'000) {
                               changed = true;  // the tunnel died: a slower one carries the rest
                               dropped = t.driver.ab().in_flight();
                               t.driver.ab().drop_in_flight(20);
                               t.driver.ab().config().delay = 80ms;
                               t.driver.ba().config().delay = 80ms;
                             }
                           },
                           300s));
  EXPECT_TRUE(changed);
  EXPECT_GE(dropped, 20u);
  expect_byte_exact(t);
  EXPECT_GT(t.a.stats().min_rtt, 0ms);
}

TEST(StreamLifecycle, HalfCloseWorksBothWays) {
  Transfer t({.delay = 10ms}, 100'000);
  ASSERT_TRUE(t.run(30s));
  Stream& b = *t.b.stream;
  EXPECT_TRUE(t.a.write_closed());
  EXPECT_TRUE(b.read_closed());
  EXPECT_FALSE(t.a.read_closed());
  EXPECT_FALSE(b.write_closed());
  EXPECT_TRUE(t.a.is_established());
  // The other direction still works after the first FIN.
  sim::Source back{sim::random_bytes(50'000, 9)};
  sim::Sink got;
  ASSERT_TRUE(t.driver.run([&] { return t.a.read_closed(); },
                           [&] {
                             back.feed(b, t.driver.now());
                             got.drain(t.a);
                           },
                           30s));
  EXPECT_TRUE(got.data == back.data);
  EXPECT_FALSE(t.a.is_closed());  // lingering for stragglers
  t.driver.advance(10s);
  EXPECT_TRUE(t.a.is_closed());
  EXPECT_TRUE(b.is_closed());
  EXPECT_EQ(t.a.reset_reason(), ResetReason::kNone);
  EXPECT_EQ(b.reset_reason(), ResetReason::kNone);
}

TEST(StreamLifecycle, ResetAbortsBothEnds) {
  Transfer t({.delay = 10ms}, 1'000'000);
  t.source.close_at_end = false;
  ASSERT_TRUE(t.driver.run([&] { return t.sink.data.size() > 100'000; }, [&] { t.app(); }, 30s));
  t.a.reset(t.driver.now());
  EXPECT_EQ(t.a.write(core::as_bytes("x"), t.driver.now()), 0u);
  ASSERT_TRUE(t.driver.run([&] { return t.b.stream->is_closed(); }, [] {}, 5s));
  EXPECT_EQ(t.a.reset_reason(), ResetReason::kLocal);
  EXPECT_EQ(t.b.stream->reset_reason(), ResetReason::kPeer);
  EXPECT_TRUE(t.a.is_closed());
  EXPECT_TRUE(t.b.stream->read_closed());
  EXPECT_FALSE(t.b.stream->next_deadline());
}

TEST(StreamLifecycle, LostSynIsRetried) {
  Transfer t({.delay = 10ms}, 20'000);
  t.driver.ab().drop_next(6);  // the whole first flight (6 packets, each with SYN) never arrives
  const auto start = t.driver.now();
  ASSERT_TRUE(t.run(30s));
  expect_byte_exact(t);
  EXPECT_GE(t.driver.now() - start, kInitialRto);
  EXPECT_GE(t.a.stats().sender.rtos, 1u);
}

TEST(StreamLifecycle, BareSynIsRetriedUntilTheStreamGivesUp) {
  StreamConfig config;
  config.max_retransmits = 3;
  Transfer t({.delay = 10ms, .loss = 1.0}, 0, 1, config);
  t.source.close_at_end = false;
  ASSERT_TRUE(t.driver.run([&] { return t.a.is_closed(); }, [] {}, 120s));
  EXPECT_EQ(t.a.reset_reason(), ResetReason::kTimeout);
  EXPECT_EQ(t.driver.ab().sent(), 4u + 1u);  // SYN, 3 retries, then the RST
  EXPECT_FALSE(t.b.stream);
}

// The reader stops: the sender fills the receiver's buffer, stops, probes the zero window, and
// resumes without loss once the reader drains.
TEST(StreamFlowControl, SenderStopsAtAFullReceiverAndResumes) {
  StreamConfig config;
  config.receive_buffer = 64 * 1024;
  Transfer t({.delay = 10ms}, 1'000'000, 6, config);
  ASSERT_TRUE(t.driver.run([&] { return t.sink.data.size() >= 200'000; }, [&] { t.app(); }, 30s));
  // Stop reading for a minute: the sender must stop at 64 KiB ahead of the reader.
  const std::uint64_t rtos_before = t.a.stats().sender.rtos;
  const std::uint64_t received_before = t.b.stream->stats().receiver.bytes_received;
  t.driver.run([] { return false; }, [&] { t.source.feed(t.a, t.driver.now()); }, 60s);
  EXPECT_LE(t.b.stream->stats().receiver.bytes_received - received_before, config.receive_buffer);
  EXPECT_EQ(t.b.stream->readable(), config.receive_buffer);
  EXPECT_EQ(t.a.stats().sender.rtos, rtos_before);  // a full window is no loss
  EXPECT_EQ(t.a.stats().sender.bytes_sent - t.a.stats().sender.bytes_acked, 0u);
  EXPECT_TRUE(t.a.is_established());
  // The window update on the first read is lost: the persist probe recovers it.
  t.driver.ba().drop_next(1);
  ASSERT_TRUE(t.run(120s));
  expect_byte_exact(t);
  EXPECT_EQ(t.a.reset_reason(), ResetReason::kNone);
}

TEST(StreamTimers, IdleStreamKeepsAliveThenTimesOutWhenThePeerVanishes) {
  Transfer t({.delay = 10ms}, 1000);
  t.source.close_at_end = false;
  ASSERT_TRUE(t.driver.run([&] { return t.sink.data.size() == 1000; }, [&] { t.app(); }, 10s));
  t.driver.advance(10min);  // keepalives every 30 s keep both ends up
  EXPECT_TRUE(t.a.is_established());
  EXPECT_TRUE(t.b.stream->is_established());
  EXPECT_GE(t.b.stream->stats().packets_received, 10u);
  const auto silent_from = t.driver.now();
  t.driver.ab().config().loss = 1.0;
  t.driver.ba().config().loss = 1.0;
  ASSERT_TRUE(t.driver.run([&] { return t.a.is_closed() && t.b.stream->is_closed(); }, [] {}, 10min));
  EXPECT_EQ(t.a.reset_reason(), ResetReason::kIdle);
  EXPECT_EQ(t.b.stream->reset_reason(), ResetReason::kIdle);
  EXPECT_LE(t.driver.now() - silent_from, kIdleTimeout + 1s);
}

TEST(StreamTimers, DataUnackedForTooLongResetsWithTimeout) {
  StreamConfig config;
  config.idle_timeout = 0s;  // else the silent peer's idle timeout (a RST) comes first
  Transfer t({.delay = 10ms}, 1'000'000, 1, config);
  ASSERT_TRUE(t.driver.run([&] { return t.sink.data.size() > 100'000; }, [&] { t.app(); }, 30s));
  t.driver.ab().config().loss = 1.0;
  t.driver.ba().config().loss = 1.0;
  ASSERT_TRUE(t.driver.run([&] { return t.a.is_closed(); }, [&] { t.app(); }, 30min));
  EXPECT_EQ(t.a.stats().sender.rtos, config.max_retransmits);
  EXPECT_EQ(t.a.reset_reason(), ResetReason::kTimeout);
}

TEST(StreamTimers, ANewPathEndsTheBackoffAndResendsAtOnce) {
  Transfer t({.delay = 10ms}, 1'000'000, 9);
  ASSERT_TRUE(t.driver.run([&] { return t.sink.data.size() > 100'000; }, [&] { t.app(); }, 30s));
  // The path breaks: timeouts back off (1 s, 2 s, 4 s...) and the stream stalls.
  t.driver.ab().config().loss = 1.0;
  t.driver.ba().config().loss = 1.0;
  ASSERT_TRUE(t.driver.run([&] { return t.a.stats().sender.rtos >= 4; }, [&] { t.app(); }, 10min));
  EXPECT_TRUE(t.a.stalled());
  const auto rto = t.a.stats().rto;  // 16 times the round trip's RTO after 4 timeouts
  // A new path: the stream resends now, not after the backed-off timer, and counts no timeout.
  t.driver.ab().config().loss = 0;
  t.driver.ba().config().loss = 0;
  const auto rtos = t.a.stats().sender.rtos;
  const auto moved = t.driver.now();
  t.a.on_path_changed(moved);
  EXPECT_LE(t.a.stats().rto * 8, rto) << "the backoff ended";
  const auto received = t.sink.data.size();
  ASSERT_TRUE(t.driver.run([&] { return t.sink.data.size() > received; }, [&] { t.app(); }, 30s));
  EXPECT_LT(t.driver.now() - moved, 1s) << "resent at once";
  EXPECT_EQ(t.a.stats().sender.rtos, rtos);
  ASSERT_TRUE(t.run(60s));
  expect_byte_exact(t);
  EXPECT_FALSE(t.a.stalled());
}

TEST(StreamPackets, DuplicatesAreDeliveredOnce) {
  Stream a = Stream::open(3, {}, sim::kT0);
  ASSERT_EQ(a.write(core::as_bytes("hello"), sim::kT0), 5u);
  auto syn = a.poll_transmit(sim::kT0);
  ASSERT_TRUE(syn);
  EXPECT_TRUE(syn->has(kStreamSyn));
  auto b = Stream::accept(*syn, {}, sim::kT0);
  ASSERT_TRUE(b.ok());
  b->on_packet(*syn, sim::kT0 + 1ms);
  EXPECT_EQ(b->readable(), 5u);
  EXPECT_EQ(b->read(100), core::Bytes(core::as_bytes("hello").begin(), core::as_bytes("hello").end()));
  b->on_packet(*syn, sim::kT0 + 2ms);
  EXPECT_EQ(b->readable(), 0u);
  auto ack = b->poll_transmit(sim::kT0 + 2ms);
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->has(kStreamAck));
  EXPECT_EQ(ack->ack, 5u);
}

TEST(StreamPackets, AcceptRefusesANonSyn) {
  StreamPacket p;
  p.stream_id = 1;
  p.flags = kStreamAck;
  p.timestamp = 1;
  EXPECT_FALSE(Stream::accept(p, {}, sim::kT0).ok());
}

TEST(StreamReceiverTest, KeepsOverlapsOnceAndReportsHolesFirst) {
  StreamReceiver r(1 << 20);
  const core::Bytes data = sim::random_bytes(100, 1);
  auto piece = [&](std::size_t from, std::size_t to) { return core::ByteView(data).subspan(from, to - from); };
  EXPECT_EQ(r.on_data(10, piece(10, 30), false), DataOutcome::kOutOfOrder);
  EXPECT_EQ(r.on_data(20, piece(20, 40), false), DataOutcome::kOutOfOrder);
  EXPECT_EQ(r.on_data(15, piece(15, 25), false), DataOutcome::kDuplicate);
  EXPECT_EQ(r.sacks(), (std::vector<SackRange>{{10, 40}}));
  EXPECT_EQ(r.on_data(0, piece(0, 50), true), DataOutcome::kInOrder);
  EXPECT_EQ(r.ack(), 51u);  // the FIN counts one
  EXPECT_EQ(r.read(1000), data.size() >= 50 ? core::Bytes(data.begin(), data.begin() + 50) : core::Bytes{});
  EXPECT_TRUE(r.is_eof());
  EXPECT_EQ(r.on_data(50, piece(50, 60), false), DataOutcome::kRejected);  // past the FIN
}

TEST(StreamReceiverTest, ReportsTheLatestRangeAmongManyHoles) {
  StreamReceiver r(1 << 20);
  const core::Bytes one(10, 1);
  for (std::uint64_t i = 1; i <= 12; ++i) r.on_data(i * 100, one, false);
  r.on_data(550, one, false);
  auto sacks = r.sacks();
  ASSERT_EQ(sacks.size(), kMaxSackRanges);
  EXPECT_EQ(sacks.front(), (SackRange{100, 110}));
  EXPECT_EQ(sacks[5], (SackRange{550, 560}));  // among the lowest: reported in place
  r.on_data(1150, one, false);
  EXPECT_EQ(r.sacks().back(), (SackRange{1150, 1160}));
}

TEST(StreamReceiverTest, DropsDataPastTheWindow) {
  StreamReceiver r(100);
  EXPECT_EQ(r.on_data(0, core::Bytes(150, 1), false), DataOutcome::kInOrder);
  EXPECT_EQ(r.ack(), 100u);
  EXPECT_EQ(r.window(), 0u);
  EXPECT_EQ(r.on_data(100, core::Bytes(10, 1), false), DataOutcome::kRejected);
  r.read(40);
  EXPECT_EQ(r.window(), 40u);
}

TEST(StreamRtt, FollowsRfc6298) {
  RttEstimator rtt({1s, 200ms, 60s});
  EXPECT_EQ(rtt.rto(), 1s);
  rtt.on_sample(100ms, sim::kT0);
  EXPECT_EQ(rtt.srtt(), 100ms);
  EXPECT_EQ(rtt.rttvar(), 50ms);
  EXPECT_EQ(rtt.rto(), 300ms);
  rtt.on_sample(200ms, sim::kT0 + 1s);
  EXPECT_EQ(rtt.srtt(), 112500us);
  EXPECT_EQ(rtt.rttvar(), 62500us);
  EXPECT_EQ(rtt.min_rtt(), 100ms);
  rtt.on_backoff();
  EXPECT_EQ(rtt.rto(), 2 * (112500us + 4 * 62500us));
  for (int i = 0; i < 20; ++i) rtt.on_backoff();
  EXPECT_EQ(rtt.rto(), 60s);
  rtt.on_sample(1ms, sim::kT0 + 2s);
  EXPECT_EQ(rtt.rto(), 200ms > rtt.srtt() + 4 * rtt.rttvar() ? 200ms : rtt.srtt() + 4 * rtt.rttvar());
}

}  // namespace
}  // namespace hop::tunnels
