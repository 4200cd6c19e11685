#include "hop/core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "hop/core/errors.h"

namespace hop::core {

Status check_log_level(const std::string& level) {
  // from_str maps unknown names to "off"; only accept "off" when it was asked for.
  if (spdlog::level::from_str(level) == spdlog::level::off && level != "off") {
    return make_error(Errc::kInvalidArgument,
                      "unknown log level '" + level +
                          "' (use trace, debug, info, warn, error, critical or off)");
  }
  return {};
}

Status set_log_level(const std::string& level) {
  if (auto st = check_log_level(level); !st) return st;
  spdlog::set_level(spdlog::level::from_str(level));
  return {};
}

Status init_logging(const LogConfig& config) {
  std::shared_ptr<spdlog::logger> logger;
  spdlog::drop("hopline");  // re-initialisation replaces the earlier sink
  try {
    if (config.file.empty()) {
      logger = spdlog::stdout_color_mt("hopline");
    } else {
      logger = spdlog::basic_logger_mt("hopline", config.file);
    }
  } catch (const spdlog::spdlog_ex& e) {
    return make_error(Errc::kIo, std::string("opening log: ") + e.what());
  }
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  // Events are rare enough that flushing each info line costs nothing, and `tail -f` sees it.
  spdlog::flush_on(spdlog::level::info);
  return set_log_level(config.level);
}

bool LogLimiter::allow(TimePoint now) {
  if (now - window_start_ >= interval_) {
    window_start_ = now;
    used_ = 0;
  }
  if (used_ < burst_) {
    ++used_;
    return true;
  }
  ++suppressed_;
  return false;
}

}  // namespace hop::core
