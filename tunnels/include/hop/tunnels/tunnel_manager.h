// TunnelManager: a node's tunnels. It builds and keeps pools of its own tunnels — the
// exploratory pool, and one per destination that asks (add_pool) — inbound and outbound, rotated
// before they expire and tested in pairs; it carries other nodes' tunnels within its limits
// (TransitTable), and moves cells and tunnel messages over any LinkLayer. docs/tunnels.md is the wire format; the pure pieces are build_record.h, cell.h,
// hop_selection.h, pool.h and transit.h.
//
// Timers (all in tunnel_manager.cc, on_tick): one tick every kManagerTick checks
//   build timeouts (build_timeout after a build was sent), tunnel expiry, pool plans,
//   tunnel tests (every test_interval, and at once for a suspected pool) and their timeouts
//   (8 round trips of the pair, min_test_timeout to test_timeout), transit expiry.
// Thread affinity: the node's network thread (the LinkLayer's).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/runtime.h"
#include "hop/netdb/profile.h"
#include "hop/transport/link_layer.h"
#include "hop/tunnels/build_record.h"
#include "hop/tunnels/cell.h"
#include "hop/tunnels/hop_selection.h"
#include "hop/tunnels/pool.h"
#include "hop/tunnels/token_bucket.h"
#include "hop/tunnels/transit.h"

namespace hop::tunnels {

// What the manager asks of the node (the NetDB and the peer profiles).
class TunnelPeers {
 public:
  virtual ~TunnelPeers() = default;
  // How to reach a router, with its static key (from its RouterInfo); nullopt if unknown.
  virtual std::optional<transport::PeerContact> contact_of(const core::RouterHash& router) = 0;
  // The peers hops may be chosen from (the NetDB selection pool), with score, address, bandwidth.
  virtual std::vector<HopCandidate> hop_candidates() = 0;
  // A build through `hop` ended so; lands in its profile.
  virtual void on_build_outcome(const core::RouterHash& hop, netdb::BuildOutcome outcome) = 0;
};

// Pool 0 is the node's exploratory pool; add_pool() hands out the others.
using PoolId = std::uint32_t;
inline constexpr PoolId kExploratoryPool = 0;

struct TunnelManagerConfig {
  PoolConfig exploratory;
  HopRules hop_rules;
  TransitLimits transit;
  core::Duration build_timeout = kBuildTimeout;
  core::Duration test_interval = std::chrono::seconds(30);
  // A test waits 8 round trips of its pair's last measured latency, within these bounds (the
  // most when the latency is not known yet).
  core::Duration min_test_timeout = std::chrono::seconds(2);
  core::Duration test_timeout = std::chrono::seconds(10);
  std::size_t test_failures_before_replace = 2;
};

enum class TunnelState : std::uint8_t { kBuilding, kEstablished };
std::string_view to_string(TunnelState state);

struct TunnelHopView {
  core::RouterHash router;
  std::string address;
  TunnelId receive_id = 0;
};

// One of our own tunnels, as the console shows it.
struct TunnelView {
  std::uint64_t id = 0;  // local, for people
  PoolId pool = kExploratoryPool;
  Direction direction = Direction::kOutbound;
  std::vector<TunnelHopView> hops;
  TunnelState state = TunnelState::kBuilding;
  core::TimePoint created{};
  core::TimePoint expires{};
  std::optional<core::Duration> build_latency;
  std::optional<core::Duration> latency;  // last tunnel test round trip (outbound + inbound)
  std::uint32_t test_failures = 0;
  std::uint64_t bytes = 0;
  std::uint64_t cells = 0;
};

struct TransitView {
  TunnelId receive_id = 0;
  HopRole role = HopRole::kParticipant;
  core::RouterHash previous;
  core::RouterHash next;  // zeros for an endpoint
  core::TimePoint created{};
  core::TimePoint expires{};
  std::uint64_t cells = 0;
  std::uint64_t bytes = 0;
  std::uint64_t dropped = 0;
};

struct TunnelCounters {
  std::uint64_t builds_started = 0;
  std::uint64_t builds_succeeded = 0;
  std::uint64_t builds_refused = 0;  // a hop declined or its reply did not open
  std::uint64_t builds_timed_out = 0;
  std::uint64_t build_requests_received = 0;
  std::uint64_t transit_accepted = 0;
  std::uint64_t transit_refused = 0;
  std::uint64_t cells_forwarded = 0;
  std::uint64_t cells_unknown_tunnel = 0;  // unknown or expired id: dropped
  std::uint64_t cells_over_bandwidth = 0;  // transit cells without tokens: dropped
  std::uint64_t cells_rejected = 0;        // failed integrity or replay at an end: dropped
  std::uint64_t malformed = 0;             // tunnel blocks and records that do not parse
  std::uint64_t tests_sent = 0;
  std::uint64_t tests_passed = 0;
  std::uint64_t tests_failed = 0;
  std::uint64_t messages_delivered = 0;
};

class TunnelManager {
 public:
  // A message that arrived through one of our inbound tunnels of `pool` (nullopt: it came out of
  // one of our outbound tunnels addressed to this router) and is not for the tunnel service (its
  // first byte is another service), for the node to dispatch.
  using LocalDelivery = std::function<void(core::ByteView block, std::optional<PoolId> pool)>;

