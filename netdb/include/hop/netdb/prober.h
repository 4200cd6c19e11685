// The prober keeps testing the peers a node knows: a peer due for a test is dialed (or, when a
// link is up, counted reachable with the link's RTT); the outcome goes to a ProbeSink, which
// keeps profiles and decides bans. Linked peers (from link-up to link-down) also get a periodic
// bandwidth probe: a burst of `bandwidth_bytes` that the peer acknowledges (probe_message.h);
// its throughput goes to the sink.
// The prober also answers other nodes' bandwidth probes.
//
// ProbeSchedule is the pure part: each peer is tested every `interval` with ±jitter, at most
// `budget_per_minute` tests start per minute, banned peers are skipped until their ban ends.
// Timers (Prober): one tick every kProbeTick drives both schedules and the probe timeouts.
// Thread affinity: the node's network thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/runtime.h"
#include "hop/netdb/probe_message.h"
#include "hop/transport/link_layer.h"

namespace hop::netdb {

struct ProberConfig {
  core::Duration interval = std::chrono::minutes(2);  // each peer is tested this often
  double jitter = 0.25;                                // ± share of the interval
  std::size_t budget_per_minute = 30;                  // most tests started in any minute
  core::Duration probe_timeout = std::chrono::seconds(15);  // no link by then: a failure
  // Bandwidth probes: each linked peer about every bandwidth_interval, at most
  // bandwidth_per_minute started per minute, each `bandwidth_bytes` long (0: none).
  core::Duration bandwidth_interval = std::chrono::minutes(10);
  std::size_t bandwidth_bytes = 256 * 1024;
  std::size_t bandwidth_per_minute = 6;
  core::Duration bandwidth_timeout = std::chrono::seconds(10);  // unanswered: no sample
};

class ProbeSchedule {
 public:
  ProbeSchedule(ProberConfig config, std::uint64_t seed) : config_(config), rng_(seed) {}

  // Starts testing a peer (first test soon, spread over one interval so a crowd does not
  // arrive at once); no effect if known.
  void add(const core::RouterHash& peer, core::TimePoint now);
  void remove(const core::RouterHash& peer);
  // The peer is not tested before `until` (a ban); then it is tested again at once.
  void hold(const core::RouterHash& peer, core::TimePoint until);
  // The peer is tested at `at` if it was not due before (its link was lost).
  void expedite(const core::RouterHash& peer, core::TimePoint at);
  // Peers due now, within the budget; each is rescheduled one jittered interval later.
  std::vector<core::RouterHash> due(core::TimePoint now);
  std::size_t size() const { return next_.size(); }
  bool contains(const core::RouterHash& peer) const { return next_.count(peer) != 0; }

 private:
  core::Duration jittered();
  ProberConfig config_;
  std::mt19937_64 rng_;
  std::map<core::RouterHash, core::TimePoint> next_;
  core::TimePoint window_start_{};
  std::size_t used_in_window_ = 0;
};

// Where probe outcomes go (the NetDB's profiles and bans).
class ProbeSink {
 public:
  virtual ~ProbeSink() = default;
  // A reachability test ended. Returns the end of the peer's ban if it is banned (this result
  // banned it, or it already was): the prober then leaves it alone until that time.
  virtual std::optional<core::WallTime> on_probe_result(const core::RouterHash& peer, bool reachable,
                                                        std::optional<core::Duration> rtt) = 0;
  // A bandwidth probe moved `bytes` in `elapsed` (the round trip of the acknowledgement removed).
  virtual void on_bandwidth_result(const core::RouterHash& peer, std::uint64_t bytes,
                                   core::Duration elapsed) = 0;
};

class Prober {
 public:
  static constexpr core::Duration kRetestAfterLoss = std::chrono::seconds(1);

  // `contact_of` finds how to dial a peer (from its RouterInfo); nullopt: cannot test it.
  using ContactOf = std::function<std::optional<transport::PeerContact>(const core::RouterHash&)>;

  Prober(core::Runtime& runtime, transport::LinkLayer& links, ContactOf contact_of, ProbeSink& sink,
         ProberConfig config);
  ~Prober();

  void start();
  void stop();

  // Starts testing `peer` (no effect if known); `banned_until` holds it until its ban ends.
  void add(const core::RouterHash& peer, std::optional<core::WallTime> banned_until = std::nullopt);
  void remove(const core::RouterHash& peer);
  // Not tested before `until` (wall time; a ban's end), then at once.
  void hold(const core::RouterHash& peer, core::WallTime until);
  const ProbeSchedule& schedule() const { return schedule_; }

  // Link events and kProbeService blocks, forwarded by the node.
  void on_link_up(const transport::LinkInfo& link);
  // `lost` (transport::is_lost): the peer may be gone, so it is tested again within
  // kRetestAfterLoss rather than at its turn. The caller leaves a banned peer out.
  void on_link_down(const core::RouterHash& peer, bool lost);
  void on_dial_failed(const transport::PeerContact& contact);
  void on_message(const core::RouterHash& from, core::ByteView block);

  std::uint64_t probes_started() const { return started_; }
  std::uint64_t probes_skipped_limit() const { return skipped_limit_; }
  std::uint64_t bandwidth_probes_started() const { return bandwidth_started_; }
  std::uint64_t bandwidth_probes_answered() const { return bandwidth_answered_; }
  std::uint64_t malformed_messages() const { return malformed_; }

 private:
  struct BandwidthProbe {
    std::uint64_t id = 0;
    std::uint64_t bytes = 0;
    core::TimePoint started{};
    core::Duration rtt{};
  };
  struct Serving {  // a probe another node is sending us
    std::uint64_t id = 0;
    std::uint64_t bytes = 0;
  };

  void on_tick();
  void probe(const core::RouterHash& peer);
  void finish(const core::RouterHash& peer, bool reachable, std::optional<core::Duration> rtt);
  void probe_bandwidth(const transport::LinkInfo& link);
  void on_probe_data(const core::RouterHash& from, const ProbeData& data);
  void on_probe_ack(const core::RouterHash& from, const ProbeAck& ack);

  core::Runtime& runtime_;
  transport::LinkLayer& links_;
  ContactOf contact_of_;
  ProbeSink& sink_;
  ProberConfig config_;
  ProbeSchedule schedule_;
  ProbeSchedule bandwidth_schedule_;
  std::map<core::RouterHash, core::TimePoint> in_flight_;  // probe deadline per peer
  std::map<core::RouterHash, BandwidthProbe> bandwidth_in_flight_;
  std::map<core::RouterHash, Serving> serving_;
  std::unique_ptr<core::Timer> tick_timer_;
  std::uint64_t next_probe_id_;
  std::uint64_t started_ = 0;
  std::uint64_t skipped_limit_ = 0;
  std::uint64_t bandwidth_started_ = 0;
  std::uint64_t bandwidth_answered_ = 0;
  std::uint64_t malformed_ = 0;
};

}  // namespace hop::netdb
