#include "hop/tunnels/pool.h"

#include <algorithm>

namespace hop::tunnels {

core::Duration replacement_margin(core::Duration lifetime) {
  return std::min<core::Duration>(lifetime / 4, std::chrono::seconds(90));
}

PoolBuilds plan_builds(const std::vector<PoolTunnel>& tunnels, const PoolConfig& config, core::TimePoint now) {
  const auto margin = replacement_margin(config.lifetime);
  std::size_t in = 0, out = 0;
  for (const auto& t : tunnels) {
    // A pending build counts: its tunnel will live a full lifetime once it is up.
    const bool fresh = !t.established || t.expires - margin > now;
    if (!fresh) continue;
    (t.direction == Direction::kInbound ? in : out) += 1;
  }
  return {config.inbound_quantity > in ? config.inbound_quantity - in : 0,
          config.outbound_quantity > out ? config.outbound_quantity - out : 0};
}

}  // namespace hop::tunnels
