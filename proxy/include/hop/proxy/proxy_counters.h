// The proxy's process-wide counters, read by the console and /metrics (docs/console.md).
// Per-backend figures live in BackendState. Thread-safety: atomics, updated by every worker.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "hop/core/runtime.h"

namespace hop::proxy {

// Why a client connection was closed without reaching a backend (or before its end).
enum class Refusal : std::uint8_t {
  kNoBackend,       // no backend of its app is healthy, open and below hard_limit
  kAllFailed,       // every backend tried failed to connect
  kMaxConnections,  // proxy.max_connections reached
  kClientRate,      // proxy.client_rate exceeded by this address
  kProxyHeader,     // malformed or missing PROXY protocol header
  kHeaderTimeout,   // no complete PROXY header within proxy.header_timeout
  kDraining,        // the node is shutting down
  kCount,
};
const char* to_string(Refusal refusal);

// Upper bounds (microseconds) of the selection-time histogram buckets; the last is +Inf.
inline constexpr std::array<double, 7> kSelectionBucketsUs = {0.5, 1, 2, 5, 10, 50, 250};

class ProxyCounters {
 public:
  void on_accepted() { accepted_.fetch_add(1, std::memory_order_relaxed); }
  void on_refused(Refusal r) { refused_[static_cast<int>(r)].fetch_add(1, std::memory_order_relaxed); }
  void on_accept_error() { accept_errors_.fetch_add(1, std::memory_order_relaxed); }
  void on_geoip_miss() { geoip_misses_.fetch_add(1, std::memory_order_relaxed); }
  void on_geoip_error() { geoip_errors_.fetch_add(1, std::memory_order_relaxed); }
  void on_override_hit() { override_hits_.fetch_add(1, std::memory_order_relaxed); }
  void on_affinity_hit() { affinity_hits_.fetch_add(1, std::memory_order_relaxed); }
  void on_selection(core::Duration took);

  // Client connections at once (admission control against max_connections).
  bool try_admit(std::uint32_t max_connections);
  void on_closed() { current_.fetch_sub(1, std::memory_order_relaxed); }

  std::uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  std::uint32_t current() const { return current_.load(std::memory_order_relaxed); }
  std::uint64_t refused(Refusal r) const { return refused_[static_cast<int>(r)].load(std::memory_order_relaxed); }
  std::uint64_t accept_errors() const { return accept_errors_.load(std::memory_order_relaxed); }
  std::uint64_t geoip_misses() const { return geoip_misses_.load(std::memory_order_relaxed); }
  std::uint64_t geoip_errors() const { return geoip_errors_.load(std::memory_order_relaxed); }
  std::uint64_t override_hits() const { return override_hits_.load(std::memory_order_relaxed); }
  std::uint64_t affinity_hits() const { return affinity_hits_.load(std::memory_order_relaxed); }
  // Cumulative histogram counts per kSelectionBucketsUs bound plus +Inf; and the sum in ns.
  std::array<std::uint64_t, kSelectionBucketsUs.size() + 1> selection_buckets() const;
  std::uint64_t selection_sum_ns() const { return selection_sum_ns_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint32_t> current_{0};
  std::array<std::atomic<std::uint64_t>, static_cast<int>(Refusal::kCount)> refused_{};
  std::atomic<std::uint64_t> accept_errors_{0};
  std::atomic<std::uint64_t> geoip_misses_{0};
  std::atomic<std::uint64_t> geoip_errors_{0};
  std::atomic<std::uint64_t> override_hits_{0};
  std::atomic<std::uint64_t> affinity_hits_{0};
  std::array<std::atomic<std::uint64_t>, kSelectionBucketsUs.size() + 1> selection_{};  // per bucket
  std::atomic<std::uint64_t> selection_sum_ns_{0};
};

}  // namespace hop::proxy
