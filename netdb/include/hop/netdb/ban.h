// Bans: a peer that fails `failures_before_ban` reachability tests in a row is not used, nor
// tested, until its ban ends. decide_ban() is the pure decision; BanList holds the bans.
//
// Only time lifts a ban. There is deliberately no API to end one early: an inbound connection,
// a RouterInfo or any other message from a banned peer changes nothing until `end`.
// Times are wall time, because bans are persisted and must survive a restart (NetDbStore).
// Thread affinity: none (BanList is a value type; its owner keeps it on one thread).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/runtime.h"
#include "hop/netdb/constants.h"
#include "hop/netdb/profile.h"

namespace hop::netdb {

struct BanPolicy {
  std::uint32_t failures_before_ban = kDefaultBanAfterFailures;  // 0: never ban
  core::Duration duration = kDefaultBanDuration;
};

// A ban is in force while start <= now < end (it ends at exactly `end`).
struct Ban {
  std::string reason;
  core::WallTime start{};
  core::WallTime end{};
  bool operator==(const Ban&) const = default;
};

// A ban starting at `now` if the profile has at least policy.failures_before_ban consecutive
// failed reachability tests; otherwise nullopt. A peer still failing after its ban ended has
// not reset its count, so it is banned again at its next failure.
std::optional<Ban> decide_ban(const PeerProfile& profile, const BanPolicy& policy, core::WallTime now);

class BanList {
 public:
  // Bans `peer`. If it is already banned, the ban that ends later is kept (a ban never shortens).
  void ban(const core::RouterHash& peer, Ban ban);
  // True while now < end of the peer's ban (regardless of `start`, so a clock step back does
  // not lift it).
  bool is_banned(const core::RouterHash& peer, core::WallTime now) const;
  // The peer's ban, ended or not, until expire() removes it; nullptr if none.
  const Ban* find(const core::RouterHash& peer) const;
  // Removes every ban with end <= now and returns those peers, in hash order: test them again
  // (and remove their rows from the store).
  std::vector<core::RouterHash> expire(core::WallTime now);
  const std::map<core::RouterHash, Ban>& all() const { return bans_; }
  std::size_t size() const { return bans_.size(); }

 private:
  std::map<core::RouterHash, Ban> bans_;
};

}  // namespace hop::netdb
