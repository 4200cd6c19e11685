// PeerBook: the profiles and bans of the peers a node knows. Probes and link events go in; out
// come bans, the selection pool and, for persistence, every change (PeerBookObserver). It is the
// ProbeSink the Prober reports to. No I/O and no clock: callers pass `now` (wall time).
// Thread affinity: the node's network thread.
#pragma once

#include <optional>
#include <vector>

#include "hop/netdb/ban.h"
#include "hop/netdb/profile.h"
#include "hop/netdb/selection.h"

namespace hop::netdb {

// Told of each change, to persist it (the node writes it to the NetDbStore off this thread).
class PeerBookObserver {
 public:
  virtual ~PeerBookObserver() = default;
  virtual void on_profile_changed(const core::RouterHash& peer, const PeerProfile& profile) = 0;
  virtual void on_banned(const core::RouterHash& peer, const Ban& ban) = 0;
  virtual void on_ban_ended(const core::RouterHash& peer) = 0;
};

class PeerBook {
 public:
  PeerBook(BanPolicy bans, SelectionOptions selection) : policy_(bans), selection_(selection) {}

  void set_observer(PeerBookObserver* observer) { observer_ = observer; }
  // Replaces the state with what the store held (at start); not reported to the observer.
  void load(Profiles profiles, BanList bans);

  // A reachability test ended. Returns the new ban if this result banned the peer.
  std::optional<Ban> record_reachability(const core::RouterHash& peer, bool ok,
                                         std::optional<core::Duration> rtt, core::WallTime now);
  void record_bandwidth(const core::RouterHash& peer, std::uint64_t bytes, core::Duration elapsed,
                        core::WallTime now);
  void record_build(const core::RouterHash& peer, BuildOutcome outcome, core::WallTime now);
  // The peer showed it is alive (an inbound link). Never lifts a ban.
  void record_seen(const core::RouterHash& peer, core::WallTime now);
  // Removes the bans that ended by `now` and returns their peers (to be tested again).
  std::vector<core::RouterHash> expire_bans(core::WallTime now);

  bool is_banned(const core::RouterHash& peer, core::WallTime now) const {
    return bans_.is_banned(peer, now);
  }
  const Ban* ban_of(const core::RouterHash& peer) const { return bans_.find(peer); }
  const PeerProfile* profile(const core::RouterHash& peer) const;
  // The peers tunnels may use, best first (selection_pool()).
  std::vector<core::RouterHash> selection(core::WallTime now) const {
    return selection_pool(profiles_, bans_, selection_, now);
  }
  const Profiles& profiles() const { return profiles_; }
  const BanList& bans() const { return bans_; }
  const BanPolicy& policy() const { return policy_; }

 private:
  void changed(const core::RouterHash& peer, const PeerProfile& profile);

  BanPolicy policy_;
  SelectionOptions selection_;
  Profiles profiles_;
  BanList bans_;
  PeerBookObserver* observer_ = nullptr;
};

}  // namespace hop::netdb
