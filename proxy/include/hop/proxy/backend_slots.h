// Live per-backend state shared by every proxy worker: the connections holding a slot (the
// hard-limit reservation), traffic counters, the measured connect time and the passive health
// breaker. A backend keeps its slot, and so its counts, across routing.db reloads (by id).
// Thread-safety: BackendState is all atomics, used from any worker; BackendSlots::assign() and
// the id map belong to the one control thread that installs routing tables.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hop/core/runtime.h"

namespace hop::proxy {

using SlotIndex = std::uint16_t;

// routing_db takes at most this many backends; twice as many slots let deleted backends keep
// theirs while their last connections close.
inline constexpr std::size_t kMaxBackends = 4096;
inline constexpr std::size_t kSlotCount = 2 * kMaxBackends;

enum class Breaker : std::uint8_t { kClosed, kOpen, kHalfOpen };
const char* to_string(Breaker state);

// Passive health: after `failures` connect failures in a row the breaker opens for `cooldown`,
// doubling with every further failure up to `max_cooldown`; then one trial connection decides.
struct BreakerPolicy {
  std::uint32_t failures = 3;
  core::Duration cooldown = std::chrono::seconds(10);
  core::Duration max_cooldown = std::chrono::minutes(2);
};

// Why a connection to a backend ended badly, for counters and logs.
enum class BackendError : std::uint8_t { kConnectRefused, kConnectTimeout, kConnectOther, kReset, kCount };
const char* to_string(BackendError error);

class BackendState {
 public:
  // Takes one of `hard_limit` slots; false when all are taken. Never exceeds the limit, however
  // many workers race.
  bool try_reserve(std::uint32_t hard_limit);
  void release() { active_.fetch_sub(1, std::memory_order_relaxed); }
  std::uint32_t active() const { return active_.load(std::memory_order_relaxed); }

  void on_connected(core::Duration connect_time);
  void on_error(BackendError error, core::TimePoint now, const BreakerPolicy& policy);
  Breaker breaker(core::TimePoint now, const BreakerPolicy& policy) const;
  // In kHalfOpen only one connection at a time may try the backend; true if this one may.
  bool try_begin_trial();
  // A trial that ended without an outcome (the client left while it connected).
  void end_trial() { trial_.store(false, std::memory_order_relaxed); }
  // Time left until an open breaker allows a trial (zero when not open).
  core::Duration open_for(core::TimePoint now) const;

  // Exponentially weighted connect time (1/8 per sample), microseconds; 0 before the first.
  std::uint32_t connect_time_us() const { return connect_us_.load(std::memory_order_relaxed); }
  std::uint64_t connections_total() const { return connections_.load(std::memory_order_relaxed); }
  std::uint64_t errors(BackendError error) const { return errors_[static_cast<int>(error)].load(std::memory_order_relaxed); }
  std::uint32_t failures_in_a_row() const { return failures_.load(std::memory_order_relaxed); }
  void add_bytes_to_backend(std::uint64_t n) { bytes_up_.fetch_add(n, std::memory_order_relaxed); }
  void add_bytes_from_backend(std::uint64_t n) { bytes_down_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t bytes_to_backend() const { return bytes_up_.load(std::memory_order_relaxed); }
  std::uint64_t bytes_from_backend() const { return bytes_down_.load(std::memory_order_relaxed); }
  // Zeroes the counters of a slot given to another backend (active must be 0).
  void reset();

 private:
  alignas(64) std::atomic<std::uint32_t> active_{0};
  std::atomic<std::uint32_t> failures_{0};
  std::atomic<std::int64_t> open_until_ns_{0};  // steady clock; meaningful once failures_ >= policy
  std::atomic<bool> trial_{false};
  std::atomic<std::uint32_t> connect_us_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> bytes_up_{0};
  std::atomic<std::uint64_t> bytes_down_{0};
  std::array<std::atomic<std::uint64_t>, static_cast<int>(BackendError::kCount)> errors_{};
};

class BackendSlots {
 public:
  BackendSlots();
  BackendState& operator[](SlotIndex slot) { return states_[slot]; }
  const BackendState& operator[](SlotIndex slot) const { return states_[slot]; }

  // Control thread. The slots of `ids` (one table's backends, in order): a known id keeps its
  // slot; a new one gets a free slot, or one whose backend left and has no connections. nullopt
  // for an id when no slot is free (then that backend is skipped and reported).
  std::vector<std::optional<SlotIndex>> assign(const std::vector<std::string>& ids);
  // Control thread: the id a slot was last given to ("" if never).
  const std::string& id_of(SlotIndex slot) const { return ids_[slot]; }

 private:
  std::unique_ptr<BackendState[]> states_;
  std::vector<std::string> ids_;                       // slot -> id
  std::unordered_map<std::string, SlotIndex> slot_of_;  // id -> slot
  std::vector<std::uint64_t> last_used_;               // slot -> assign() round that last listed it
  std::uint64_t round_ = 0;
};

}  // namespace hop::proxy
