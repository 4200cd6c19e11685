// The routing table the proxy selects backends from: what routing.db holds (docs/proxy.md), as
// validated plain values. One table is an immutable snapshot; a reload builds a new one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hop/proxy/ip.h"

namespace hop::proxy {

// Where a client is. Empty fields are unknown, and unknown never equals anything (not even
// another unknown), so an unknown client is never silently placed in some country.
struct Place {
  enum class Source { kNone, kOverride, kGeoIp };
  std::string country;    // ISO 3166-1 alpha-2, upper case ("DE")
  std::string continent;  // two-letter continent code, upper case ("EU")
  std::string region;     // the operator's region name ("eu-west"); lower case
  Source source = Source::kNone;
};

// Where a backend is reached: a direct TCP address, or a destination in the overlay.
struct BackendTarget {
  enum class Kind { kDirect, kDestination };
  Kind kind = Kind::kDirect;
  IpAddress address;          // kDirect
  std::uint16_t port = 0;     // kDirect
  std::string destination;    // kDestination: "<52 base32 characters>.hop"
};

struct Backend {
  std::string id;             // unique, 1-64 characters of [A-Za-z0-9._-]
  std::string app;            // which listeners' clients it serves; "" serves every listener
  std::string region;         // lower case; may be empty (unknown)
  std::string country;        // upper case ISO alpha-2; may be empty (unknown)
  std::string continent;      // upper case two letters; may be empty (unknown)
  BackendTarget target;
  std::string target_text;    // as written in routing.db, for messages
  std::uint32_t weight = 1;   // 1-1000: relative capacity
  std::uint32_t soft_limit = 0;  // >= 1: comfortable connection count, used for scoring
  std::uint32_t hard_limit = 0;  // >= soft_limit: never exceeded
  bool healthy = true;        // the operator's (or an external checker's) verdict
};

// Whether `backend` serves the clients of a listener for `app`: its own app, or app "" (all).
inline bool serves(const Backend& backend, std::string_view app) { return backend.app.empty() || backend.app == app; }

struct GeoOverride {
  IpPrefix prefix;
  std::string country;
  std::string continent;
  std::string region;
};

struct RoutingTable {
  std::vector<Backend> backends;        // rows with deleted = 1 left out; sorted by id
  std::vector<GeoOverride> overrides;   // most specific prefix first
  std::uint64_t version = 0;            // counts successful loads; 0: the empty start-up table

  // The most specific override containing `client`, as a Place (source kOverride).
  std::optional<Place> override_for(const IpAddress& client) const;
  const Backend* find(std::string_view id) const;
};

// A row the loader left out, and why; reported to the operator.
struct SkippedRow {
  std::string table;   // "backends" or "geo_overrides"
  std::string key;     // the row's id or cidr (as text, possibly empty)
  std::string reason;  // "hard_limit 5 is below soft_limit 10"
};

struct LoadedRouting {
  RoutingTable table;
  std::vector<SkippedRow> skipped;
};

}  // namespace hop::proxy
