// Client affinity: client IP -> backend slot, with a sliding TTL and a fixed size, shared by all
// workers without locks. Each entry is one 64-bit atomic (a 24-bit tag of the address's keyed
// hash, the slot, a 24-bit expiry in seconds); a lookup probes one 4-way set. A tag collision
// (about 4 in 16 million per lookup) hands a client someone else's binding, which is harmless.
// The caller drops a binding whose backend is gone, unhealthy or full (forget()).
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "hop/core/crypto.h"
#include "hop/core/runtime.h"
#include "hop/proxy/backend_slots.h"
#include "hop/proxy/ip.h"

namespace hop::proxy {

// The longest TTL the 24-bit expiry can express safely (half its wrap-around).
inline constexpr std::chrono::hours kMaxAffinityTtl{24 * 90};

// Seconds on a coarse clock from some start; what the tables below compare.
std::uint32_t coarse_seconds(core::TimePoint now);

class AffinityTable {
 public:
  // `capacity` entries (rounded up to a power of two, at least 4); ttl <= kMaxAffinityTtl.
  AffinityTable(std::size_t capacity, core::Duration ttl);

  // The client's backend slot if its binding lives; a hit extends the binding by the TTL.
  std::optional<SlotIndex> find(const IpAddress& client, core::TimePoint now);
  // Binds (or rebinds) the client. When its set is full the entry closest to expiry goes.
  void bind(const IpAddress& client, SlotIndex slot, core::TimePoint now);
  void forget(const IpAddress& client);
  std::size_t capacity() const { return mask_ + 1; }
  // Live bindings (a scan: for the console, not the data path).
  std::size_t live(core::TimePoint now) const;
  core::Duration ttl() const { return ttl_; }

 private:
  std::uint64_t hash(const IpAddress& client) const;
  std::unique_ptr<std::atomic<std::uint64_t>[]> slots_;
  std::size_t mask_;
  core::Duration ttl_;
  std::uint32_t ttl_s_;
  core::crypto::Key16 key_;
};

// New connections per second per client address, over the same kind of table: an address over
// `per_second` in the current second is refused. Thread-safety: any thread.
class ClientRateLimiter {
 public:
  ClientRateLimiter(std::size_t capacity, std::uint32_t per_second);
  // Counts one connection; false when the client is over its rate (0 = no limit).
  bool allow(const IpAddress& client, core::TimePoint now);
  // A new rate (SIGHUP), at most 65535; counts of the current second are kept.
  void set_per_second(std::uint32_t per_second);
  std::uint32_t per_second() const { return per_second_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> slots_;
  std::size_t mask_;
  std::atomic<std::uint32_t> per_second_;
  core::crypto::Key16 key_;
};

}  // namespace hop::proxy
