// The NetDB service: the RouterInfos a node knows, the floodfill DHT role, publishing our own
// record, iterative lookups and exploration; and the same for LeaseSets (our destinations', and
// those a floodfill stores or a lookup fetched). Sends through any LinkLayer (TCP or simulated).
// LeaseSet handling is in netdb_lease_sets.cc; docs/netdb.md, "In the DHT".
//
// Timers (all armed in netdb.cc, arm_* functions):
//   publish     every publish_interval: our RouterInfo and live LeaseSets to the K floodfills
//               closest to their keys
//   lease sets  every lease_set_republish: our live LeaseSets again, and held LeaseSets of
//               others whose last lease has expired are dropped
//   explore     every explore_interval: an exploratory lookup of a random key
//   lookups     every kLookupTick while lookups run: query timeouts, next queries, deadlines
// Also: a publish is posted (once per burst) whenever a new floodfill is learned.
// Thread affinity: the node's network thread (the LinkLayer's).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hop/core/runtime.h"
#include "hop/netdb/constants.h"
#include "hop/netdb/destination.h"
#include "hop/netdb/lease_set.h"
#include "hop/netdb/messages.h"
#include "hop/netdb/router_info.h"
#include "hop/transport/link_layer.h"

namespace hop::netdb {

// A LeaseSet lives at most kMaxLeaseLifetime (11 min): republishing every 5 min stores it twice
// within that, so a floodfill that lost it (a restart, the daily routing-key rotation) has it
// again well before it expires. The owner also publishes at once whenever it re-signs.
inline constexpr auto kLeaseSetRepublish = 5min;
// Others' LeaseSets a node holds (stored as a floodfill or cached from lookups), about 1 KiB
// each: 10,000 is ~10 MiB, far more than a floodfill's share of a network's destinations.
inline constexpr std::size_t kMaxStoredLeaseSets = 10'000;

struct NetDbConfig {
  std::uint32_t network_id = 1;
  bool floodfill = false;
  std::size_t replication = kDefaultReplication;  // K: floodfills a record is stored at
  std::size_t alpha = 3;                          // queries in flight per lookup
  core::Duration query_timeout = 3s;
  core::Duration lookup_timeout = 15s;
  core::Duration publish_interval = kRepublishInterval;
  core::Duration explore_interval = 30s;
  core::Duration lease_set_republish = kLeaseSetRepublish;
  std::size_t max_stored_lease_sets = kMaxStoredLeaseSets;  // others' LeaseSets; ours do not count
};

struct NetDbCounters {
  std::uint64_t stores_received = 0;
  std::uint64_t stores_accepted = 0;
  std::uint64_t floods_sent = 0;
  std::uint64_t lookups_received = 0;
  std::uint64_t lookups_started = 0;
  std::uint64_t lookups_found = 0;
  std::uint64_t lookups_failed = 0;
  std::uint64_t malformed_messages = 0;
  RefusalCounters refusals;
  // LeaseSets. stores_received above counts DatabaseStores of both kinds; stores_accepted only
  // RouterInfos.
  std::uint64_t lease_set_stores_accepted = 0;  // new or newer, kept by a floodfill
  std::uint64_t lease_set_lookups_started = 0;  // lookup_lease_set calls that went to the network
  std::uint64_t lease_set_lookups_found = 0;
  std::uint64_t lease_set_lookups_failed = 0;
  std::uint64_t lease_sets_refused_full = 0;    // a new one while max_stored_lease_sets are held
  LeaseSetRefusalCounters lease_set_refusals;   // failed verification, by reason
};

class NetDb {
 public:
  // Called with the record, or nullptr when the lookup failed.
  using LookupDone = std::function<void(const SignedRouterInfo*)>;
  // Called with the LeaseSet, or nullptr when it was not found in time. The pointer is valid
  // during the call only (the set may not have been kept: see max_stored_lease_sets).
  using LeaseSetDone = std::function<void(const SignedLeaseSet*)>;
  struct HeldLeaseSet {
    const SignedLeaseSet* lease_set;
    bool local;  // one of our own destinations'
  };

