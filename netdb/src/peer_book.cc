#include "hop/netdb/peer_book.h"

namespace hop::netdb {

void PeerBook::load(Profiles profiles, BanList bans) {
  profiles_ = std::move(profiles);
  bans_ = std::move(bans);
}

void PeerBook::changed(const core::RouterHash& peer, const PeerProfile& profile) {
  if (observer_) observer_->on_profile_changed(peer, profile);
}

std::optional<Ban> PeerBook::record_reachability(const core::RouterHash& peer, bool ok,
                                                 std::optional<core::Duration> rtt, core::WallTime now) {
  auto& profile = profiles_[peer];
  profile.record_reachability(ok, rtt, now);
  changed(peer, profile);
  // A peer already banned is not tested, but a result may still arrive (a probe in flight when
  // the ban began); it never extends or restarts the ban.
  if (bans_.is_banned(peer, now)) return std::nullopt;
  auto ban = decide_ban(profile, policy_, now);
  if (!ban) return std::nullopt;
  bans_.ban(peer, *ban);
  if (observer_) observer_->on_banned(peer, *ban);
  return ban;
}

void PeerBook::record_bandwidth(const core::RouterHash& peer, std::uint64_t bytes,
                                core::Duration elapsed, core::WallTime now) {
  auto& profile = profiles_[peer];
  profile.record_bandwidth(bytes, elapsed, now);
  changed(peer, profile);
}

void PeerBook::record_build(const core::RouterHash& peer, BuildOutcome outcome, core::WallTime now) {
  auto& profile = profiles_[peer];
  profile.record_build(outcome, now);
  changed(peer, profile);
}

void PeerBook::record_seen(const core::RouterHash& peer, core::WallTime now) {
  auto& profile = profiles_[peer];
  profile.record_seen(now);
  changed(peer, profile);
}

std::vector<core::RouterHash> PeerBook::expire_bans(core::WallTime now) {
  auto ended = bans_.expire(now);
  if (observer_) {
    for (const auto& peer : ended) observer_->on_ban_ended(peer);
  }
  return ended;
}

const PeerProfile* PeerBook::profile(const core::RouterHash& peer) const {
  auto it = profiles_.find(peer);
  return it == profiles_.end() ? nullptr : &it->second;
}

}  // namespace hop::netdb
