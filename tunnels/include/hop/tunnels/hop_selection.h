// Hop selection (docs/tunnels.md, "Hop selection"): which peers a new tunnel goes through.
// Pure: the caller passes the NetDB selection pool (already free of banned, unreachable and
// low-scoring peers) joined with each peer's RouterInfo, and the RNG.
// Thread affinity: none (a pure function; the RNG belongs to the caller).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/result.h"
#include "hop/tunnels/constants.h"

namespace hop::tunnels {

// One peer of the selection pool, as hop selection sees it.
struct HopCandidate {
  core::RouterHash hash;
  double score = 0;                 // netdb::score(), in [0, 1]
  std::string host;                 // numeric IPv4/IPv6 address from its RouterInfo
  std::uint32_t bandwidth_kbps = 0;  // bandwidth it shares, KB/s, from its RouterInfo
};

// The rules an operator can tune (config tunnels.min_hop_bandwidth_kbps).
struct HopRules {
  std::uint32_t min_bandwidth_kbps = kDefaultParticipationKbps;
};

// What one tunnel needs.
struct HopRequest {
  std::size_t length = 0;  // hops, 0..kMaxHops
  core::RouterHash self;   // never a hop of its own tunnels
  // Peers to use only if nothing else fits, e.g. the hops of the tunnel being replaced.
  std::vector<core::RouterHash> avoid;
};

// The rules that give way, in the order they give way, when the pool is too small for all.
// Never relaxed: self is never a hop, and no peer is a hop twice.
enum class Relaxation : std::uint8_t {
  kAvoidList,  // a peer from HopRequest::avoid
  kSubnet,     // two hops in one IPv4 /16 or IPv6 /32
  kBandwidth,  // a hop below HopRules::min_bandwidth_kbps
};

struct HopChoice {
  std::vector<core::RouterHash> hops;  // hop 1 first; exactly request.length entries
  std::vector<Relaxation> relaxed;     // the rules these hops break, in relaxation order
};

// "avoid-list", "subnet", "bandwidth": for logs and metrics labels.
std::string_view to_string(Relaxation relaxation);

// Draws request.length distinct hops from `pool`, weighted by score, relaxing the rules one at
// a time only as far as the pool requires. Candidates whose host is not a numeric IP are
// skipped. Errors: core::Errc::kInvalidArgument if length > kMaxHops; Errc::kNoRoute if the
// pool is too small even with every rule relaxed.
core::Result<HopChoice> select_hops(const std::vector<HopCandidate>& pool, const HopRequest& request,
                                    const HopRules& rules, std::mt19937_64& rng);

}  // namespace hop::tunnels
