#include "hop/tunnels/transit.h"

namespace hop::tunnels {

namespace {
constexpr auto kRateWindow = std::chrono::minutes(1);
// The smallest burst, whatever the share.
constexpr double kMinTransitBurstBytes = 64.0 * 1024;
}  // namespace

TokenBucket transit_bucket(const TransitLimits& limits) {
  // Half a second of the share may burst: enough for a build's worth of cells at once.
  return TokenBucket(limits.share_bytes_per_sec, std::max(kMinTransitBurstBytes, limits.share_bytes_per_sec / 2));
}

void apply_transit_limits(const TransitLimits& limits, TransitTable& table, TokenBucket& bucket) {
  table.set_limits(limits);
  bucket = transit_bucket(limits);
}

bool TransitTable::over_rate(const core::RouterHash& previous, core::TimePoint now) {
  auto& times = requests_[previous];
  while (!times.empty() && now - times.front() >= kRateWindow) times.pop_front();
  times.push_back(now);
  // Only whether the newest limit + 1 fall in the window matters: keep no more than those.
  while (times.size() > limits_.build_requests_per_peer_per_minute + 1) times.pop_front();
  if (requests_.size() > 4 * limits_.max_transit) {
    // Bounded memory: forget peers with no request in the window.
    std::erase_if(requests_, [&](const auto& kv) { return kv.second.empty() || now - kv.second.back() >= kRateWindow; });
  }
  return times.size() > limits_.build_requests_per_peer_per_minute;
}

BuildStatus TransitTable::admit(const BuildRecord& record, const core::RouterHash& previous, core::TimePoint now) {
  // The rate counts every request, refused or not: a flood of bad requests is still a flood.
  if (over_rate(previous, now)) return BuildStatus::kRateLimited;
  if (hops_.count(record.receive_id)) return BuildStatus::kIdInUse;
  if (hops_.size() >= limits_.max_transit) return BuildStatus::kTransitLimit;
  if (limits_.share_bytes_per_sec <= 0) return BuildStatus::kBandwidth;
  return BuildStatus::kAccepted;
}

TransitHop& TransitTable::add(const BuildRecord& record, const core::RouterHash& previous, core::TimePoint now,
                              core::TimePoint expires) {
  TransitHop hop;
  hop.record = record;
  hop.previous = previous;
  hop.created = now;
  hop.expires = expires;
  if (record.role == HopRole::kInboundGateway) hop.writer = std::make_unique<CellWriter>(record.integrity_key);
  if (record.role == HopRole::kOutboundEndpoint) hop.reader = std::make_unique<CellReader>(record.integrity_key);
  return hops_[record.receive_id] = std::move(hop);
}

TransitHop* TransitTable::find(TunnelId receive_id) {
  auto it = hops_.find(receive_id);
  return it == hops_.end() ? nullptr : &it->second;
}

std::size_t TransitTable::expire(core::TimePoint now) {
  return std::erase_if(hops_, [&](const auto& kv) { return kv.second.expires <= now; });
}

}  // namespace hop::tunnels
