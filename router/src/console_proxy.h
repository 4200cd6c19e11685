// The console's view of the geo-proxy (docs/console.md: GET /api/v1/proxy, the hopline_proxy_*
// metrics, the /proxy page): read_proxy_view() copies what a running ProxyHost shows — listeners,
// routing.db status, counters and every backend of the routing table in use with its live slot —
// into plain values that the JSON, the metrics and the page format. No I/O.
// Thread affinity: any thread (ProxyHost's read accessors are atomics); the console calls it on
// the node's network thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "console_api.h"
#include "hop/proxy/backend_slots.h"
#include "hop/proxy/proxy_counters.h"
#include "hop/proxy/routing_reloader.h"
#include "hop/proxy/routing_table.h"

namespace hop::router {

class Node;
class ProxyHost;
class ConsoleHistory;

struct ProxyListenerView {
  std::string address;         // the bound host:port ([v6]:port)
  std::string app;
  std::string proxy_protocol;  // "off", "v1", "v2" or "any"
};

inline constexpr std::size_t kRefusalCount = static_cast<std::size_t>(proxy::Refusal::kCount);
inline constexpr std::size_t kBackendErrorCount = static_cast<std::size_t>(proxy::BackendError::kCount);
inline constexpr std::size_t kSelectionBucketCount = proxy::kSelectionBucketsUs.size() + 1;  // + Inf

// One backend of the routing table in use, with the live numbers of its slot (zero without one).
struct ProxyBackendView {
  proxy::Backend backend;
  proxy::Breaker breaker = proxy::Breaker::kClosed;
  std::uint32_t active = 0;
  std::uint64_t connections_total = 0;
  std::uint64_t bytes_to_backend = 0;
  std::uint64_t bytes_from_backend = 0;
  double connect_time_ms = 0;  // EWMA; 0 before the first connection
  std::array<std::uint64_t, kBackendErrorCount> errors{};
  // Healthy in routing.db and the breaker not open: clients may be sent to it.
  bool is_up() const { return backend.healthy && breaker != proxy::Breaker::kOpen; }
};

struct ProxyView {
  unsigned workers = 0;
  std::vector<ProxyListenerView> listeners;
  proxy::ReloadStatus routing;
  std::uint32_t current = 0;        // client connections now
  std::uint64_t accepted = 0;
  std::uint32_t max_connections = 0;
  std::array<std::uint64_t, kRefusalCount> refused{};
  std::uint64_t accept_errors = 0;
  std::uint64_t geoip_misses = 0;
  std::uint64_t geoip_errors = 0;
  std::uint64_t override_hits = 0;
  std::uint64_t affinity_hits = 0;
  std::size_t affinity_entries = 0;
  std::size_t affinity_capacity = 0;
  core::Duration affinity_ttl{};
  std::array<std::uint64_t, kSelectionBucketCount> selection_buckets{};  // cumulative
  std::uint64_t selection_sum_ns = 0;
  std::vector<ProxyBackendView> backends;  // the table's order (by id); empty before the first load

  std::uint64_t selections() const { return selection_buckets.back(); }
  // Mean selection time in microseconds; 0 before the first selection.
  double selection_mean_us() const;
  // True when the last routing.db load succeeded (no error since the snapshot in use).
  bool routing_ok() const { return routing.last_error.empty(); }
};

// ISO 8601 UTC, or "" for a time that never was (the epoch), as /api/v1/proxy writes times.
std::string format_utc_or_empty(core::WallTime t);

// Reads `host` now; `now` is the steady time breakers are judged at (the proxy's clock).
ProxyView read_proxy_view(const ProxyHost& host, core::TimePoint now);

// GET /api/v1/proxy: {"enabled": false} for a node without a proxy, else the whole view.
std::string proxy_json(const Node& node, const ConsoleTimes& times);

// The body of the /proxy page (inside the layout); says how to turn the proxy on without one.
std::string proxy_page_body(const Node& node, const ConsoleTimes& times, const ConsoleHistory& history);

}  // namespace hop::router
