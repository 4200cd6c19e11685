// The prober keeps testing the peers a node knows: a peer due for a test is dialed (or, when a
// link is up, counted reachable with the link's RTT); the outcome goes to a ProbeSink, which
// keeps profiles and decides bans.
//
// ProbeSchedule is the pure part: each peer is tested every `interval` with ±jitter, at most
// `budget_per_minute` tests start per minute, banned peers are skipped until their ban ends.
// Timers (Prober): one tick every kProbeTick drives the schedule and the probe timeouts.
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
#include "hop/transport/link_layer.h"

namespace hop::netdb {

struct ProberConfig {
  core::Duration interval = std::chrono::minutes(2);  // each peer is tested this often
  double jitter = 0.25;                                // ± share of the interval
  std::size_t budget_per_minute = 30;                  // most tests started in any minute
  core::Duration probe_timeout = std::chrono::seconds(15);  // no link by then: a failure
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
  // Peers due now, within the budget; each is rescheduled one jittered interval later.
  std::vector<core::RouterHash> due(core::TimePoint now);
  std::size_t size() const { return next_.size(); }

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
  virtual void on_probe_result(const core::RouterHash& peer, bool reachable,
                               std::optional<core::Duration> rtt) = 0;
};

class Prober {
 public:
  // `contact_of` finds how to dial a peer (from its RouterInfo); nullopt: cannot test it.
  using ContactOf = std::function<std::optional<transport::PeerContact>(const core::RouterHash&)>;

  Prober(core::Runtime& runtime, transport::LinkLayer& links, ContactOf contact_of, ProbeSink& sink,
         ProberConfig config);
  ~Prober();

  void start();
  void stop();
  ProbeSchedule& schedule() { return schedule_; }

  // Link events, forwarded by the node.
  void on_link_up(const transport::LinkInfo& link);
  void on_dial_failed(const transport::PeerContact& contact);

  std::uint64_t probes_started() const { return started_; }
  std::uint64_t probes_skipped_limit() const { return skipped_limit_; }

 private:
  void on_tick();
  void probe(const core::RouterHash& peer);
  void finish(const core::RouterHash& peer, bool reachable, std::optional<core::Duration> rtt);

  core::Runtime& runtime_;
  transport::LinkLayer& links_;
  ContactOf contact_of_;
  ProbeSink& sink_;
  ProberConfig config_;
  ProbeSchedule schedule_;
  std::map<core::RouterHash, core::TimePoint> in_flight_;  // probe deadline per peer
  std::unique_ptr<core::Timer> tick_timer_;
  std::uint64_t started_ = 0;
  std::uint64_t skipped_limit_ = 0;
};

}  // namespace hop::netdb
