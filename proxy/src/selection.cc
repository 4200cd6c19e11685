#include "hop/proxy/selection.h"

#include <algorithm>
#include <cmath>

namespace hop::proxy {
namespace {

constexpr std::size_t kMaxCandidatesPerCall = 16;  // rank_backends fills at most this many

struct Scored {
  Tier tier;
  float score;
};

bool better(const Scored& a, const Scored& b) {
  return a.tier != b.tier ? a.tier < b.tier : a.score < b.score;
}

// The documented formula: utilisation after this client, per unit of weight, slowed by the
// measured connect time, and pushed back while the breaker is on trial.
float score_of(float inv_soft, float inv_weight, std::uint32_t active, std::uint32_t connect_us, bool on_trial,
               const SelectionPolicy& policy) {
  const float utilisation = static_cast<float>(active + 1) * inv_soft;
  const float latency = 1.0f + static_cast<float>(connect_us / 1000.0 / policy.latency_reference_ms);
  const float trial = on_trial ? static_cast<float>(policy.half_open_penalty) : 1.0f;
  return utilisation * inv_weight * latency * trial;
}

}  // namespace

const char* to_string(Tier tier) {
  switch (tier) {
    case Tier::kCountry: return "country";
    case Tier::kNear: return "near";
    case Tier::kPopRegion: return "pop-region";
    case Tier::kOther: return "other";
  }
  return "?";
}

std::uint16_t pack_code(std::string_view two_letters) {
  if (two_letters.size() != 2) return 0;
  const auto up = [](char c) -> int {
    if (c >= 'a' && c <= 'z') return c - 'a' + 'A';
    return c >= 'A' && c <= 'Z' ? c : -1;
  };
  const int a = up(two_letters[0]);
  const int b = up(two_letters[1]);
  if (a < 0 || b < 0) return 0;
  return static_cast<std::uint16_t>(a << 8 | b);
}

CompiledTable::CompiledTable(std::shared_ptr<const RoutingTable> table,
                             const std::vector<std::optional<SlotIndex>>& slots, SelectionPolicy policy)
    : table_(std::move(table)), policy_(std::move(policy)), index_of_slot_(kSlotCount, -1) {
  const auto region_id = [this](const std::string& region) -> std::int32_t {
    if (region.empty()) return -1;
    return regions_.try_emplace(region, static_cast<std::int32_t>(regions_.size())).first->second;
  };
  entries_.reserve(table_->backends.size());
  for (std::size_t i = 0; i < table_->backends.size(); ++i) {
    const Backend& b = table_->backends[i];
    const bool has_slot = i < slots.size() && slots[i].has_value();
    const SlotIndex slot = has_slot ? *slots[i] : 0;
    entries_.push_back({pack_code(b.country), pack_code(b.continent), region_id(b.region),
                        !b.region.empty() && b.region == policy_.pop_region, b.healthy,
                        b.target.kind == BackendTarget::Kind::kDirect || policy_.overlay_streams, has_slot, slot,
                        b.hard_limit,
                        1.0f / static_cast<float>(std::max<std::uint32_t>(b.soft_limit, 1)),
                        1.0f / static_cast<float>(std::max<std::uint32_t>(b.weight, 1))});
    if (!has_slot) continue;
    index_of_slot_[slot] = static_cast<std::int32_t>(i);
    const auto index = static_cast<std::uint16_t>(i);
    if (b.app.empty()) {
      common_.push_back(index);
      for (auto& [app, list] : by_app_) list.push_back(index);
    } else {
      by_app_.try_emplace(b.app, common_).first->second.push_back(index);
    }
  }
}

ClientKey CompiledTable::key_of(const Place& place) const {
  ClientKey key{pack_code(place.country), pack_code(place.continent), -1};
  if (!place.region.empty()) {
    const auto it = regions_.find(place.region);
    if (it != regions_.end()) key.region = it->second;
  }
  return key;
}

std::span<const std::uint16_t> CompiledTable::candidates_for(std::string_view app) const {
  if (!app.empty()) {
    const auto it = by_app_.find(std::string(app));
    if (it != by_app_.end()) return it->second;
  }
  return common_;
}

std::optional<SlotIndex> CompiledTable::slot_of(std::uint16_t index) const {
  if (index >= entries_.size() || !entries_[index].has_slot) return std::nullopt;
  return entries_[index].slot;
}

std::optional<std::uint16_t> CompiledTable::index_of_slot(SlotIndex slot) const {
  if (slot >= index_of_slot_.size() || index_of_slot_[slot] < 0) return std::nullopt;
  return static_cast<std::uint16_t>(index_of_slot_[slot]);
}

std::optional<Tier> tier_of(const CompiledTable& table, const ClientKey& client, std::uint16_t index) {
  if (index >= table.entries_.size()) return std::nullopt;
  const auto& e = table.entries_[index];
  if (client.country != 0 && e.country == client.country) return Tier::kCountry;
  if ((client.continent != 0 && e.continent == client.continent) || (client.region >= 0 && e.region == client.region)) {
    return Tier::kNear;
  }
  return e.in_pop_region ? Tier::kPopRegion : Tier::kOther;
}

std::size_t rank_backends(const CompiledTable& table, const ClientKey& client, std::span<const std::uint16_t> candidates,
                          const BackendSlots& slots, core::TimePoint now, std::uint32_t tiebreak, std::span<Choice> out) {
  const std::size_t capacity = std::min(out.size(), kMaxCandidatesPerCall);
  const std::size_t n = candidates.size();
  if (capacity == 0 || n == 0) return 0;
  std::size_t filled = 0;
  const std::size_t start = tiebreak % n;
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint16_t index = candidates[(start + k) % n];
    const auto& e = table.entries_[index];
    if (!e.healthy || !e.reachable) continue;
    const BackendState& state = slots[e.slot];
    const std::uint32_t active = state.active();
    if (active >= e.hard_limit) continue;
    const Breaker breaker = state.breaker(now, table.policy_.breaker);
    if (breaker == Breaker::kOpen) continue;
    const Tier tier = *tier_of(table, client, index);
    const float score = score_of(e.inv_soft, e.inv_weight, active, state.connect_time_us(),
                                 breaker == Breaker::kHalfOpen, table.policy_);
    const Scored mine{tier, score};
    // Insertion into the small sorted prefix; strict comparison keeps the earlier (rotated) one
    // first among equals.
    std::size_t pos = filled;
    while (pos > 0 && better(mine, {out[pos - 1].tier, out[pos - 1].score})) --pos;
    if (pos >= capacity) continue;
    const std::size_t last = std::min(filled, capacity - 1);
    for (std::size_t j = last; j > pos; --j) out[j] = out[j - 1];
    out[pos] = {index, e.slot, tier, score};
    filled = std::min(filled + 1, capacity);
  }
  return filled;
}

