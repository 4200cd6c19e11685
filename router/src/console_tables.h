// Text tables for the console commands (hopline status|peers|tunnels|netdb|services) from the JSON the
// console serves (docs/console.md). Pure functions; strings from other routers are made printable.
// Errors: a document without the expected shape (not an object, the array missing).
#pragma once

#include <string>

#include "hop/core/result.h"
#include "hop/router/json_reader.h"

namespace hop::router {

inline constexpr std::size_t kShortHashLength = 8;  // enough to tell a few hundred peers apart

// GET /api/v1/status as "key  value" lines; nested members as "links.count".
core::Result<std::string> format_status_table(const JsonValue& status);
// GET /api/v1/peers: hash(short) score rtt bandwidth last-seen ban, best score first.
core::Result<std::string> format_peers_table(const JsonValue& peers);
// GET /api/v1/tunnels: id pool(name) dir state hops(short hashes joined by ">") age expires latency.
core::Result<std::string> format_tunnels_table(const JsonValue& tunnels);
// GET /api/v1/netdb: hash address ff bw region published.
core::Result<std::string> format_netdb_table(const JsonValue& netdb);
// GET /api/v1/services: three tables, services (name address target conns active failed in out),
// client tunnels (name listen remote conns active failed in out) and destinations (name pool
// tunnels in/out, LeaseSet leases, sessions, open streams, path changes).
core::Result<std::string> format_services_table(const JsonValue& services);

}  // namespace hop::router
