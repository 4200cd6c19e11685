#include "hop/proxy/routing_table.h"

#include <algorithm>

namespace hop::proxy {

std::optional<Place> RoutingTable::override_for(const IpAddress& client) const {
  for (const auto& entry : overrides) {
    if (entry.prefix.contains(client)) {
      return Place{entry.country, entry.continent, entry.region, Place::Source::kOverride};
    }
  }
  return std::nullopt;
}

const Backend* RoutingTable::find(std::string_view id) const {
  const auto it = std::lower_bound(backends.begin(), backends.end(), id,
                                   [](const Backend& b, std::string_view key) { return b.id < key; });
  return it != backends.end() && it->id == id ? &*it : nullptr;
}

}  // namespace hop::proxy
