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

void ProbeSchedule::expedite(const core::RouterHash& peer, core::TimePoint at) {
  auto it = next_.find(peer);
  if (it != next_.end() && it->second > at) it->second = at;
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

namespace {

ProberConfig bandwidth_schedule_config(const ProberConfig& c) {
  return {.interval = c.bandwidth_interval, .jitter = c.jitter, .budget_per_minute = c.bandwidth_per_minute};
}

// Most bytes counted for a probe we answer: a peer that streams filler past this gets no more
// of our attention (and its ack says only this much).
constexpr std::uint64_t kMaxServedProbeBytes = 64u << 20;

}  // namespace

Prober::Prober(core::Runtime& runtime, transport::LinkLayer& links, ContactOf contact_of,
               ProbeSink& sink, ProberConfig config)
    : runtime_(runtime),
      links_(links),
      contact_of_(std::move(contact_of)),
      sink_(sink),
      config_(config),
      schedule_(config, core::crypto::random_u64()),
      bandwidth_schedule_(bandwidth_schedule_config(config), core::crypto::random_u64()),
      next_probe_id_(core::crypto::random_u64()) {
  tick_timer_ = runtime_.make_timer([this] { on_tick(); });
}

Prober::~Prober() { stop(); }

void Prober::start() { tick_timer_->arm(runtime_.now() + kProbeTick); }

void Prober::stop() {
  tick_timer_->cancel();
  in_flight_.clear();
  bandwidth_in_flight_.clear();
  serving_.clear();
}

void Prober::add(const core::RouterHash& peer, std::optional<core::WallTime> banned_until) {
  const auto now = runtime_.now();
  schedule_.add(peer, now);
  if (config_.bandwidth_bytes > 0) {
    const auto links = links_.links();
    if (std::any_of(links.begin(), links.end(), [&](const auto& l) { return l.peer == peer; })) {
      bandwidth_schedule_.add(peer, now);
    }
  }
  if (banned_until) hold(peer, *banned_until);
}

void Prober::remove(const core::RouterHash& peer) {
  schedule_.remove(peer);
  bandwidth_schedule_.remove(peer);
  in_flight_.erase(peer);
  bandwidth_in_flight_.erase(peer);
}

void Prober::hold(const core::RouterHash& peer, core::WallTime until) {
  // Bans are in wall time (persisted); schedules run on the steady clock.
  const auto left = std::max(core::WallTime::duration::zero(), until - runtime_.wall_now());
  const auto steady_until = runtime_.now() + std::chrono::duration_cast<core::Duration>(left);
  schedule_.hold(peer, steady_until);
  bandwidth_schedule_.hold(peer, steady_until);
  in_flight_.erase(peer);
  bandwidth_in_flight_.erase(peer);
}

void Prober::on_tick() {
  const auto now = runtime_.now();
  std::vector<core::RouterHash> expired;
  for (const auto& [peer, deadline] : in_flight_) {
    if (deadline <= now) expired.push_back(peer);
  }
  for (const auto& peer : expired) finish(peer, false, std::nullopt);
  // An unanswered bandwidth probe says nothing about bandwidth; reachability tests judge the peer.
  std::erase_if(bandwidth_in_flight_,
                [&](const auto& kv) { return now - kv.second.started >= config_.bandwidth_timeout; });
  for (const auto& peer : schedule_.due(now)) probe(peer);
  const auto bandwidth_due = bandwidth_schedule_.due(now);
  if (!bandwidth_due.empty()) {
    const auto links = links_.links();
    for (const auto& peer : bandwidth_due) {
      auto it = std::find_if(links.begin(), links.end(), [&](const auto& l) { return l.peer == peer; });
      if (it != links.end()) probe_bandwidth(*it);
    }
  }
  tick_timer_->arm(now + kProbeTick);
}

void Prober::probe(const core::RouterHash& peer) {
  if (in_flight_.count(peer)) return;
  for (const auto& link : links_.links()) {
    if (link.peer == peer) {  // the link's keepalive pings prove it reachable
      ++started_;
      if (auto until = sink_.on_probe_result(peer, true, link.rtt)) hold(peer, *until);
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
  if (auto until = sink_.on_probe_result(peer, reachable, rtt)) hold(peer, *until);
}

void Prober::probe_bandwidth(const transport::LinkInfo& link) {
  if (bandwidth_in_flight_.count(link.peer)) return;
  BandwidthProbe p{.id = next_probe_id_++, .bytes = 0, .started = runtime_.now(),
                   .rtt = link.rtt.value_or(core::Duration::zero())};
  const std::size_t total = std::max(config_.bandwidth_bytes, kProbeHeaderSize);
  while (p.bytes < total) {
    const std::size_t remaining = total - p.bytes;
    const std::size_t filler = std::min(kProbeChunk, remaining - std::min(remaining, kProbeHeaderSize));
    const bool last = kProbeHeaderSize + filler >= remaining;
    const auto block = encode_probe_data(p.id, last, filler);
    if (!links_.send(link.peer, transport::BlockType::kMessage, block)) return;  // busy link: later
    p.bytes += block.size();
  }
  ++bandwidth_started_;
  bandwidth_in_flight_[link.peer] = p;
}

void Prober::on_message(const core::RouterHash& from, core::ByteView block) {
  auto msg = decode_probe_message(block);
  if (!msg) {
    ++malformed_;
    return;
  }
  if (const auto* data = std::get_if<ProbeData>(&*msg)) {
    on_probe_data(from, *data);
  } else {
    on_probe_ack(from, std::get<ProbeAck>(*msg));
  }
}

void Prober::on_probe_data(const core::RouterHash& from, const ProbeData& data) {
  auto& s = serving_[from];
  if (s.id != data.probe_id) s = {data.probe_id, 0};  // a new probe replaces an unfinished one
  s.bytes = std::min(kMaxServedProbeBytes, s.bytes + data.size);
  if (!data.last) return;
  const ProbeAck ack{s.id, s.bytes};
  serving_.erase(from);
  ++bandwidth_answered_;
  (void)links_.send(from, transport::BlockType::kMessage, encode_probe_ack(ack));
}

void Prober::on_probe_ack(const core::RouterHash& from, const ProbeAck& ack) {
  auto it = bandwidth_in_flight_.find(from);
  if (it == bandwidth_in_flight_.end() || it->second.id != ack.probe_id) return;  // late or foreign
  const auto elapsed = runtime_.now() - it->second.started;
  const auto rtt = it->second.rtt;
  const std::uint64_t bytes = std::min(ack.bytes, it->second.bytes);
  bandwidth_in_flight_.erase(it);
  // The last byte's trip and the ack's cost one round trip on top of the transfer. A stale RTT
  // larger than the whole probe must not make the transfer look instant: at least a quarter of
  // the elapsed time is counted.
  const auto transfer = std::max(elapsed - rtt, elapsed / 4);
  sink_.on_bandwidth_result(from, bytes, transfer);
}

void Prober::on_link_up(const transport::LinkInfo& link) {
  // Only linked peers are measured (a probe never dials), and only peers we test.
  if (config_.bandwidth_bytes > 0 && schedule_.contains(link.peer)) bandwidth_schedule_.add(link.peer, runtime_.now());
  finish(link.peer, true, link.rtt);
}

void Prober::on_link_down(const core::RouterHash& peer, bool lost) {
  if (lost) schedule_.expedite(peer, runtime_.now() + kRetestAfterLoss);
  serving_.erase(peer);
  bandwidth_schedule_.remove(peer);
  bandwidth_in_flight_.erase(peer);
}

void Prober::on_dial_failed(const transport::PeerContact& contact) {
  if (contact.hash) finish(*contact.hash, false, std::nullopt);
}

}  // namespace hop::netdb
