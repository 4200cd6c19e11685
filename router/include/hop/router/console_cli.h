// `hopline status|peers|tunnels|netdb|services [--console URL] [--json]`: asks a running node's console
// (docs/console.md) and prints a table, or the JSON as served with --json.
// Thread affinity: the caller's thread (blocks for at most kConsoleClientTimeout).
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace hop::router {

// True for the commands run_console_command handles.
bool is_console_command(std::string_view command);
// Runs `hopline COMMAND ARGS`: results on `out`, errors on `err`. Returns the exit code: 0 ok,
// 1 the console is unreachable or answered with an error, 2 usage.
int run_console_command(std::string_view command, const std::vector<std::string>& args, std::ostream& out,
                        std::ostream& err);

}  // namespace hop::router
