// RTT estimation for streams: RFC 6298 smoothed RTT, variance and RTO with exponential backoff,
// plus a windowed minimum RTT (BBR style) for the bandwidth-delay product. Pure.
// Thread affinity: belongs to one stream.
#pragma once

#include <cstdint>
#include <optional>

#include "hop/core/runtime.h"

namespace hop::tunnels {

struct RttBounds {
  core::Duration initial_rto{};
  core::Duration min_rto{};
  core::Duration max_rto{};
};

class RttEstimator {
 public:
  explicit RttEstimator(const RttBounds& bounds);
  // One measured round trip; also clears the backoff (RFC 6298 5.7 after a new sample).
  void on_sample(core::Duration rtt, core::TimePoint now);
  // A retransmission timeout: the next RTO doubles, up to max_rto (RFC 6298 5.5).
  void on_backoff();
  // The backoff ends without a sample: the packets go another way now (a new path).
  void clear_backoff() { backoff_ = 0; }
  // Current RTO, backoff included, within [min_rto, max_rto].
  core::Duration rto() const;
  bool has_sample() const { return has_sample_; }
  core::Duration srtt() const { return srtt_; }
  core::Duration rttvar() const { return rttvar_; }
  // Smallest sample of the last kMinRttWindow; srtt before any sample is zero.
  core::Duration min_rtt() const { return min_rtt_; }

 private:
  RttBounds bounds_;
  bool has_sample_ = false;
  core::Duration srtt_{};
  core::Duration rttvar_{};
  core::Duration min_rtt_{};
  core::TimePoint min_rtt_stamp_{};
  unsigned backoff_ = 0;
};

}  // namespace hop::tunnels