std::vector<Evaluation> evaluate_backends(const CompiledTable& table, const Place& place, std::string_view app,
                                          const BackendSlots& slots, core::TimePoint now) {
  const ClientKey client = table.key_of(place);
  std::vector<Evaluation> candidates;
  std::vector<Evaluation> excluded;
  const auto& backends = table.table().backends;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    const auto index = static_cast<std::uint16_t>(i);
    Evaluation ev;
    ev.backend = &backends[i];
    ev.tier = tier_of(table, client, index).value_or(Tier::kOther);
    const auto slot = table.slot_of(index);
    if (slot) {
      const BackendState& state = slots[*slot];
      ev.active = state.active();
      ev.breaker = state.breaker(now, table.policy().breaker);
      ev.score = score_of(1.0f / static_cast<float>(std::max<std::uint32_t>(backends[i].soft_limit, 1)),
                          1.0f / static_cast<float>(std::max<std::uint32_t>(backends[i].weight, 1)), ev.active,
                          state.connect_time_us(), ev.breaker == Breaker::kHalfOpen, table.policy());
    }
    if (!slot || !serves(backends[i], app)) {
      ev.excluded = slot ? "serves app '" + backends[i].app + "'" : "no slot free (too many backends)";
    } else if (backends[i].target.kind == BackendTarget::Kind::kDestination && !table.policy().overlay_streams) {
      ev.excluded = "overlay backend: this node cannot open streams to destinations yet";
    } else if (!backends[i].healthy) {
      ev.excluded = "unhealthy in routing.db";
    } else if (ev.active >= backends[i].hard_limit) {
      ev.excluded = "full: " + std::to_string(ev.active) + "/" + std::to_string(backends[i].hard_limit);
    } else if (ev.breaker == Breaker::kOpen) {
      const auto left = std::chrono::duration_cast<std::chrono::seconds>(slots[*slot].open_for(now)).count();
      ev.excluded = "breaker open for " + std::to_string(left) + " s after connect failures";
    }
    (ev.excluded.empty() ? candidates : excluded).push_back(std::move(ev));
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Evaluation& a, const Evaluation& b) { return better({a.tier, a.score}, {b.tier, b.score}); });
  candidates.insert(candidates.end(), std::make_move_iterator(excluded.begin()), std::make_move_iterator(excluded.end()));
  return candidates;
}

}  // namespace hop::proxy
