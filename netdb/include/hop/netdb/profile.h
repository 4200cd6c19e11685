// PeerProfile: what this node has measured about one peer — reachability tests, RTT, bandwidth,
// tunnel-build outcomes — and score(), the peer's quality in [0, 1]. Pure: every update and the
// score are functions of their inputs and `now`; nothing here reads a clock.
//
// Clocks: every time point in a profile is wall time (core::WallTime), because profiles are
// persisted and steady time points mean nothing after a restart. Durations (RTT, probe time)
// are measured by the caller on the steady clock. If the wall clock steps back, ages clamp to
// zero; if it steps forward, a profile looks older (lower score), never better.
// Thread affinity: none (a value type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/runtime.h"

namespace hop::netdb {

// How a tunnel build request to this peer ended.
enum class BuildOutcome : std::uint8_t { kAccepted, kDeclined, kTimedOut };

struct ReachabilitySample {
  core::WallTime at{};
  bool ok = false;
  bool operator==(const ReachabilitySample&) const = default;
};

// Tunnel-build outcomes, each weight halving every kBuildHalfLife; `updated` is when they were
// last brought up to date.
struct BuildCounts {
  double accepted = 0;
  double declined = 0;
  double timed_out = 0;
  core::WallTime updated{};
  bool operator==(const BuildCounts&) const = default;
};

struct PeerProfile {
  std::vector<ReachabilitySample> reachability;  // the last kReachabilityWindow tests, oldest first
  std::uint32_t consecutive_failures = 0;        // failed reachability tests since the last success
  core::Duration srtt{};                         // RFC 6298 smoothed RTT (valid if rtt_samples > 0)
  core::Duration rttvar{};                       // RFC 6298 RTT variation
  std::uint32_t rtt_samples = 0;
  double bandwidth = 0;                          // bytes/s, EWMA of probes (valid if samples > 0)
  std::uint32_t bandwidth_samples = 0;
  BuildCounts builds;
  core::WallTime last_seen{};    // the peer last answered or contacted us (epoch: never)
  core::WallTime last_tested{};  // last reachability test, whatever its outcome (epoch: never)

  // A reachability test ended; `rtt` (if any) is used only when `ok`. A success resets
  // consecutive_failures and counts as seen.
  void record_reachability(bool ok, std::optional<core::Duration> rtt, core::WallTime now);
  // One RTT sample from any source (a probe, a link ping, a tunnel test).
  void record_rtt(core::Duration rtt);
  // A bandwidth probe moved `bytes` in `elapsed`; a non-positive `elapsed` is ignored.
  void record_bandwidth(std::uint64_t bytes, core::Duration elapsed, core::WallTime now);
  // A tunnel build through this peer ended; an answer (accept or decline) counts as seen.
  void record_build(BuildOutcome outcome, core::WallTime now);
  // The peer showed it is alive (e.g. an inbound link). Does not touch bans or failures.
  void record_seen(core::WallTime now);

  std::size_t window_successes() const;
  std::size_t window_failures() const;

  bool operator==(const PeerProfile&) const = default;
};

using Profiles = std::unordered_map<core::RouterHash, PeerProfile>;

// `counts` with every weight decayed to `now` (unchanged if `now` is not later than `updated`).
BuildCounts decayed(const BuildCounts& counts, core::WallTime now);

// The terms of the score, each in [0, 1] (docs/netdb.md has the formula).
struct ScoreTerms {
  double reachability = 0;
  double latency = 0;
  double bandwidth = 0;
  double builds = 0;
  double freshness = 0;
};
ScoreTerms score_terms(const PeerProfile& profile, core::WallTime now);

// freshness × (0.4 reachability + 0.2 latency + 0.2 bandwidth + 0.2 builds), in [0, 1];
// non-decreasing in successes, bandwidth and accepts, non-increasing in failures, RTT,
// declines, timeouts and time since last seen.
double score(const PeerProfile& profile, core::WallTime now);

// Reachable: the latest reachability test succeeded, or the peer was seen within `seen_within`
// and not only before a failed latest test (a peer that just failed one is no tunnel hop until
// it answers again).
bool is_reachable(const PeerProfile& profile, core::WallTime now, core::Duration seen_within);

}  // namespace hop::netdb
