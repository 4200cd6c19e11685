// Tunnel pools: a set of inbound and outbound tunnels kept at a quantity and rebuilt before they
// expire (make-before-break). PoolPlan is the pure decision: given the pool's tunnels and `now`,
// how many builds to start in each direction. The TunnelManager carries the decisions out.
// Thread affinity: none (pure).
#pragma once

#include <cstddef>
#include <vector>

#include "hop/core/runtime.h"
#include "hop/tunnels/constants.h"

namespace hop::tunnels {

enum class Direction : std::uint8_t { kInbound, kOutbound };

struct PoolConfig {
  std::size_t inbound_quantity = 2;   // 1-6
  std::size_t outbound_quantity = 2;  // 1-6
  std::size_t length = 3;             // hops, 0-7 (0: direct links)
  core::Duration lifetime = kTunnelLifetime;
};

// What the plan needs to know of one tunnel of the pool.
struct PoolTunnel {
  Direction direction = Direction::kOutbound;
  bool established = false;  // false: its build is still pending
  core::TimePoint expires{};
};

// When a tunnel is due for replacement: a quarter of its life before it expires, at most 90 s
// (a build takes milliseconds, but a first try may time out after 10 s and be retried).
core::Duration replacement_margin(core::Duration lifetime);

struct PoolBuilds {
  std::size_t inbound = 0;
  std::size_t outbound = 0;
};
// Builds to start now so that each direction has `quantity` tunnels that are established or
// pending and not yet due for replacement. A tunnel due for replacement still counts as usable
// until it expires; only its successor is started.
PoolBuilds plan_builds(const std::vector<PoolTunnel>& tunnels, const PoolConfig& config, core::TimePoint now);

}  // namespace hop::tunnels
