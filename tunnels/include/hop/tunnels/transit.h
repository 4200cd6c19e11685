// Transit participation: the tunnels this node is a hop of, for others. TransitTable decides
// whether to accept a build (limits: count, id in use, per-peer request rate, bandwidth to share)
// and keeps the accepted hops until they expire. Pure: takes `now`, returns decisions.
// Thread affinity: none (the TunnelManager owns it on the network thread).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include "hop/tunnels/build_record.h"
#include "hop/tunnels/cell.h"
#include "hop/tunnels/constants.h"
#include "hop/tunnels/token_bucket.h"

namespace hop::tunnels {

struct TransitLimits {
  std::size_t max_transit = kDefaultMaxTransit;
  std::size_t build_requests_per_peer_per_minute = 60;  // from one previous hop
  double share_bytes_per_sec = 1024.0 * 1024 * 0.8;    // bandwidth × share; 0: refuse every build
};

// One tunnel this node carries for someone else.
struct TransitHop {
  BuildRecord record;
  core::RouterHash previous;  // the link the build came on
  core::TimePoint expires{};  // steady time
  core::TimePoint created{};
  std::uint64_t cells = 0;
  std::uint64_t bytes = 0;
  std::uint64_t dropped = 0;         // over the bandwidth share
  std::unique_ptr<CellWriter> writer;  // inbound gateway only
  std::unique_ptr<CellReader> reader;  // outbound endpoint only
};

class TransitTable {
 public:
  explicit TransitTable(TransitLimits limits) : limits_(limits) {}

  // Whether to accept `record` from `previous` now; counts the request against the peer's rate.
  BuildStatus admit(const BuildRecord& record, const core::RouterHash& previous, core::TimePoint now);
  // Installs an admitted hop, expiring at `expires` (steady time).
  TransitHop& add(const BuildRecord& record, const core::RouterHash& previous, core::TimePoint now,
                  core::TimePoint expires);
  TransitHop* find(TunnelId receive_id);
  // Removes every hop that expired by `now`; returns how many.
  std::size_t expire(core::TimePoint now);
  std::size_t size() const { return hops_.size(); }
  const std::unordered_map<TunnelId, TransitHop>& hops() const { return hops_; }
  const TransitLimits& limits() const { return limits_; }
  // New limits for the builds admitted from now on (SIGHUP); hops already carried stay until
  // they expire, even beyond a lower max_transit.
  void set_limits(const TransitLimits& limits) { limits_ = limits; }

 private:
  bool over_rate(const core::RouterHash& previous, core::TimePoint now);

  TransitLimits limits_;
  std::unordered_map<TunnelId, TransitHop> hops_;
  std::map<core::RouterHash, std::deque<core::TimePoint>> requests_;  // per previous hop, last minute
};

// The token bucket transit cells are shaped by: limits.share_bytes_per_sec, with a burst of
// half a second of it but at least 64 KiB.
TokenBucket transit_bucket(const TransitLimits& limits);
// Applies new limits to a running node's transit state: the table's admission limits and a new
// bucket at the new rate (it starts full). Hops already carried are kept.
void apply_transit_limits(const TransitLimits& limits, TransitTable& table, TokenBucket& bucket);

}  // namespace hop::tunnels
