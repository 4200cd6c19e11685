// Logging setup (spdlog) and a rate limiter for log lines caused by untrusted input.
#pragma once

#include <cstdint>
#include <string>

#include "hop/core/result.h"
#include "hop/core/runtime.h"

namespace hop::core {

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  std::string file;            // empty: stdout
};

// Installs the process's log sink. Called once by router/ at start-up (and on reload for level).
Status init_logging(const LogConfig& config);
Status set_log_level(const std::string& level);
// Checks a level name without changing anything.
Status check_log_level(const std::string& level);

// Allows `burst` lines per `interval`; counts the ones it suppressed so they can be reported.
// Thread affinity: one thread.
class LogLimiter {
 public:
  LogLimiter(std::uint32_t burst, Duration interval) : burst_(burst), interval_(interval) {}
  // True when a line may be logged now; `suppressed()` then tells how many were skipped before.
  bool allow(TimePoint now);
  std::uint64_t take_suppressed() { return std::exchange(suppressed_, 0); }

 private:
  std::uint32_t burst_;
  Duration interval_;
  TimePoint window_start_{};
  std::uint32_t used_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace hop::core
