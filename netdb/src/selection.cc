#include "hop/netdb/selection.h"

#include <algorithm>
#include <utility>

namespace hop::netdb {
namespace {

struct Candidate {
  double score;
  core::RouterHash hash;
};

bool better(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.hash < b.hash;
}

std::vector<Candidate> eligible(const Profiles& profiles, const BanList& bans,
                                const SelectionOptions& options, core::WallTime now) {
  std::vector<Candidate> out;
  for (const auto& [hash, profile] : profiles) {
    if (bans.is_banned(hash, now) || !is_reachable(profile, now, options.seen_within)) continue;
    const double s = score(profile, now);
    if (s >= options.min_score) out.push_back({s, hash});
  }
  return out;
}

}  // namespace

std::vector<core::RouterHash> selection_pool(const Profiles& profiles, const BanList& bans,
                                             const SelectionOptions& options, core::WallTime now) {
  std::vector<Candidate> candidates = eligible(profiles, bans, options, now);
  const std::size_t keep = std::min(options.capacity, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(keep),
                    candidates.end(), better);
  std::vector<core::RouterHash> pool;
  pool.reserve(keep);
  for (std::size_t i = 0; i < keep; ++i) pool.push_back(candidates[i].hash);
  return pool;
}

}  // namespace hop::netdb