  NetDb(core::Runtime& runtime, transport::LinkLayer& links, const core::Identity& identity,
        NetDbConfig config);
  ~NetDb();
  NetDb(const NetDb&) = delete;
  NetDb& operator=(const NetDb&) = delete;

  // Signs and keeps our own RouterInfo; published at start() and every publish_interval.
  void set_local_info(RouterInfo info);
  // Adds a record from a trusted-by-operator source (an exported seed file); still verified.
  core::Result<core::RouterHash> add_record(core::ByteView wire);
  // Asks a host:port:key seed for its own RouterInfo (a lookup of the all-zero key).
  void bootstrap_from(const transport::PeerContact& seed);
  void start();
  void stop();

  // A link to `peer` came up. If it is a floodfill, our record is published again soon (once per
  // burst): after a restart the stored addresses of floodfills may be stale, and a publish over
  // a fresh link is what brings them our current record.
  void on_peer_linked(const core::RouterHash& peer);
  // A kMessage block whose first byte is kNetDbService.
  void on_message(const core::RouterHash& from, core::ByteView block);
  // Iterative lookup through the floodfills; `done` runs on this thread, at most lookup_timeout later.
  void lookup(const core::RouterHash& key, LookupDone done);

  const SignedRouterInfo* find(const core::RouterHash& hash) const;
  std::vector<const SignedRouterInfo*> routers() const;
  std::vector<core::RouterHash> floodfills() const;
  std::size_t size() const { return records_.size(); }
  const NetDbCounters& counters() const { return counters_; }
  // Called when a record is added or replaced, our own included each time it is re-signed (the
  // node persists it and tests the peer).
  void set_on_record(std::function<void(const SignedRouterInfo&)> fn) { on_record_ = std::move(fn); }
  // Floodfills for which `usable` is false (banned peers) are never asked, stored at or flooded to.
  void set_peer_filter(std::function<bool(const core::RouterHash&)> usable) { usable_ = std::move(usable); }

  // LeaseSets. Pointers returned stay valid until the next call into this NetDb.
  // Keeps `lease_set` (one of our own destinations') as ours, replacing that destination's
  // previous one: answered from here, and, while running and it has a live lease, stored at the
  // K floodfills closest to its routing key with flood set (again at every publish).
  void publish_lease_set(const SignedLeaseSet& lease_set);
  // Forgets one of our own LeaseSets (the destination is gone), and any copy held of it.
  void withdraw_lease_set(const DestinationHash& destination);
  // kHeldFirst: the held LeaseSet if it has a live lease, at once (before this returns); else an
  // iterative lookup through the floodfills (alpha, query_timeout, lookup_timeout as for
  // RouterInfos; concurrent lookups of one destination join). kRefresh: the floodfills are asked
  // even when one is held (its leases stopped working: a newer one may be published), and the
  // newest known is the answer, the held one if the lookup finds nothing. `done` runs on this
  // thread.
  enum class LeaseSetLookup : std::uint8_t { kHeldFirst, kRefresh };
  void lookup_lease_set(const DestinationHash& destination, LeaseSetDone done,
                        LeaseSetLookup how = LeaseSetLookup::kHeldFirst);
  // Our own or a held LeaseSet of `destination` if it has a live lease at wall_now(), else nullptr.
  const SignedLeaseSet* find_lease_set(const DestinationHash& destination) const;
  // Verifies (against `expected` when given) and holds a LeaseSet that came another way (a peer
  // pushed it in an end-to-end session). A newer `published` replaces an older one; returns the
  // one held afterwards (ours for one of our destinations). Errors: the refusal (counted), or
  // kRefused when max_stored_lease_sets others' sets are held already.
  core::Result<const SignedLeaseSet*> add_lease_set(core::ByteView wire,
                                                    std::optional<DestinationHash> expected = std::nullopt);
  // For the console: every LeaseSet held, ours first, expired ones not yet dropped included.
  std::vector<HeldLeaseSet> lease_sets() const;

