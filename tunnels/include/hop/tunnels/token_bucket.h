// A token bucket on the steady clock: `rate` bytes per second, at most `burst` bytes saved up.
// Pure: the caller passes `now`. Thread affinity: none (a value type).
#pragma once

#include <algorithm>
#include <cstdint>

#include "hop/core/runtime.h"

namespace hop::tunnels {

class TokenBucket {
 public:
  TokenBucket(double rate_bytes_per_sec, double burst_bytes)
      : rate_(rate_bytes_per_sec), burst_(burst_bytes), tokens_(burst_bytes) {}

  // Takes `bytes` tokens if there are enough after refilling to `now`; false (nothing taken) if not.
  bool take(std::size_t bytes, core::TimePoint now) {
    refill(now);
    if (tokens_ < static_cast<double>(bytes)) return false;
    tokens_ -= static_cast<double>(bytes);
    return true;
  }
  double rate() const { return rate_; }

 private:
  void refill(core::TimePoint now) {
    if (now <= last_) return;
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
  }
  double rate_;
  double burst_;
  double tokens_;
  core::TimePoint last_{};
};

}  // namespace hop::tunnels
