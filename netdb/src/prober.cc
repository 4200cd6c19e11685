#include "hop/netdb/prober.h"

#include <algorithm>

#include "hop/core/crypto.h"
#include "hop/transport/errors.h"

namespace hop::netdb {
namespace {
constexpr auto kProbeTick = std::chrono::seconds(1);
constexpr auto kBudgetWindow = std::chrono::minutes(1);
}  // namespace

// --- ProbeSchedule ------------------------------------------------------------------------

core::Duration ProbeSchedule::jittered() {
  std::uniform_real_distribution<double> share(1.0 - config_.jitter, 1.0 + config_.jitter);
  return std::chrono::duration_cast<core::Duration>(config_.interval * share(rng_));
}

void ProbeSchedule::add(const core::RouterHash& peer, core::TimePoint now) {
  if (next_.count(peer)) return;
  std::uniform_real_distribution<double> spread(0.0, 1.0);
  next_[peer] = now + std::chrono::duration_cast<core::Duration>(config_.interval * spread(rng_));
}

void ProbeSchedule::remove(const core::RouterHash& peer) { next_.erase(peer); }

void ProbeSchedule::hold(const core::RouterHash& peer, core::TimePoint until) {
  auto it = next_.find(peer);
  if (it != next_.end()) it->second = until;
}

std::vector<core::RouterHash> ProbeSchedule::due(core::TimePoint now) {
  if (now - window_start_ >= kBudgetWindow) {
    window_start_ = now;
    used_in_window_ = 0;
  }
  // Most overdue first, so a tight budget serves the peers waiting longest.
  std::vector<std::pair<core::TimePoint, core::RouterHash>> ready;
  for (const auto& [peer, at] : next_) {
    if (at <= now) ready.emplace_back(at, peer);
  }
  std::sort(ready.begin(), ready.end());
  std::vector<core::RouterHash> out;
  for (const auto& [at, peer] : ready) {
    if (used_in_window_ >= config_.budget_per_minute) break;
    ++used_in_window_;
    next_[peer] = now + jittered();
    out.push_back(peer);
  }
  return out;
}

// --- Prober -------------------------------------------------------------------------------

Prober::Prober(core::Runtime& runtime, transport::LinkLayer& links, ContactOf contact_of,
               ProbeSink& sink, ProberConfig config)
    : runtime_(runtime),
      links_(links),
      contact_of_(std::move(contact_of)),
      sink_(sink),
      config_(config),
      schedule_(config, core::crypto::random_u64()) {
  tick_timer_ = runtime_.make_timer([this] { on_tick(); });
}

Prober::~Prober() { stop(); }

void Prober::start() { tick_timer_->arm(runtime_.now() + kProbeTick); }

void Prober::stop() {
  tick_timer_->cancel();
  in_flight_.clear();
}

void Prober::on_tick() {
  const auto now = runtime_.now();
  std::vector<core::RouterHash> expired;
  for (const auto& [peer, deadline] : in_flight_) {
    if (deadline <= now) expired.push_back(peer);
  }
  for (const auto& peer : expired) finish(peer, false, std::nullopt);
  for (const auto& peer : schedule_.due(now)) probe(peer);
  tick_timer_->arm(now + kProbeTick);
}

void Prober::probe(const core::RouterHash& peer) {
  if (in_flight_.count(peer)) return;
  for (const auto& link : links_.links()) {
    if (link.peer == peer) {  // the link's keepalive pings prove it reachable
      ++started_;
      sink_.on_probe_result(peer, true, link.rtt);
      return;
    }
  }
  auto contact = contact_of_(peer);
  if (!contact) return;
  auto st = links_.connect(*contact);
  if (!st) {
    // Our own limits are not the peer's fault: skip, try at the next turn.
    if (st.error().code == transport::Errc::kLinkLimit) ++skipped_limit_;
    return;
  }
  ++started_;
  in_flight_[peer] = runtime_.now() + config_.probe_timeout;
}

void Prober::finish(const core::RouterHash& peer, bool reachable, std::optional<core::Duration> rtt) {
  if (in_flight_.erase(peer) == 0) return;
  sink_.on_probe_result(peer, reachable, rtt);
}

void Prober::on_link_up(const transport::LinkInfo& link) { finish(link.peer, true, link.rtt); }

void Prober::on_dial_failed(const transport::PeerContact& contact) {
  if (contact.hash) finish(*contact.hash, false, std::nullopt);
}

}  // namespace hop::netdb
