// Kademlia geometry of the floodfill DHT: XOR distance between 32-byte keys, the K closest of a
// set, and daily routing keys. Pure functions.
#pragma once

#include <span>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/runtime.h"

namespace hop::netdb {

using Distance = core::crypto::Key32;

Distance xor_distance(const core::RouterHash& a, const core::RouterHash& b);

// True when `a` is strictly closer to `target` than `b` (distances compared as big-endian numbers).
bool is_closer(const core::RouterHash& target, const core::RouterHash& a, const core::RouterHash& b);

// The `k` candidates closest to `target`, closest first. Duplicates in `candidates` count once.
std::vector<core::RouterHash> closest(const core::RouterHash& target,
                                      std::span<const core::RouterHash> candidates, std::size_t k);

// The key under which `key` is stored on day `now` (UTC): BLAKE2b-256(key || "YYYYMMDD").
// Rotating daily means no one can keep a floodfill next to a chosen key by picking its identity.
core::RouterHash routing_key(const core::RouterHash& key, core::WallTime now);

}  // namespace hop::netdb
