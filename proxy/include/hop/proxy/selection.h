// Backend selection, the pure core of the geo-proxy: given where a client is, the routing table
// and the live load of every backend, which backends to try, best first. docs/proxy.md gives the
// formula. An immutable CompiledTable is built once per routing.db load (control thread) and
// shared by every worker; rank_backends() is the per-connection fast path (no allocation, no
// lock); evaluate_backends() explains every candidate for `hopline proxy explain` and the console.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hop/proxy/backend_slots.h"
#include "hop/proxy/routing_table.h"

namespace hop::proxy {

// Tiers, best first. kNear: same continent or same region. An unknown place matches no tier
// that needs it.
enum class Tier : std::uint8_t { kCountry = 0, kNear = 1, kPopRegion = 2, kOther = 3 };
const char* to_string(Tier tier);

struct SelectionPolicy {
  std::string pop_region;                 // the POP's own region (tier kPopRegion); lower case
  BreakerPolicy breaker;
  double latency_reference_ms = 50;       // a backend this slow to connect scores 2x worse
  double half_open_penalty = 4;           // a backend on trial is used only when others are worse
  bool overlay_streams = false;           // whether destination backends can be reached (issue 5)
};

// A client's place compiled against one table: codes instead of strings.
struct ClientKey {
  std::uint16_t country = 0;    // 0: unknown
  std::uint16_t continent = 0;
  std::int32_t region = -1;     // index into the table's regions; -1: unknown or none listed
};

struct Choice {
  std::uint16_t backend = 0;    // index into table().backends
  SlotIndex slot = 0;
  Tier tier = Tier::kOther;
  float score = 0;              // lower is better, within a tier
};

class CompiledTable {
 public:
  // `slots[i]` is the slot of table->backends[i]; a backend without one (nullopt) is left out.
  CompiledTable(std::shared_ptr<const RoutingTable> table, const std::vector<std::optional<SlotIndex>>& slots,
                SelectionPolicy policy);

  const RoutingTable& table() const { return *table_; }
  const SelectionPolicy& policy() const { return policy_; }
  ClientKey key_of(const Place& place) const;
  // Indexes of the backends serving listeners of `app`: those of that app and those with app "".
  std::span<const std::uint16_t> candidates_for(std::string_view app) const;
  // The slot of backend `index`, if it has one.
  std::optional<SlotIndex> slot_of(std::uint16_t index) const;
  // The backend (index) holding `slot` in this table, if any.
  std::optional<std::uint16_t> index_of_slot(SlotIndex slot) const;

 private:
  friend std::size_t rank_backends(const CompiledTable&, const ClientKey&, std::span<const std::uint16_t>,
                                   const BackendSlots&, core::TimePoint, std::uint32_t, std::span<Choice>);
  friend std::optional<Tier> tier_of(const CompiledTable&, const ClientKey&, std::uint16_t);
  struct Entry {
    std::uint16_t country;
    std::uint16_t continent;
    std::int32_t region;
    bool in_pop_region;
    bool healthy;
    bool reachable;     // direct, or a destination while overlay streams are available
    bool has_slot;
    SlotIndex slot;
    std::uint32_t hard_limit;
    float inv_soft;     // 1 / soft_limit
    float inv_weight;   // 1 / weight
  };
  std::shared_ptr<const RoutingTable> table_;
  SelectionPolicy policy_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::int32_t> regions_;
  std::unordered_map<std::string, std::vector<std::uint16_t>> by_app_;
  std::vector<std::uint16_t> common_;  // backends with app "" (served to every app)
  std::vector<std::int32_t> index_of_slot_;  // slot -> backend index, -1: none
};

// "DE" -> a nonzero code; anything but two ASCII letters -> 0 (unknown).
std::uint16_t pack_code(std::string_view two_letters);

// The tier of backend `index` for `client`.
std::optional<Tier> tier_of(const CompiledTable& table, const ClientKey& client, std::uint16_t index);

// Fills `out` with the best backends among `candidates` (best first: tier, then score) that are
// healthy, not full and not behind an open breaker; returns how many. `tiebreak` (e.g. a
// per-worker counter) rotates where the scan starts, so equal backends share a burst of clients.
std::size_t rank_backends(const CompiledTable& table, const ClientKey& client, std::span<const std::uint16_t> candidates,
                          const BackendSlots& slots, core::TimePoint now, std::uint32_t tiebreak, std::span<Choice> out);

// One backend as explain sees it.
struct Evaluation {
  const Backend* backend = nullptr;
  Tier tier = Tier::kOther;
  float score = 0;
  std::uint32_t active = 0;
  Breaker breaker = Breaker::kClosed;
  std::string excluded;  // empty: a candidate; else why not ("unhealthy in routing.db", "full: 20/20", ...)
};

// Every backend of the table for a client of `app`, candidates first (in rank order), then the
// excluded ones with their reason.
std::vector<Evaluation> evaluate_backends(const CompiledTable& table, const Place& place, std::string_view app,
                                          const BackendSlots& slots, core::TimePoint now);

}  // namespace hop::proxy