 private:
  struct Lookup {
    RecordKind kind = RecordKind::kRouterInfo;
    core::RouterHash key;
    core::RouterHash target;  // routing key
    bool exploratory = false;
    std::optional<transport::PeerContact> direct;  // bootstrap: ask this peer only
    std::set<core::RouterHash> asked;
    std::map<core::RouterHash, core::TimePoint> in_flight;
    core::TimePoint deadline{};
    std::vector<LookupDone> callbacks;
    std::vector<LeaseSetDone> lease_set_callbacks;
  };
  // What keep_lease_set did with a verified LeaseSet.
  enum class Kept : std::uint8_t { kNew, kNotNewer, kOurs, kFull };

  const SignedRouterInfo* accept(core::ByteView wire, std::optional<core::RouterHash> expected);
  void on_store(const core::RouterHash& from, StoreMsg msg);
  void on_lookup(const core::RouterHash& from, const LookupMsg& msg);
  // What a floodfill answers a lookup it cannot answer with `found`: RouterInfos closer to the key.
  std::vector<core::Bytes> closer_records(const core::RouterHash& from, const LookupMsg& msg) const;
  void on_search_reply(const core::RouterHash& from, SearchReplyMsg msg);
  std::vector<core::RouterHash> closest_floodfills(const core::RouterHash& target, std::size_t k,
                                                   const std::set<core::RouterHash>& skip) const;
  void send(const core::RouterHash& to, const NetDbMessage& msg);
  void publish();
  void publish_router_info();
  void schedule_publish();
  void explore();
  std::uint64_t start_lookup(Lookup lookup);
  void advance(std::uint64_t id);
  void finish(std::uint64_t id, const SignedRouterInfo* result);
  void fail(std::uint64_t id);
  void on_lookup_tick();
  void arm_publish();
  void arm_explore();
  void arm_lease_sets();

  // netdb_lease_sets.cc
  core::Result<SignedLeaseSet> verify_lease_set_counted(core::ByteView wire, std::optional<DestinationHash> expected);
  // Holds a verified set of another destination's unless ours, not newer or no room; returns
  // what is held for that destination afterwards (nullptr: kFull).
  std::pair<Kept, const SignedLeaseSet*> keep_lease_set(const SignedLeaseSet& verified);
  void on_lease_set_store(const core::RouterHash& from, const StoreMsg& msg);
  void on_lease_set_lookup(const core::RouterHash& from, const LookupMsg& msg);
  void on_lease_set_reply(std::uint64_t id, const SearchReplyMsg& msg);
  void finish_lease_set(std::uint64_t id, const SignedLeaseSet* result);
  void store_lease_set_at_floodfills(const SignedLeaseSet& lease_set);
  void publish_lease_sets();
  void purge_lease_sets();

  core::Runtime& runtime_;
  transport::LinkLayer& links_;
  const core::Identity& identity_;
  NetDbConfig config_;
  std::unordered_map<core::RouterHash, SignedRouterInfo> records_;
  std::optional<SignedRouterInfo> local_;
  std::unordered_map<DestinationHash, SignedLeaseSet> local_lease_sets_;  // ours
  std::unordered_map<DestinationHash, SignedLeaseSet> lease_sets_;        // others', bounded
  std::map<std::uint64_t, Lookup> lookups_;
  std::uint64_t next_lookup_id_;
  NetDbCounters counters_;
  std::function<void(const SignedRouterInfo&)> on_record_;
  std::function<bool(const core::RouterHash&)> usable_;
  std::unique_ptr<core::Timer> publish_timer_;
  std::unique_ptr<core::Timer> explore_timer_;
  std::unique_ptr<core::Timer> lookup_timer_;
  std::unique_ptr<core::Timer> lease_set_timer_;
  bool running_ = false;
  bool publish_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards posted calls
};

}  // namespace hop::netdb
