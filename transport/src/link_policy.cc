#include "hop/transport/link_policy.h"

namespace hop::transport {

std::optional<std::size_t> pick_eviction(const LinkLimits& limits,
                                         std::span<const LinkUsage> links) {
  if (links.size() <= limits.soft) return std::nullopt;
  std::optional<std::size_t> best;
  core::TimePoint oldest = core::TimePoint::max();
  for (const LinkUsage& link : links) {
    if (!link.established || link.persistent) continue;
    if (link.last_activity < oldest) {
      oldest = link.last_activity;
      best = link.index;
    }
  }
  return best;
}

}  // namespace hop::transport
