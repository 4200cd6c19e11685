// The geo-proxy's typed configuration, built by router/ from the [proxy] config section
// (docs/operations.md lists the keys).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hop/core/runtime.h"
#include "hop/proxy/backend_slots.h"
#include "hop/proxy/proxy_protocol.h"

namespace hop::proxy {

struct ListenerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;                        // 0: any free port (tests)
  std::string app;                               // backends of this app (and app "") serve it
  std::optional<ProxyVersions> proxy_protocol;   // set: every connection must start with a header
};

struct ProxyConfig {
  std::vector<ListenerConfig> listeners;         // empty: the proxy is off
  std::filesystem::path routing_db = "routing.db";  // relative: in the data dir
  std::filesystem::path geoip;                   // empty: no GeoIP (geo_overrides only)
  std::string region;                            // the POP's own region, lower case
  unsigned workers = 0;                          // 0: one per core
  core::Duration connect_timeout = std::chrono::seconds(3);
  core::Duration idle_timeout = std::chrono::minutes(5);
  core::Duration header_timeout = std::chrono::seconds(5);  // PROXY protocol header
  core::Duration drain_timeout = std::chrono::seconds(10);
  std::uint32_t max_connections = 20000;         // client connections at once, all workers
  std::uint32_t client_rate = 0;                 // new connections per second per client IP; 0: off
  std::uint32_t connect_tries = 3;               // backends tried per client (failover)
  std::size_t affinity_size = 65536;             // bindings kept (bounded, oldest go first)
  core::Duration affinity_ttl = std::chrono::minutes(10);
  core::Duration reload_poll = std::chrono::milliseconds(250);  // routing.db and GeoIP file checks
  BreakerPolicy breaker;
  // Not a config key: set by the node when it runs an overlay gateway (services.h), the loopback
  // port through which workers reach `….hop` backends. 0: destination backends are not reachable.
  std::uint16_t overlay_gateway_port = 0;
};

}  // namespace hop::proxy
