// What every proxy worker shares, and the snapshot of routing state each one holds.
#pragma once

#include <memory>

#include "hop/proxy/affinity.h"
#include "hop/proxy/backend_slots.h"
#include "hop/proxy/geoip.h"
#include "hop/proxy/live_limits.h"
#include "hop/proxy/proxy_config.h"
#include "hop/proxy/proxy_counters.h"
#include "hop/proxy/selection.h"

namespace hop::proxy {

// Thread-safety: the members are safe from every worker (atomics and lock-free tables); config
// is immutable: the config at start. What SIGHUP may change is read from `limits` and `rate`.
struct ProxyShared {
  explicit ProxyShared(ProxyConfig proxy_config)
      : config(std::move(proxy_config)),
        limits(config),
        affinity(config.affinity_size, config.affinity_ttl),
        rate(config.affinity_size, config.client_rate) {}

  // Applies the live keys of `next` (LiveLimits, client_rate); any thread. Open connections stay.
  void apply_limits(const ProxyConfig& next) {
    limits.apply(next);
    rate.set_per_second(next.client_rate);
  }

  const ProxyConfig config;
  LiveLimits limits;
  BackendSlots slots;
  AffinityTable affinity;
  ClientRateLimiter rate;
  ProxyCounters counters;
};

// One routing table and GeoIP database, immutable; the control thread builds a new one on every
// change and hands it to each worker.
struct RoutingSnapshot {
  std::shared_ptr<const CompiledTable> table;
  std::shared_ptr<const GeoIp> geoip;  // null: no GeoIP database configured or loaded
};

// Where a client is: the most specific geo_override, else GeoIP, else unknown. Counts misses.
Place locate(const RoutingSnapshot& snapshot, const IpAddress& client, ProxyCounters* counters);

}  // namespace hop::proxy
