// GeoIP lookups: a client address to its country and continent, from a MaxMind DB (GeoLite2 or
// GeoIP2 Country/City) read through libmaxminddb. libmaxminddb stays out of this header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "hop/core/result.h"
#include "hop/proxy/ip.h"
#include "hop/proxy/routing_table.h"

struct MMDB_s;

namespace hop::proxy {

// The largest database open() maps: GeoIP2-City is about 100 MiB, so a bigger file is a mistake.
inline constexpr std::uintmax_t kMaxGeoIpFileBytes = std::uintmax_t{1} << 30;

// A MaxMind DB opened read-only (memory-mapped). Thread-safety: immutable after open(); lookup()
// may run on any number of threads at once.
class GeoIp {
 public:
  // Errc::kGeoIp, naming the file and what to do, when it is missing, not a regular file, empty,
  // unreadable, over kMaxGeoIpFileBytes, not a MaxMind DB, has corrupt metadata, or is a database
  // type without country data (ASN, ISP, anonymous IP...).
  static core::Result<std::unique_ptr<GeoIp>> open(const std::filesystem::path& path);
  ~GeoIp();
  GeoIp(const GeoIp&) = delete;
  GeoIp& operator=(const GeoIp&) = delete;

  // The country (ISO alpha-2, upper case; registered_country when country is absent) and the
  // continent code, as a Place with source kGeoIp and no region. nullopt when the address is not
  // in the database, its record names neither, or it is IPv6 and the database is IPv4-only.
  // A corrupt search tree or record is Errc::kGeoIp, never a crash.
  core::Result<std::optional<Place>> lookup(const IpAddress& address) const;

  // "GeoLite2-Country (built 2024-05-07) from /var/lib/hopline/country.mmdb", for logs.
  std::string description() const;

 private:
  GeoIp(std::filesystem::path path, std::unique_ptr<MMDB_s> db);

  std::filesystem::path path_;
  std::unique_ptr<MMDB_s> db_;  // closed (unmapped) in the destructor
  std::string description_;
  std::uint64_t id_;  // unique per opened database: the key of the per-thread record cache
};

}  // namespace hop::proxy
