#include "hop/netdb/kademlia.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace hop::netdb {

Distance xor_distance(const core::RouterHash& a, const core::RouterHash& b) {
  Distance d;
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = a.bytes[i] ^ b.bytes[i];
  return d;
}

bool is_closer(const core::RouterHash& target, const core::RouterHash& a, const core::RouterHash& b) {
  for (std::size_t i = 0; i < target.bytes.size(); ++i) {
    const std::uint8_t da = a.bytes[i] ^ target.bytes[i];
    const std::uint8_t db = b.bytes[i] ^ target.bytes[i];
    if (da != db) return da < db;
  }
  return false;
}

std::vector<core::RouterHash> closest(const core::RouterHash& target,
                                      std::span<const core::RouterHash> candidates, std::size_t k) {
  std::vector<core::RouterHash> out(candidates.begin(), candidates.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  const auto by_distance = [&](const core::RouterHash& a, const core::RouterHash& b) {
    return is_closer(target, a, b);
  };
  if (out.size() > k) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), by_distance);
    out.resize(k);
  } else {
    std::sort(out.begin(), out.end(), by_distance);
  }
  return out;
}

core::RouterHash routing_key(const core::RouterHash& key, core::WallTime now) {
  const std::time_t t = core::WallClock::to_time_t(now);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char day[40];
  std::snprintf(day, sizeof day, "%04d%02d%02d", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday);
  core::RouterHash out;
  core::crypto::Blake2b(core::crypto::kKeySize).update(key.bytes).update(core::as_bytes(std::string_view(day, 8))).finish(out.bytes);
  return out;
}

}  // namespace hop::netdb
