#include "hop/proxy/backend_slots.h"

#include <algorithm>

namespace hop::proxy {
namespace {

std::int64_t to_ns(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

const char* to_string(Breaker state) {
  switch (state) {
    case Breaker::kClosed: return "closed";
    case Breaker::kOpen: return "open";
    case Breaker::kHalfOpen: return "half-open";
  }
  return "?";
}

const char* to_string(BackendError error) {
  switch (error) {
    case BackendError::kConnectRefused: return "connect_refused";
    case BackendError::kConnectTimeout: return "connect_timeout";
    case BackendError::kConnectOther: return "connect_error";
    case BackendError::kReset: return "reset";
    case BackendError::kCount: break;
  }
  return "?";
}

bool BackendState::try_reserve(std::uint32_t hard_limit) {
  std::uint32_t current = active_.load(std::memory_order_relaxed);
  while (current < hard_limit) {
    if (active_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void BackendState::on_connected(core::Duration connect_time) {
  connections_.fetch_add(1, std::memory_order_relaxed);
  failures_.store(0, std::memory_order_relaxed);
  trial_.store(false, std::memory_order_relaxed);
  const auto sample = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(connect_time).count(), 1, 60'000'000));
  // A lost update between two workers only drops one sample from the average.
  const std::uint32_t old = connect_us_.load(std::memory_order_relaxed);
  connect_us_.store(old == 0 ? sample : old - old / 8 + sample / 8, std::memory_order_relaxed);
}

void BackendState::on_error(BackendError error, core::TimePoint now, const BreakerPolicy& policy) {
  errors_[static_cast<int>(error)].fetch_add(1, std::memory_order_relaxed);
  if (error == BackendError::kReset) return;  // the backend answered; its health is not in doubt
  const std::uint32_t failures = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  trial_.store(false, std::memory_order_relaxed);
  if (failures < policy.failures) return;
  const std::uint32_t doublings = std::min<std::uint32_t>(failures - policy.failures, 16);
  const auto cooldown = std::min(policy.cooldown * (1u << doublings), policy.max_cooldown);
  open_until_ns_.store(to_ns(now + cooldown), std::memory_order_relaxed);
}

Breaker BackendState::breaker(core::TimePoint now, const BreakerPolicy& policy) const {
  if (failures_.load(std::memory_order_relaxed) < policy.failures) return Breaker::kClosed;
  return to_ns(now) < open_until_ns_.load(std::memory_order_relaxed) ? Breaker::kOpen : Breaker::kHalfOpen;
}

bool BackendState::try_begin_trial() {
  bool expected = false;
  return trial_.compare_exchange_strong(expected, true, std::memory_order_relaxed);
}

core::Duration BackendState::open_for(core::TimePoint now) const {
  const std::int64_t left = open_until_ns_.load(std::memory_order_relaxed) - to_ns(now);
  return left > 0 ? std::chrono::duration_cast<core::Duration>(std::chrono::nanoseconds(left)) : core::Duration::zero();
}

void BackendState::reset() {
  failures_.store(0, std::memory_order_relaxed);
  open_until_ns_.store(0, std::memory_order_relaxed);
  trial_.store(false, std::memory_order_relaxed);
  connect_us_.store(0, std::memory_order_relaxed);
  connections_.store(0, std::memory_order_relaxed);
  bytes_up_.store(0, std::memory_order_relaxed);
  bytes_down_.store(0, std::memory_order_relaxed);
  for (auto& counter : errors_) counter.store(0, std::memory_order_relaxed);
}

BackendSlots::BackendSlots()
    : states_(std::make_unique<BackendState[]>(kSlotCount)), ids_(kSlotCount), last_used_(kSlotCount, 0) {}

std::vector<std::optional<SlotIndex>> BackendSlots::assign(const std::vector<std::string>& ids) {
  ++round_;
  std::vector<std::optional<SlotIndex>> out(ids.size());
  std::vector<std::size_t> fresh;  // positions of ids that have no slot yet
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto it = slot_of_.find(ids[i]);
    if (it == slot_of_.end()) {
      fresh.push_back(i);
      continue;
    }
    out[i] = it->second;
    last_used_[it->second] = round_;
  }
  // Never-used slots first; then the slot whose backend left longest ago and has no connections.
  // A worker still holding an older table could reserve a reclaimed slot in the short window
  // after a reload; that needs every one of kSlotCount slots used, far beyond kMaxBackends.
  SlotIndex next_unused = 0;
  for (const std::size_t i : fresh) {
    std::optional<SlotIndex> chosen;
    for (; next_unused < kSlotCount && !chosen; ++next_unused) {
      if (ids_[next_unused].empty()) chosen = next_unused;
    }
    if (!chosen) {
      std::uint64_t oldest = round_;
      for (std::size_t s = 0; s < kSlotCount; ++s) {
        if (last_used_[s] < oldest && states_[s].active() == 0) {
          oldest = last_used_[s];
          chosen = static_cast<SlotIndex>(s);
        }
      }
      if (!chosen) continue;
      slot_of_.erase(ids_[*chosen]);
      states_[*chosen].reset();
    }
    ids_[*chosen] = ids[i];
    slot_of_[ids[i]] = *chosen;
    last_used_[*chosen] = round_;
    out[i] = chosen;
  }
  return out;
}

}  // namespace hop::proxy
