// Text forms shared by the `hopline netdb` commands: times in UTC, durations an operator reads at
// a glance, addresses, and JSON strings. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "hop/core/runtime.h"
#include "hop/netdb/ban.h"
#include "hop/netdb/router_info.h"

namespace hop::router {

// "2027-01-15T08:00:00Z"; "never" for the epoch (an unset time in a profile).
std::string format_utc(core::WallTime t);
// "42s", "12m30s", "3h05m", "2d03h"; negative durations as their magnitude.
std::string format_duration(core::Duration d);
// "12m ago", "in 3m" (a time ahead of `now`), or "never".
std::string format_age(core::WallTime then, core::WallTime now);
// "host:port", IPv6 hosts in brackets.
std::string format_address(const netdb::RouterAddress& address);
// "in force, 23h59m left" or "ended 2h05m ago".
std::string format_ban_state(const netdb::Ban& ban, core::WallTime now);
// `text` with control characters (a terminal's escape sequences) replaced by '?': for fields that
// come from other routers, such as a region.
std::string printable(std::string_view text);
// `text` as a quoted JSON string.
std::string json_string(std::string_view text);
// Whole seconds from `then` to `now` (negative if `then` is ahead).
long long seconds_between(core::WallTime then, core::WallTime now);

}  // namespace hop::router
