#include "hop/proxy/affinity.h"

#include <algorithm>
#include <bit>

namespace hop::proxy {
namespace {

constexpr std::size_t kWays = 4;
constexpr std::uint64_t kTagBits = 24;
constexpr std::uint64_t kTimeMask = (1u << 24) - 1;

// Entry layout: tag (24) | slot (16) | seconds (24). 0 is an empty entry; tags are never 0.
std::uint64_t pack(std::uint32_t tag, std::uint32_t value16, std::uint32_t seconds) {
  return std::uint64_t{tag} << 40 | std::uint64_t{value16 & 0xffff} << 24 | (seconds & kTimeMask);
}
std::uint32_t tag_of(std::uint64_t e) { return static_cast<std::uint32_t>(e >> 40); }
std::uint32_t value_of(std::uint64_t e) { return static_cast<std::uint32_t>(e >> 24) & 0xffff; }
std::uint32_t seconds_of(std::uint64_t e) { return static_cast<std::uint32_t>(e) & kTimeMask; }
// Whether `expiry` (24-bit, wrapping) lies after `now`.
bool alive(std::uint32_t expiry, std::uint32_t now) {
  const std::uint32_t ahead = (expiry - now) & kTimeMask;
  return ahead != 0 && ahead < (1u << 23);
}

std::size_t round_capacity(std::size_t capacity) { return std::bit_ceil(std::max<std::size_t>(capacity, kWays)); }

core::crypto::Key16 random_key() {
  core::crypto::Key16 key;
  core::crypto::random_bytes(key);
  return key;
}

std::uint32_t tag_from(std::uint64_t h) {
  const auto tag = static_cast<std::uint32_t>(h >> (64 - kTagBits));
  return tag == 0 ? 1 : tag;
}

std::uint64_t keyed_hash(const core::crypto::Key16& key, const IpAddress& client) {
  return core::crypto::siphash24(key, core::ByteView(client.bytes.data(), client.bytes.size()));
}

}  // namespace

std::uint32_t coarse_seconds(core::TimePoint now) {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
}

AffinityTable::AffinityTable(std::size_t capacity, core::Duration ttl)
    : slots_(std::make_unique<std::atomic<std::uint64_t>[]>(round_capacity(capacity))),
      mask_(round_capacity(capacity) - 1),
      ttl_(std::clamp<core::Duration>(ttl, std::chrono::seconds(1), kMaxAffinityTtl)),
      ttl_s_(static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(ttl_).count())),
      key_(random_key()) {}

std::uint64_t AffinityTable::hash(const IpAddress& client) const { return keyed_hash(key_, client); }

std::optional<SlotIndex> AffinityTable::find(const IpAddress& client, core::TimePoint now) {
  const std::uint64_t h = hash(client);
  const std::uint32_t tag = tag_from(h);
  const std::uint32_t t = coarse_seconds(now);
  const std::size_t set = h & mask_ & ~(kWays - 1);
  for (std::size_t w = 0; w < kWays; ++w) {
    auto& entry = slots_[set + w];
    std::uint64_t e = entry.load(std::memory_order_relaxed);
    if (e == 0 || tag_of(e) != tag || !alive(seconds_of(e), t)) continue;
    // Sliding TTL; losing this race to another refresh or a rebind is fine.
    entry.compare_exchange_strong(e, pack(tag, value_of(e), t + ttl_s_), std::memory_order_relaxed);
    return static_cast<SlotIndex>(value_of(e));
  }
  return std::nullopt;
}

void AffinityTable::bind(const IpAddress& client, SlotIndex slot, core::TimePoint now) {
  const std::uint64_t h = hash(client);
  const std::uint32_t tag = tag_from(h);
  const std::uint32_t t = coarse_seconds(now);
  const std::size_t set = h & mask_ & ~(kWays - 1);
  std::size_t victim = set;
  std::uint32_t victim_left = ~0u;
  for (std::size_t w = 0; w < kWays; ++w) {
    const std::uint64_t e = slots_[set + w].load(std::memory_order_relaxed);
    if (e != 0 && tag_of(e) == tag) {
      victim = set + w;
      break;
    }
    const std::uint32_t left = (e == 0 || !alive(seconds_of(e), t)) ? 0 : ((seconds_of(e) - t) & kTimeMask);
    if (left < victim_left) {
      victim_left = left;
      victim = set + w;
    }
  }
  slots_[victim].store(pack(tag, slot, t + ttl_s_), std::memory_order_relaxed);
}

void AffinityTable::forget(const IpAddress& client) {
  const std::uint64_t h = hash(client);
  const std::uint32_t tag = tag_from(h);
  const std::size_t set = h & mask_ & ~(kWays - 1);
  for (std::size_t w = 0; w < kWays; ++w) {
    std::uint64_t e = slots_[set + w].load(std::memory_order_relaxed);
    if (e != 0 && tag_of(e) == tag) slots_[set + w].compare_exchange_strong(e, 0, std::memory_order_relaxed);
  }
}

std::size_t AffinityTable::live(core::TimePoint now) const {
  const std::uint32_t t = coarse_seconds(now);
  std::size_t n = 0;
  for (std::size_t i = 0; i <= mask_; ++i) {
    const std::uint64_t e = slots_[i].load(std::memory_order_relaxed);
    if (e != 0 && alive(seconds_of(e), t)) ++n;
  }
  return n;
}

ClientRateLimiter::ClientRateLimiter(std::size_t capacity, std::uint32_t per_second)
    : slots_(std::make_unique<std::atomic<std::uint64_t>[]>(round_capacity(capacity))),
      mask_(round_capacity(capacity) - 1),
      per_second_(std::min<std::uint32_t>(per_second, 0xffff)),
      key_(random_key()) {}

void ClientRateLimiter::set_per_second(std::uint32_t per_second) {
  per_second_.store(std::min<std::uint32_t>(per_second, 0xffff), std::memory_order_relaxed);
}

bool ClientRateLimiter::allow(const IpAddress& client, core::TimePoint now) {
  const std::uint32_t per_second = per_second_.load(std::memory_order_relaxed);
  if (per_second == 0) return true;
  const std::uint64_t h = keyed_hash(key_, client);
  const std::uint32_t tag = tag_from(h);
  const std::uint32_t t = coarse_seconds(now) & kTimeMask;
  // One entry per address (direct mapped): a collision with another address shares its count,
  // which errs towards refusing only when both are busy in the same second.
  auto& entry = slots_[h & mask_];
  std::uint64_t e = entry.load(std::memory_order_relaxed);
  for (;;) {
    const bool same = e != 0 && tag_of(e) == tag && seconds_of(e) == t;
    const std::uint32_t count = same ? value_of(e) : 0;
    if (count >= per_second) return false;
    if (entry.compare_exchange_weak(e, pack(tag, count + 1, t), std::memory_order_relaxed)) return true;
  }
}

}  // namespace hop::proxy
