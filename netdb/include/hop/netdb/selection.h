// The selection pool: the peers tunnels may use as hops — reachable, not banned, scoring at
// least min_score — best first. Pure; the node recomputes it when profiles change and publishes
// it as an immutable snapshot.
// Thread affinity: none (a pure function).
#pragma once

#include <cstddef>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/runtime.h"
#include "hop/netdb/ban.h"
#include "hop/netdb/constants.h"
#include "hop/netdb/profile.h"

namespace hop::netdb {

struct SelectionOptions {
  double min_score = kDefaultMinScore;
  std::size_t capacity = kDefaultSelectionCapacity;  // most peers in the pool
  core::Duration seen_within = kRecentlySeen;        // see is_reachable()
};

// At most `capacity` peers that are reachable (is_reachable), not banned at `now` and score at
// least min_score, ordered by score (highest first), equal scores by router hash (ascending).
std::vector<core::RouterHash> selection_pool(const Profiles& profiles, const BanList& bans,
                                             const SelectionOptions& options, core::WallTime now);

}  // namespace hop::netdb
