// SIGHUP for `hopline node`: applies what can change live (is_reloadable_key) to the running
// node and the process, and says what needs a restart (docs/operations.md, "Reloading the config").
// Thread affinity: the node's thread.
#pragma once

#include <string>
#include <vector>

#include "hop/core/result.h"
#include "hop/router/config.h"

namespace hop::router {

class Node;

// What one reload did; each line is also logged.
struct ReloadReport {
  bool accepted = false;  // false: the new config was refused and nothing changed
  std::string error;      // why it was refused
  std::vector<std::string> applied;  // one per changed live key: "proxy.max_connections 20000 -> 500"
  std::vector<std::string> restart;  // changed keys that keep their running value until a restart
};

// `next` is the config as re-read (files, then flags), or why it could not be read. A read or
// validation error changes nothing. Otherwise every changed live key is applied (the log level
// here, limits through Node::reload_limits) and recorded in `running`; the other changed keys are
// left out of `running`, so a later reload lists them again. routing.db (and the GeoIP file) is
// re-read on every accepted reload, from a new path if proxy.routing_db changed.
ReloadReport reload_node(const core::Result<ConfigMap>& next, ConfigMap& running, Node& node);

}  // namespace hop::router
