// `hopline netdb list|show|export|bans`: reads a node's NetDB (DATA_DIR/netdb.sqlite) and prints
// it for an operator; docs/operations.md has the commands and their output. It never creates the
// file, and may run beside the node that uses it (SQLite WAL: a reader does not block the writer).
// Thread affinity: the caller's thread (it opens its own store handle).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "hop/core/runtime.h"

namespace hop::router {

// Runs `hopline netdb ARGS` (ARGS without "netdb"): results on `out`, errors on `err`. Ages,
// expiry and bans are judged at `now`. Returns the exit code: 0 ok, 1 error, 2 usage.
int run_netdb_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, core::WallTime now);

}  // namespace hop::router