  TunnelManager(core::Runtime& runtime, transport::LinkLayer& links, const core::Identity& identity,
                TunnelPeers& peers, TunnelManagerConfig config);
  ~TunnelManager();
  TunnelManager(const TunnelManager&) = delete;
  TunnelManager& operator=(const TunnelManager&) = delete;

  void set_local_delivery(LocalDelivery fn) { local_delivery_ = std::move(fn); }
  void start();
  void stop();

  // From the link layer: a kMessage block whose first byte is kTunnelService, and kCell blocks.
  void on_message(const core::RouterHash& from, core::ByteView block);
  void on_cell(const core::RouterHash& from, core::ByteView block);

  // Another pool (a destination's), built from the next tick on. Errors (kInvalidArgument):
  // quantities outside 1-6, length over 7, lifetime outside 10 s-10 min.
  core::Result<PoolId> add_pool(PoolConfig config);
  // Drops the pool and its tunnels at once (their hops let them expire).
  void remove_pool(PoolId pool);

  // Sends `message` (a link message block: service byte first) through an established outbound
  // tunnel of `pool` to `router`, or into `router`'s inbound tunnel `tunnel` when given.
  core::Status send_out(core::ByteView message, const core::RouterHash& router,
                        std::optional<TunnelId> tunnel = std::nullopt, PoolId pool = kExploratoryPool);

  // The established outbound tunnels of `pool` that are not about to expire, for a caller that
  // keeps a path (a stream session) instead of spreading messages over the pool.
  struct OutboundTunnel {
    std::uint64_t id = 0;
    core::TimePoint expires{};
  };
  std::vector<OutboundTunnel> outbound_tunnels(PoolId pool) const;
  // Like send_out, through our outbound tunnel `outbound` (Errc::kNoRoute once it is gone).
  core::Status send_via(std::uint64_t outbound, core::ByteView message, const core::RouterHash& router,
                        std::optional<TunnelId> tunnel);

  // Where others can reach a pool: the gateway and tunnel id of each established inbound tunnel
  // (for a destination's LeaseSet). A 0-hop tunnel's gateway is this router.
  struct InboundLease {
    core::RouterHash gateway;
    TunnelId tunnel = 0;
    core::TimePoint expires{};
  };
  std::vector<InboundLease> inbound_leases(PoolId pool) const;

  // A user of the pool (a destination's session) saw its traffic vanish: every tunnel of the
  // pool is tested now, each against two partners where the pool has them, so that a broken one
  // is replaced after one test timeout rather than after two test intervals. At most once per
  // min_test_timeout per pool.
  void suspect_pool(PoolId pool);
  // `peer` may be gone (our link to it was lost, or it failed a reachability test): new tunnels
  // avoid it for a while, our builds through it are given up and started again elsewhere, and
  // every pool with an established tunnel through it is tested now (suspect_pool).
  void suspect_hop(const core::RouterHash& peer);
  // `peer` is unreachable (banned): every tunnel of ours through it is dropped and rebuilt.
  void drop_tunnels_through(const core::RouterHash& peer);

  std::vector<TunnelView> tunnels() const;
  std::vector<TransitView> transit() const;
  std::size_t established(Direction direction, PoolId pool = kExploratoryPool) const;
  const TunnelCounters& counters() const { return counters_; }
  void set_transit_limits(const TransitLimits& limits) { apply_transit_limits(limits, transit_, transit_bucket_); }  // SIGHUP: transit.h
  // Share of builds that succeeded among those finished within `window` (nullopt: none finished).
  std::optional<double> build_success_rate(core::Duration window) const;
  std::optional<double> build_success_rate_since_start() const;
  // Hop selection relaxations of the last build (empty: every rule held).
  const std::vector<Relaxation>& last_relaxations() const { return last_relaxed_; }

