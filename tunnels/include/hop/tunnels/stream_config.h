// Stream constants, each with its reason, and the StreamConfig knobs they default
// (docs/streams.md, "Windows and congestion control" and "Timers").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "hop/core/runtime.h"
#include "hop/tunnels/stream_packet.h"

namespace hop::tunnels {

using namespace std::chrono_literals;

// 4 MiB hold a bandwidth-delay product of 10 MB/s x 400 ms: far beyond one tunnel today.
inline constexpr std::size_t kDefaultStreamBuffer = 4 * 1024 * 1024;
// RFC 6928: an initial window of 10 packets.
inline constexpr std::size_t kInitialWindowPackets = 10;
// Never below 2 packets, so an ack clock keeps running (RFC 5681 loss window).
inline constexpr std::size_t kMinWindowPackets = 2;
// Far above any buffer a receiver advertises; only bounds arithmetic.
inline constexpr std::size_t kMaxCwnd = std::size_t{1} << 30;
// RFC 8312 (CUBIC) multiplicative decrease: keeps more of the window than Reno's 1/2.
inline constexpr double kLossBeta = 0.7;
// BBR's filter lengths: min RTT over 10 s, bandwidth as the max of 10 round-trip samples.
inline constexpr core::Duration kMinRttWindow = 10s;
inline constexpr std::size_t kBandwidthSamples = 10;
// RFC 8985 (RACK): a hole is lost once data sent a quarter of min RTT after it arrived.
inline constexpr int kReorderDivisor = 4;
// RFC 6298: initial RTO 1 s, clock granularity; max at least 60 s. The minimum is 200 ms (not
// RFC 6298's 1 s): rttvar already covers tunnel jitter, and fast paths recover quickly.
inline constexpr core::Duration kInitialRto = 1s;
inline constexpr core::Duration kMinRto = 200ms;
inline constexpr core::Duration kMaxRto = 60s;
inline constexpr core::Duration kClockGranularity = 1ms;
// RFC 5681 4.2: ack at least every second full packet, and within 500 ms; 25 ms keeps the RTT
// samples honest on fast paths.
inline constexpr std::size_t kAckEveryPackets = 2;
inline constexpr core::Duration kAckDelay = 25ms;
// Consecutive RTOs (or unanswered SYNs / probes) before the stream gives up: about 2 minutes
// of backoff at the default RTO bounds.
inline constexpr std::size_t kMaxRetransmits = 10;
// Tunnels rotate every 10 minutes; a quiet stream says it is alive twice a minute and gives up
// after 4 silent intervals.
inline constexpr core::Duration kKeepaliveInterval = 30s;
inline constexpr core::Duration kIdleTimeout = 120s;
// After both FINs, answer stragglers (a lost last ack) for a while: max(this, 3 x RTO).
inline constexpr core::Duration kMinLinger = 1s;
// A receiver announces a window that grew by a quarter of its buffer (or left zero).
inline constexpr std::size_t kWindowUpdateDivisor = 4;

// The knobs of one stream endpoint. Durations of zero disable keepalive / idle timeout.
struct StreamConfig {
  std::size_t max_payload = kDefaultStreamPayload;  // per packet, <= kMaxStreamPayload
  std::size_t send_buffer = kDefaultStreamBuffer;     // written but not yet acked
  std::size_t receive_buffer = kDefaultStreamBuffer;  // received but not yet read
  std::size_t initial_window_packets = kInitialWindowPackets;
  core::Duration initial_rto = kInitialRto;
  core::Duration min_rto = kMinRto;
  core::Duration max_rto = kMaxRto;
  core::Duration ack_delay = kAckDelay;
  std::size_t max_retransmits = kMaxRetransmits;
  core::Duration keepalive_interval = kKeepaliveInterval;
  core::Duration idle_timeout = kIdleTimeout;
};

}  // namespace hop::tunnels
