// Test support for streams: a deterministic simulated channel (delay, jitter that reorders,
// seeded loss and duplication, a bandwidth limit as serialization delay with a drop-tail queue)
// and a driver that moves a simulated `now` to the next arrival or deadline.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <utility>

#include "hop/tunnels/stream.h"
#include "hop/tunnels/stream_packet.h"

namespace hop::tunnels::sim {

using namespace std::chrono_literals;

inline constexpr core::TimePoint kT0{};

struct ChannelConfig {
  core::Duration delay = 5ms;
  core::Duration jitter = 0ms;  // extra uniform delay in [0, jitter]: reorders packets
  double loss = 0;
  double duplicate = 0;
  double bytes_per_second = 0;  // 0: unlimited
  std::size_t queue_limit = std::numeric_limits<std::size_t>::max();  // bytes waiting for the link
};

// One direction of a path.
class Channel {
 public:
  Channel(const ChannelConfig& config, std::uint64_t seed) : config_(config), rng_(seed) {}
  ChannelConfig& config() { return config_; }

  void send(core::Bytes bytes, core::TimePoint now) {
    ++sent_;
    if (drop_next_ > 0) {
      --drop_next_;
      return;
    }
    if (chance(config_.loss)) return;
    const bool twice = chance(config_.duplicate);
    auto depart = serialize(bytes.size(), now);
    if (!depart) return;
    if (twice) schedule(bytes, *depart);
    schedule(std::move(bytes), *depart);
  }
  std::optional<core::TimePoint> next_arrival() const {
    if (queue_.empty()) return std::nullopt;
    return queue_.begin()->first.first;
  }
  std::optional<core::Bytes> pop_due(core::TimePoint now) {
    if (queue_.empty() || queue_.begin()->first.first > now) return std::nullopt;
    core::Bytes bytes = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    return bytes;
  }
  // A tunnel died: the packets in flight vanish (up to n, the earliest first).
  void drop_in_flight(std::size_t n) {
    for (; n > 0 && !queue_.empty(); --n) queue_.erase(queue_.begin());
  }
  void drop_next(std::size_t n) { drop_next_ += n; }
  std::size_t in_flight() const { return queue_.size(); }
  std::uint64_t sent() const { return sent_; }

 private:
  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::optional<core::TimePoint> serialize(std::size_t size, core::TimePoint now) {
    if (config_.bytes_per_second <= 0) return now;
    const core::TimePoint start = std::max(now, link_free_);
    const double backlog = std::chrono::duration<double>(start - now).count() * config_.bytes_per_second;
    if (backlog + static_cast<double>(size) > static_cast<double>(config_.queue_limit)) return std::nullopt;
    link_free_ = start + std::chrono::duration_cast<core::Duration>(
                             std::chrono::duration<double>(static_cast<double>(size) / config_.bytes_per_second));
    return link_free_;
  }
  void schedule(core::Bytes bytes, core::TimePoint depart) {
    core::Duration extra{};
    if (config_.jitter > core::Duration::zero()) {
      extra = core::Duration(std::uniform_int_distribution<core::Duration::rep>(0, config_.jitter.count())(rng_));
    }
    queue_.emplace(std::pair{depart + config_.delay + extra, seq_++}, std::move(bytes));
  }

  ChannelConfig config_;
  std::mt19937_64 rng_;
  core::TimePoint link_free_{};
  std::map<std::pair<core::TimePoint, std::uint64_t>, core::Bytes> queue_;
  std::uint64_t seq_ = 0;
  std::uint64_t sent_ = 0;
  std::size_t drop_next_ = 0;
};

// The accepting end of a single stream: created by the first SYN.
struct Acceptor {
  StreamConfig config;
  std::optional<Stream> stream;

  void on_packet(const StreamPacket& p, core::TimePoint now) {
    if (stream) return stream->on_packet(p, now);
    if (auto s = Stream::accept(p, config, now)) stream.emplace(std::move(*s));
  }
  std::optional<StreamPacket> poll_transmit(core::TimePoint now) {
    return stream ? stream->poll_transmit(now) : std::nullopt;
  }
  std::optional<core::TimePoint> next_deadline() const { return stream ? stream->next_deadline() : std::nullopt; }
  void on_timeout(core::TimePoint now) {
    if (stream) stream->on_timeout(now);
  }
};

// Drives two endpoints (Stream, Acceptor or StreamMux) over two channels, through the codec.
template <class A, class B>
class Driver {
 public:
  Driver(A& a, B& b, const ChannelConfig& config, std::uint64_t seed)
      : a_(a), b_(b), ab_(config, seed), ba_(config, seed * 31 + 7) {}

  Channel& ab() { return ab_; }
  Channel& ba() { return ba_; }
  core::TimePoint now() const { return now_; }

  // Runs until `done()` or `limit` of simulated time passed; `app` runs after every event.
  template <class Done, class App>
  bool run(Done done, App app, core::Duration limit) {
    const core::TimePoint end = now_ + limit;
    while (!done()) {
      if (++steps_ > 20'000'000) {
        ADD_FAILURE() << "runaway simulation";
        return false;
      }
      app();
      pump();
      if (done()) break;
      auto next = next_event();
      if (!next || *next > end) {
        now_ = end;
        return done();
      }
      now_ = std::max(now_, *next);
      deliver(ab_, b_);
      deliver(ba_, a_);
      if (auto t = a_.next_deadline(); t && *t <= now_) a_.on_timeout(now_);
      if (auto t = b_.next_deadline(); t && *t <= now_) b_.on_timeout(now_);
    }
    return true;
  }
  void advance(core::Duration d) {
    run([] { return false; }, [] {}, d);
  }

  void pump() {
    while (auto p = a_.poll_transmit(now_)) send(ab_, *p);
    while (auto p = b_.poll_transmit(now_)) send(ba_, *p);
  }

 private:
  void send(Channel& channel, const StreamPacket& p) {
    auto bytes = encode_stream_packet(p);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message();
    channel.send(std::move(*bytes), now_);
  }
  template <class E>
  void deliver(Channel& channel, E& to) {
    while (auto bytes = channel.pop_due(now_)) {
      auto p = decode_stream_packet(*bytes);
      ASSERT_TRUE(p.ok()) << p.error().message();
      to.on_packet(*p, now_);
    }
  }
  std::optional<core::TimePoint> next_event() const {
    std::optional<core::TimePoint> best;
    for (auto t : {ab_.next_arrival(), ba_.next_arrival(), a_.next_deadline(), b_.next_deadline()}) {
      if (t && (!best || *t < *best)) best = t;
    }
    return best;
  }

  A& a_;
  B& b_;
  Channel ab_;
  Channel ba_;
  core::TimePoint now_ = kT0 + 1s;
  std::uint64_t steps_ = 0;
};

inline core::Bytes random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  core::Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

// One direction of application data: feeds a stream from `data`, closes when all was taken.
struct Source {
  core::Bytes data;
  std::size_t written = 0;
  bool close_at_end = true;
  bool closed = false;

  void feed(Stream& s, core::TimePoint now) {
    if (written < data.size()) written += s.write(core::ByteView(data).subspan(written), now);
    if (written == data.size() && close_at_end && !closed) {
      s.shutdown_write(now);
      closed = true;
    }
  }
};

struct Sink {
  core::Bytes data;
  void drain(Stream& s, std::size_t max = std::numeric_limits<std::size_t>::max()) {
    core::Bytes got = s.read(max);
    data.insert(data.end(), got.begin(), got.end());
  }
};

}  // namespace hop::tunnels::sim