 private:
  struct Hop {
    HopPlan plan;
    std::string address;
  };
  struct Owned {
    std::uint64_t id = 0;
    PoolId pool = kExploratoryPool;
    Direction direction = Direction::kOutbound;
    std::vector<Hop> hops;
    std::vector<std::size_t> slot_of_hop;
    bool reply_direct = false;  // outbound: the endpoint answers over a link, not through a tunnel
    TunnelId match_id = 0;  // outbound: the endpoint's receive id; inbound: our own id
    TunnelState state = TunnelState::kBuilding;
    core::TimePoint build_started{};
    core::TimePoint created{};  // established
    core::TimePoint expires{};
    std::optional<core::Duration> build_latency;
    std::optional<core::Duration> latency;
    std::uint32_t test_failures = 0;
    std::uint64_t bytes = 0;
    std::uint64_t cells = 0;
    std::unique_ptr<CellWriter> writer;  // outbound
    std::unique_ptr<CellReader> reader;  // inbound
  };
  struct PendingTest {
    std::uint64_t outbound = 0;
    std::uint64_t inbound = 0;
    core::TimePoint sent{};
    core::TimePoint deadline{};
  };

  void on_tick();
  void plan_pools();
  void build(PoolId pool, Direction direction);
  std::optional<Owned> plan_tunnel(PoolId pool, Direction direction);
  void send_build(Owned& tunnel, core::Bytes block);
  void on_build_request(const core::RouterHash& from, const TunnelBlock& block);
  // `from`: the link it came on, or nullopt when it came through our inbound tunnel.
  void on_build_reply(TunnelId tunnel_id, core::ByteView slots, std::optional<core::RouterHash> from);
  void finish_build(Owned& tunnel, core::ByteView slots);
  void fail_build(Owned& tunnel);
  void forward_request(const BuildRecord& record, core::Bytes slots);
  void on_gateway_message(const TunnelBlock& block);
  void deliver_inbound(Owned& tunnel, const Cell& cell);
  void deliver_at_endpoint(core::ByteView message);
  void deliver_to(const core::RouterHash& router, core::ByteView block);
  // A message that came out of our inbound tunnel `via` (its local id).
  void dispatch_local(core::ByteView block, const Owned& via);
  void erase(std::uint64_t id);
  std::vector<HopLayer> layers_of(const Owned& tunnel) const;
  void forward_cell(TransitHop& hop, Cell& cell);
  void send_cells(const core::RouterHash& to, std::vector<Cell>& cells);
  bool send_block(const core::RouterHash& to, transport::BlockType type, core::ByteView body);
  core::Status send_through(Owned& outbound, core::ByteView message);
  void run_tests(PoolId pool);
  // The hops of a tunnel that failed (its build or its tests): new tunnels avoid them for a while.
  void remember_suspect_hops(const Owned& tunnel);
  static bool passes_through(const Owned& tunnel, const core::RouterHash& peer);
  void on_test(core::ByteView body, std::uint64_t via);
  void expire_tests();
  void record_outcome(bool success);
  void back_off(PoolId pool);
  core::Duration lifetime_of(PoolId pool) const;
  Owned* find_owned(std::uint64_t id);
  // A random established tunnel of `pool` this way, one whose last test passed if there is; with
  // `or_exploratory`, one of the exploratory pool when `pool` has none that passed.
  Owned* established_tunnel(PoolId pool, Direction direction, bool or_exploratory = false);
  TunnelId fresh_id();

  core::Runtime& runtime_;
  transport::LinkLayer& links_;
  const core::Identity& identity_;
  TunnelPeers& peers_;
  TunnelManagerConfig config_;
  std::map<PoolId, PoolConfig> pools_;
  PoolId next_pool_ = kExploratoryPool + 1;
  TransitTable transit_;
  TokenBucket transit_bucket_;
  std::map<std::uint64_t, Owned> owned_;
  std::map<TunnelId, std::uint64_t> outbound_by_endpoint_;
  std::map<TunnelId, std::uint64_t> inbound_by_owner_id_;
  std::map<std::uint64_t, PendingTest> tests_;
  std::map<std::uint64_t, core::TimePoint> build_deadlines_;  // tunnel id -> deadline
  std::deque<std::pair<core::TimePoint, bool>> build_history_;  // the last 10 min of outcomes
  std::uint64_t builds_finished_ = 0;
  std::uint64_t next_local_id_ = 1;
  std::map<PoolId, std::size_t> test_rotation_;  // per pool, so each pool's pairing rotates
  std::map<PoolId, core::TimePoint> suspected_;  // per pool, the last suspect_pool() that tested
  std::map<core::RouterHash, core::TimePoint> suspect_hops_;  // hop -> avoided until
  std::map<PoolId, std::pair<core::TimePoint, core::Duration>> build_backoff_;  // next try, backoff
  core::TimePoint next_test_{};
  std::vector<Relaxation> last_relaxed_;
  std::mt19937_64 rng_;
  TunnelCounters counters_;
  LocalDelivery local_delivery_;
  std::unique_ptr<core::Timer> tick_timer_;
  bool running_ = false;
};

}  // namespace hop::tunnels
