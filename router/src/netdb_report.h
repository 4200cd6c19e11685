// The reports of `hopline netdb list|show|bans`, printed from a NetDbView. Pure: no files, no
// clock; `now` is the time ages, expiry and bans are judged at.
#pragma once

#include <ostream>

#include "hop/core/identity.h"
#include "hop/core/runtime.h"
#include "netdb_view.h"

namespace hop::router {

// One row per stored RouterInfo (hash order), then a line of totals.
void print_router_table(std::ostream& out, const NetDbView& view, core::WallTime now);
// The same as one JSON object: {"now", "self", "routers": [...], "profiles", "bans", "skipped_rows"}.
void print_router_json(std::ostream& out, const NetDbView& view, core::WallTime now);
// Everything known about `hash`: RouterInfo, profile with its score terms, ban.
void print_router_detail(std::ostream& out, const NetDbView& view, const core::RouterHash& hash, core::WallTime now);
// One row per ban, ended ones included.
void print_ban_table(std::ostream& out, const NetDbView& view, core::WallTime now);

// "ok", or why the record does not verify ("expired", "bad-signature", ...).
std::string router_status(const StoredRouterView& router);

}  // namespace hop::router
