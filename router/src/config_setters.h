// The pieces every config-key setter is made of (config.cc, proxy_settings.cc): a Setter parses
// one key's value into a typed field, or returns an error naming where the value came from.
#pragma once

#include <charconv>
#include <functional>
#include <map>
#include <string>

#include "hop/core/errors.h"
#include "hop/router/config.h"

namespace hop::router {

using Setter = std::function<core::Status(const std::string&, const ConfigEntry&)>;
using Setters = std::map<std::string, Setter>;

inline core::Error bad_value(const std::string& key, const ConfigEntry& e, const std::string& expected) {
  return core::make_error(core::Errc::kInvalidArgument,
                          e.origin + ": " + key + " = '" + e.value + "': expected " + expected);
}

template <class Int>
core::Result<Int> parse_int(const std::string& key, const ConfigEntry& e, Int min, Int max) {
  Int v{};
  const char* end = e.value.data() + e.value.size();
  auto [ptr, ec] = std::from_chars(e.value.data(), end, v);
  if (ec != std::errc() || ptr != end || v < min || v > max) {
    return bad_value(key, e, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

// A setter that parses an integer in [min, max] into `out`.
template <class Int>
Setter int_into(Int& out, Int min, Int max) {
  return [&out, min, max](const std::string& key, const ConfigEntry& e) -> core::Status {
    auto v = parse_int<Int>(key, e, min, max);
    if (!v) return v.error();
    out = *v;
    return {};
  };
}

// A setter for a positive duration ("10s", "500ms", "5m").
inline Setter duration_into(core::Duration& out) {
  return [&out](const std::string& key, const ConfigEntry& e) -> core::Status {
    auto d = parse_duration(e.value);
    if (!d || d->count() <= 0) return bad_value(key, e, "a positive duration such as 10s, 500ms, 5m");
    out = *d;
    return {};
  };
}

// A service.NAME.* or client.NAME.* key (service_settings.cc): applied to `c`'s services and
// clients; false when `key` is neither.
bool is_edge_key(std::string_view key);
core::Status apply_edge_key(NodeConfig& c, const std::string& key, const ConfigEntry& entry);
// After every key: each service has a target, each client a listen address and a destination.
core::Status check_edges(const NodeConfig& c);
void add_edge_key_docs(std::vector<ConfigKeyDoc>& docs);

// The [proxy] keys (proxy_settings.cc), added to `setters`, writing into `proxy`.
void add_proxy_setters(Setters& setters, proxy::ProxyConfig& proxy);
// Their documentation, appended to config_keys().
void add_proxy_key_docs(std::vector<ConfigKeyDoc>& docs);

}  // namespace hop::router
