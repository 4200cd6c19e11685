// Congestion window of one stream (docs/streams.md, "Congestion control"): slow start and Reno
// congestion avoidance, a CUBIC-sized decrease once per loss episode, and a floor at the measured
// bandwidth-delay product, so that random loss (common on tunnels) never pins the window below
// what the path delivers. Pure; offsets are stream byte offsets.
// Thread affinity: belongs to one stream.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "hop/core/runtime.h"
#include "hop/tunnels/rtt_estimator.h"
#include "hop/tunnels/stream_config.h"

namespace hop::tunnels {

class CongestionController {
 public:
  CongestionController(std::size_t mss, std::size_t initial_packets);
  // `bytes` newly delivered (acked or sacked for the first time). The window grows only when the
  // sender filled it (`cwnd_limited`), so an idle or receiver-limited stream does not inflate it.
  void on_delivered(std::size_t bytes, bool cwnd_limited, core::TimePoint now, const RttEstimator& rtt);
  // A packet starting at `offset` is lost; `send_next` is the highest offset sent so far. Only
  // the first loss of data sent after the previous reduction reduces the window again.
  void on_loss(std::uint64_t offset, std::uint64_t send_next, const RttEstimator& rtt);
  // The cumulative ack reached `ack`: recovery ends once it passes the recovery point.
  void on_ack(std::uint64_t ack);
  // Retransmission timeout: back to one packet and slow start; the path may have changed, so the
  // bandwidth estimate is dropped as well.
  void on_rto(std::uint64_t send_next);

  std::size_t cwnd() const { return cwnd_; }
  std::size_t ssthresh() const { return ssthresh_; }
  bool in_recovery() const { return in_recovery_; }
  // Max delivery rate of the last kBandwidthSamples round trips, bytes per second.
  std::uint64_t bandwidth() const;
  // bandwidth x min RTT, in bytes.
  std::size_t bdp(const RttEstimator& rtt) const;
  std::uint64_t loss_episodes() const { return loss_episodes_; }

 private:
  void sample_rate(core::TimePoint now, const RttEstimator& rtt);
  void grow(std::size_t bytes);

  std::size_t mss_;
  std::size_t cwnd_;
  std::size_t ssthresh_ = kMaxCwnd;
  std::size_t avoidance_credit_ = 0;  // bytes acked towards the next +1 packet in avoidance
  bool in_recovery_ = false;
  std::uint64_t recovery_point_ = 0;
  std::uint64_t loss_episodes_ = 0;
  // Delivery-rate samples, one per round trip.
  std::uint64_t delivered_ = 0;
  std::uint64_t interval_delivered_ = 0;
  core::TimePoint interval_start_{};
  bool interval_started_ = false;
  std::array<std::uint64_t, kBandwidthSamples> rates_{};
  std::size_t next_rate_ = 0;
};

}  // namespace hop::tunnels
