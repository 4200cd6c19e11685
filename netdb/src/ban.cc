#include "hop/netdb/ban.h"

namespace hop::netdb {

std::optional<Ban> decide_ban(const PeerProfile& profile, const BanPolicy& policy, core::WallTime now) {
  if (policy.failures_before_ban == 0 || profile.consecutive_failures < policy.failures_before_ban) {
    return std::nullopt;
  }
  const auto wall_duration = std::chrono::duration_cast<core::WallTime::duration>(policy.duration);
  return Ban{"unreachable: " + std::to_string(profile.consecutive_failures) + " reachability tests failed in a row",
             now, now + wall_duration};
}

void BanList::ban(const core::RouterHash& peer, Ban ban) {
  auto [it, inserted] = bans_.try_emplace(peer, ban);
  if (!inserted && ban.end > it->second.end) it->second = std::move(ban);
}

bool BanList::is_banned(const core::RouterHash& peer, core::WallTime now) const {
  const Ban* b = find(peer);
  return b != nullptr && now < b->end;
}

const Ban* BanList::find(const core::RouterHash& peer) const {
  auto it = bans_.find(peer);
  return it == bans_.end() ? nullptr : &it->second;
}

std::vector<core::RouterHash> BanList::expire(core::WallTime now) {
  std::vector<core::RouterHash> ended;
  for (auto it = bans_.begin(); it != bans_.end();) {
    if (now < it->second.end) {
      ++it;
      continue;
    }
    ended.push_back(it->first);
    it = bans_.erase(it);
  }
  return ended;
}

}  // namespace hop::netdb
