#include "hop/tunnels/rtt_estimator.h"

#include <algorithm>

#include "hop/tunnels/stream_config.h"

namespace hop::tunnels {

RttEstimator::RttEstimator(const RttBounds& bounds) : bounds_(bounds) {}

void RttEstimator::on_sample(core::Duration rtt, core::TimePoint now) {
  rtt = std::max(rtt, core::Duration(1));
  if (!has_sample_) {
    // RFC 6298 2.2: SRTT = R, RTTVAR = R/2.
    srtt_ = rtt;
    rttvar_ = rtt / 2;
    has_sample_ = true;
  } else {
    // RFC 6298 2.3: beta = 1/4, alpha = 1/8.
    const core::Duration error = srtt_ > rtt ? srtt_ - rtt : rtt - srtt_;
    rttvar_ = (3 * rttvar_ + error) / 4;
    srtt_ = (7 * srtt_ + rtt) / 8;
  }
  if (min_rtt_ == core::Duration::zero() || rtt <= min_rtt_ || now - min_rtt_stamp_ > kMinRttWindow) {
    min_rtt_ = rtt;
    min_rtt_stamp_ = now;
  }
  backoff_ = 0;
}

void RttEstimator::on_backoff() {
  if (rto() < bounds_.max_rto) ++backoff_;
}

core::Duration RttEstimator::rto() const {
  core::Duration base = bounds_.initial_rto;
  if (has_sample_) base = srtt_ + std::max<core::Duration>(kClockGranularity, 4 * rttvar_);
  base = std::clamp(base, bounds_.min_rto, bounds_.max_rto);
  for (unsigned i = 0; i < backoff_ && base < bounds_.max_rto; ++i) base *= 2;
  return std::min(base, bounds_.max_rto);
}

}  // namespace hop::tunnels
