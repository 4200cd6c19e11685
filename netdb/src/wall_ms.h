// Wall time <-> Unix milliseconds, the form persisted in the store and in profile records.
#pragma once

#include <chrono>
#include <cstdint>

#include "hop/core/runtime.h"

namespace hop::netdb {

// Times past 2200-01-01 are refused on load: beyond any real clock, and well inside what a
// nanosecond system_clock holds (year 2262).
inline constexpr std::int64_t kMaxWallMs = 7'258'118'400'000;

// Milliseconds since the Unix epoch; times before it become 0.
inline std::int64_t to_wall_ms(core::WallTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return ms < 0 ? 0 : ms;
}

// Precondition: 0 <= ms <= kMaxWallMs (check untrusted values with is_valid_wall_ms).
inline core::WallTime from_wall_ms(std::int64_t ms) {
  return core::WallTime(std::chrono::duration_cast<core::WallTime::duration>(std::chrono::milliseconds(ms)));
}

inline bool is_valid_wall_ms(std::int64_t ms) { return ms >= 0 && ms <= kMaxWallMs; }

}  // namespace hop::netdb
