// The console's JSON API (GET /api/v1/...; docs/console.md lists every field): JSON documents
// built by hand from the node's public accessors. No I/O; times come in ConsoleTimes.
// Thread affinity: the node's network thread (it reads the live node).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hop/core/runtime.h"
#include "hop/netdb/lease_set.h"

namespace hop::router {

class Node;

// When "now" is, and when the node (its console) started, for ages and uptime.
struct ConsoleTimes {
  core::TimePoint now{};
  core::WallTime wall_now{};
  core::TimePoint started{};
};

// The JSON body for GET `path` (without a query string), or nullopt when no endpoint has it.
std::optional<std::string> api_json(std::string_view path, const Node& node, const ConsoleTimes& times);
// True if `path` is an API endpoint (for 405 versus 404).
bool is_api_path(std::string_view path);

std::string status_json(const Node& node, const ConsoleTimes& times);
std::string peers_json(const Node& node, const ConsoleTimes& times);
std::string netdb_json(const Node& node, const ConsoleTimes& times);
std::string tunnels_json(const Node& node, const ConsoleTimes& times);
std::string transit_json(const Node& node, const ConsoleTimes& times);
// GET /api/v1/proxy is proxy_json() (console_proxy.h), GET /api/v1/services services_json()
// (console_services.h).

// A LeaseSet refusal reason as the API and the metrics name it: "bad_signature".
std::string lease_set_refusal_name(netdb::LeaseSetRefusal reason);

}  // namespace hop::router
