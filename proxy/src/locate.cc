#include "hop/proxy/proxy_state.h"

namespace hop::proxy {

Place locate(const RoutingSnapshot& snapshot, const IpAddress& client, ProxyCounters* counters) {
  if (snapshot.table) {
    if (auto place = snapshot.table->table().override_for(client)) {
      if (counters) counters->on_override_hit();
      return *std::move(place);
    }
  }
  if (snapshot.geoip) {
    auto found = snapshot.geoip->lookup(client);
    if (found && *found) return **std::move(found);
    if (counters) found ? counters->on_geoip_miss() : counters->on_geoip_error();
  } else if (counters) {
    counters->on_geoip_miss();
  }
  return Place{};
}

}  // namespace hop::proxy
