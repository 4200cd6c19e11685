// Pure decisions about link limits: whether to accept, whether to dial, whom to evict.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "hop/core/runtime.h"
#include "hop/transport/constants.h"

namespace hop::transport {

struct LinkLimits {
  std::size_t hard = kDefaultHardLimit;  // connections (linked or handshaking) per transport
  std::size_t soft = kDefaultHardLimit * kDefaultSoftLimitPercent / 100;
};

// A link as eviction sees it.
struct LinkUsage {
  std::size_t index = 0;  // caller's handle
  core::TimePoint last_activity{};
  bool persistent = false;
  bool established = false;
};

// Below the hard limit a new inbound connection is accepted.
inline bool may_accept(const LinkLimits& limits, std::size_t open) { return open < limits.hard; }
// Below the soft limit we dial new peers.
inline bool may_dial(const LinkLimits& limits, std::size_t open) { return open < limits.soft; }
// Above the soft limit: the established, non-persistent link idle the longest, if any.
std::optional<std::size_t> pick_eviction(const LinkLimits& limits, std::span<const LinkUsage> links);

}  // namespace hop::transport
