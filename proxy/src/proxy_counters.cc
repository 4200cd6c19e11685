#include "hop/proxy/proxy_counters.h"

namespace hop::proxy {

const char* to_string(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNoBackend: return "no_backend";
    case Refusal::kAllFailed: return "all_backends_failed";
    case Refusal::kMaxConnections: return "max_connections";
    case Refusal::kClientRate: return "client_rate";
    case Refusal::kProxyHeader: return "proxy_header";
    case Refusal::kHeaderTimeout: return "header_timeout";
    case Refusal::kDraining: return "draining";
    case Refusal::kCount: break;
  }
  return "?";
}

void ProxyCounters::on_selection(core::Duration took) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  selection_sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  std::size_t bucket = 0;
  while (bucket < kSelectionBucketsUs.size() && static_cast<double>(ns) > kSelectionBucketsUs[bucket] * 1000) ++bucket;
  selection_[bucket].fetch_add(1, std::memory_order_relaxed);
}

bool ProxyCounters::try_admit(std::uint32_t max_connections) {
  std::uint32_t now = current_.load(std::memory_order_relaxed);
  while (now < max_connections) {
    if (current_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

std::array<std::uint64_t, kSelectionBucketsUs.size() + 1> ProxyCounters::selection_buckets() const {
  std::array<std::uint64_t, kSelectionBucketsUs.size() + 1> out{};
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    running += selection_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

}  // namespace hop::proxy
