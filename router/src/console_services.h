// The console's view of the node's services, client tunnels and the destinations they run on
// (docs/console.md: GET /api/v1/services, the hopline_service_*, hopline_client_tunnel_* and
// hopline_destination_* metrics, the /services page), and the names of the node's tunnel pools.
// No I/O.
// Thread affinity: the node's network thread (it reads the live destinations).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "console_api.h"
#include "hop/tunnels/local_destination.h"

namespace hop::router {

class Node;

// Each pool of the node by name: 0 "exploratory", a service's "service:NAME", a client tunnel's
// "client:NAME", a POP's overlay gateway "proxy:gateway". Bounded by the config, so also the
// `destination` label of the metrics.
using PoolNames = std::map<tunnels::PoolId, std::string>;
PoolNames pool_names(const Node& node);
// The pool's name, or "pool N" for one not in `names`.
std::string pool_name(const PoolNames& names, tunnels::PoolId pool);

// One hosted destination with its name and its pool's established tunnels.
struct DestinationView {
  const tunnels::LocalDestination* destination = nullptr;
  std::string name;
  std::size_t inbound = 0;
  std::size_t outbound = 0;
  // Leases of its LeaseSet as last published; 0 before the first.
  std::size_t leases() const;
};

// Every destination of the node, in pool order.
std::vector<DestinationView> read_destinations(const Node& node);

// GET /api/v1/services: every service, client tunnel and destination with its sessions.
std::string services_json(const Node& node, const ConsoleTimes& times);

// The body of the /services page (inside the layout); says how to add a service without any.
std::string services_page_body(const Node& node, const ConsoleTimes& times);

}  // namespace hop::router
