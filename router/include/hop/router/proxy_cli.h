// `hopline proxy init-db|check|explain|status`: the geo-proxy for an operator. init-db creates a
// routing.db, check shows what the proxy would load from it, explain says where one client would
// go and why (offline: no running proxy needed), status asks a running node's console
// (GET /api/v1/proxy). docs/operations.md ("hopline proxy") has the commands and their output.
// Thread affinity: the caller's thread (status blocks for at most kConsoleClientTimeout).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "hop/core/result.h"
#include "hop/router/json_reader.h"

namespace hop::router {

// Runs `hopline proxy ARGS` (ARGS without "proxy"; none, or only options, is `status`): results on
// `out`, errors on `err`. Returns the exit code: 0 ok, 1 a file or the console failed, 2 usage.
int run_proxy_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The text `hopline proxy status` prints for a GET /api/v1/proxy answer: listeners, routing
// state, counters and a backends table; for {"enabled": false} how to turn the proxy on. Missing
// members print as "-". Errors: `proxy` is not an object or has no boolean "enabled".
core::Result<std::string> format_proxy_status(const JsonValue& proxy);

}  // namespace hop::router
