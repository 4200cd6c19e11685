#include "hop/netdb/profile.h"

#include <algorithm>
#include <cmath>

#include "hop/netdb/constants.h"

namespace hop::netdb {
namespace {

using Seconds = std::chrono::duration<double>;

// How long ago `then` was; zero if the wall clock stepped back past it.
Seconds age(core::WallTime then, core::WallTime now) {
  return now > then ? Seconds(now - then) : Seconds(0);
}

double half_life_factor(Seconds elapsed, Seconds half_life) {
  return std::exp2(-elapsed.count() / half_life.count());
}

// Laplace's rule: `good` out of `total` with one imagined success and one failure, so a peer
// with few results scores near 1/2 rather than 0 or 1.
double smoothed_ratio(double good, double total) { return (good + 1.0) / (total + 2.0); }

double reachability_term(const PeerProfile& p) {
  return smoothed_ratio(static_cast<double>(p.window_successes()),
                        static_cast<double>(p.reachability.size()));
}

double latency_term(const PeerProfile& p) {
  if (p.rtt_samples == 0) return 0.5;  // as if srtt were kReferenceRtt
  return 1.0 / (1.0 + Seconds(p.srtt).count() / Seconds(kReferenceRtt).count());
}

double bandwidth_term(const PeerProfile& p) {
  if (p.bandwidth_samples == 0) return 0.5;  // as if it were kReferenceBandwidth
  const double b = std::max(p.bandwidth, 0.0);
  return b / (b + kReferenceBandwidth);
}

double builds_term(const BuildCounts& c) {
  return smoothed_ratio(c.accepted, c.accepted + c.declined + c.timed_out);
}

double clamp01(double v) { return std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0.0; }

}  // namespace

void PeerProfile::record_reachability(bool ok, std::optional<core::Duration> rtt, core::WallTime now) {
  if (reachability.size() >= kReachabilityWindow) {
    reachability.erase(reachability.begin(),
                       reachability.end() - static_cast<std::ptrdiff_t>(kReachabilityWindow - 1));
  }
  reachability.push_back({now, ok});
  last_tested = now;
  if (!ok) {
    ++consecutive_failures;
    return;
  }
  consecutive_failures = 0;
  last_seen = now;
  if (rtt) record_rtt(*rtt);
}

void PeerProfile::record_rtt(core::Duration rtt) {
  rtt = std::max(rtt, core::Duration::zero());
  if (rtt_samples++ == 0) {  // RFC 6298 2.2: the first measurement
    srtt = rtt;
    rttvar = rtt / 2;
    return;
  }
  const core::Duration deviation = srtt > rtt ? srtt - rtt : rtt - srtt;  // RFC 6298 2.3
  rttvar += (deviation - rttvar) / kRttVarGainDivisor;
  srtt += (rtt - srtt) / kRttGainDivisor;
}

void PeerProfile::record_bandwidth(std::uint64_t bytes, core::Duration elapsed, core::WallTime now) {
  if (elapsed <= core::Duration::zero()) return;
  const double sample = static_cast<double>(bytes) / Seconds(elapsed).count();
  bandwidth = bandwidth_samples++ == 0 ? sample : bandwidth + kBandwidthGain * (sample - bandwidth);
  last_seen = now;
}

void PeerProfile::record_build(BuildOutcome outcome, core::WallTime now) {
  builds = decayed(builds, now);
  switch (outcome) {
    case BuildOutcome::kAccepted: builds.accepted += 1; break;
    case BuildOutcome::kDeclined: builds.declined += 1; break;
    case BuildOutcome::kTimedOut: builds.timed_out += 1; return;  // no answer: not seen
  }
  last_seen = now;
}

void PeerProfile::record_seen(core::WallTime now) { last_seen = now; }

std::size_t PeerProfile::window_successes() const {
  return static_cast<std::size_t>(
      std::count_if(reachability.begin(), reachability.end(), [](const auto& s) { return s.ok; }));
}

std::size_t PeerProfile::window_failures() const { return reachability.size() - window_successes(); }

BuildCounts decayed(const BuildCounts& counts, core::WallTime now) {
  if (now <= counts.updated) return counts;
  const double f = half_life_factor(age(counts.updated, now), kBuildHalfLife);
  return {counts.accepted * f, counts.declined * f, counts.timed_out * f, now};
}

ScoreTerms score_terms(const PeerProfile& profile, core::WallTime now) {
  return {
      .reachability = reachability_term(profile),
      .latency = latency_term(profile),
      .bandwidth = bandwidth_term(profile),
      .builds = builds_term(decayed(profile.builds, now)),
      .freshness = half_life_factor(age(profile.last_seen, now), kFreshnessHalfLife),
  };
}

double score(const PeerProfile& profile, core::WallTime now) {
  const ScoreTerms t = score_terms(profile, now);
  const double quality = kWeightReachability * t.reachability + kWeightLatency * t.latency +
                         kWeightBandwidth * t.bandwidth + kWeightBuilds * t.builds;
  return clamp01(t.freshness * quality);
}

bool is_reachable(const PeerProfile& profile, core::WallTime now, core::Duration seen_within) {
  if (!profile.reachability.empty()) {
    const ReachabilitySample& last = profile.reachability.back();
    if (last.ok) return true;
    if (profile.last_seen <= last.at) return false;  // failed its last test, not heard from since
  }
  return profile.last_seen != core::WallTime{} && age(profile.last_seen, now) <= Seconds(seen_within);
}

}  // namespace hop::netdb
