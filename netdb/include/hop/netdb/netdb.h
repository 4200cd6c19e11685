// The NetDB service: the RouterInfos a node knows, the floodfill DHT role, publishing our own
// record, iterative lookups and exploration. Sends through any LinkLayer (TCP or simulated).
//
// Timers (all armed in netdb.cc, arm_* functions):
//   publish   every publish_interval: our RouterInfo to the K floodfills closest to our key
//   explore   every explore_interval: an exploratory lookup of a random key
//   lookups   every kLookupTick while lookups run: query timeouts, next queries, deadlines
// Also: a publish is posted (once per burst) whenever a new floodfill is learned.
// Thread affinity: the node's network thread (the LinkLayer's).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "hop/core/runtime.h"
#include "hop/netdb/constants.h"
#include "hop/netdb/messages.h"
#include "hop/netdb/router_info.h"
#include "hop/transport/link_layer.h"

namespace hop::netdb {

struct NetDbConfig {
  std::uint32_t network_id = 1;
  bool floodfill = false;
  std::size_t replication = kDefaultReplication;  // K: floodfills a record is stored at
  std::size_t alpha = 3;                          // queries in flight per lookup
  core::Duration query_timeout = 3s;
  core::Duration lookup_timeout = 15s;
  core::Duration publish_interval = kRepublishInterval;
  core::Duration explore_interval = 30s;
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
};

class NetDb {
 public:
  // Called with the record, or nullptr when the lookup failed.
  using LookupDone = std::function<void(const SignedRouterInfo*)>;

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

 private:
  struct Lookup {
    core::RouterHash key;
    core::RouterHash target;  // routing key
    bool exploratory = false;
    std::optional<transport::PeerContact> direct;  // bootstrap: ask this peer only
    std::set<core::RouterHash> asked;
    std::map<core::RouterHash, core::TimePoint> in_flight;
    core::TimePoint deadline{};
    std::vector<LookupDone> callbacks;
  };

  const SignedRouterInfo* accept(core::ByteView wire, std::optional<core::RouterHash> expected);
  void on_store(const core::RouterHash& from, StoreMsg msg);
  void on_lookup(const core::RouterHash& from, const LookupMsg& msg);
  void on_search_reply(const core::RouterHash& from, SearchReplyMsg msg);
  std::vector<core::RouterHash> closest_floodfills(const core::RouterHash& target, std::size_t k,
                                                   const std::set<core::RouterHash>& skip) const;
  void send(const core::RouterHash& to, const NetDbMessage& msg);
  void publish();
  void schedule_publish();
  void explore();
  std::uint64_t start_lookup(Lookup lookup);
  void advance(std::uint64_t id);
  void finish(std::uint64_t id, const SignedRouterInfo* result);
  void on_lookup_tick();
  void arm_publish();
  void arm_explore();

  core::Runtime& runtime_;
  transport::LinkLayer& links_;
  const core::Identity& identity_;
  NetDbConfig config_;
  std::unordered_map<core::RouterHash, SignedRouterInfo> records_;
  std::optional<SignedRouterInfo> local_;
  std::map<std::uint64_t, Lookup> lookups_;
  std::uint64_t next_lookup_id_;
  NetDbCounters counters_;
  std::function<void(const SignedRouterInfo&)> on_record_;
  std::function<bool(const core::RouterHash&)> usable_;
  std::unique_ptr<core::Timer> publish_timer_;
  std::unique_ptr<core::Timer> explore_timer_;
  std::unique_ptr<core::Timer> lookup_timer_;
  bool running_ = false;
  bool publish_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards posted calls
};

}  // namespace hop::netdb
