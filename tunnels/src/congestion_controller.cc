#include "hop/tunnels/congestion_controller.h"

#include <algorithm>
#include <chrono>

namespace hop::tunnels {

CongestionController::CongestionController(std::size_t mss, std::size_t initial_packets)
    : mss_(mss), cwnd_(std::max(initial_packets, kMinWindowPackets) * mss) {}

void CongestionController::on_delivered(std::size_t bytes, bool cwnd_limited, core::TimePoint now,
                                        const RttEstimator& rtt) {
  delivered_ += bytes;
  sample_rate(now, rtt);
  if (cwnd_limited && !in_recovery_) grow(bytes);
}

void CongestionController::grow(std::size_t bytes) {
  if (cwnd_ < ssthresh_) {
    cwnd_ = std::min(cwnd_ + bytes, kMaxCwnd);  // slow start: +1 packet per packet acked
    return;
  }
  avoidance_credit_ += bytes;  // Reno: +1 packet per window acked
  if (avoidance_credit_ >= cwnd_) {
    avoidance_credit_ -= cwnd_;
    cwnd_ = std::min(cwnd_ + mss_, kMaxCwnd);
  }
}

void CongestionController::sample_rate(core::TimePoint now, const RttEstimator& rtt) {
  if (!interval_started_) {
    interval_started_ = true;
    interval_start_ = now;
    interval_delivered_ = delivered_;
    return;
  }
  const core::Duration elapsed = now - interval_start_;
  if (!rtt.has_sample() || elapsed < std::max<core::Duration>(rtt.srtt(), kClockGranularity)) return;
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  rates_[next_rate_] = (delivered_ - interval_delivered_) * 1'000'000 / static_cast<std::uint64_t>(micros);
  next_rate_ = (next_rate_ + 1) % rates_.size();
  interval_start_ = now;
  interval_delivered_ = delivered_;
}

void CongestionController::on_loss(std::uint64_t offset, std::uint64_t send_next, const RttEstimator& rtt) {
  if (offset < recovery_point_) return;  // same episode: one reduction per window of data
  in_recovery_ = true;
  recovery_point_ = send_next;
  ++loss_episodes_;
  const auto reduced = static_cast<std::size_t>(static_cast<double>(cwnd_) * kLossBeta);
  ssthresh_ = std::max({reduced, bdp(rtt), kMinWindowPackets * mss_});
  cwnd_ = ssthresh_;
  avoidance_credit_ = 0;
}

void CongestionController::on_ack(std::uint64_t ack) {
  if (in_recovery_ && ack >= recovery_point_) in_recovery_ = false;
}

void CongestionController::on_rto(std::uint64_t send_next) {
  ssthresh_ = std::max(cwnd_ / 2, kMinWindowPackets * mss_);
  cwnd_ = mss_;  // RFC 5681 3.1: the loss window is one packet
  in_recovery_ = false;
  recovery_point_ = send_next;
  avoidance_credit_ = 0;
  rates_.fill(0);
  interval_started_ = false;
}

std::uint64_t CongestionController::bandwidth() const { return *std::max_element(rates_.begin(), rates_.end()); }

std::size_t CongestionController::bdp(const RttEstimator& rtt) const {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(rtt.min_rtt()).count();
  const std::uint64_t bytes = bandwidth() * static_cast<std::uint64_t>(micros) / 1'000'000;
  return static_cast<std::size_t>(std::min<std::uint64_t>(bytes, kMaxCwnd));
}

}  // namespace hop::tunnels
