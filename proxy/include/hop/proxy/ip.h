// IP addresses and CIDR prefixes as plain values: IPv4 is kept as an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d), so one 16-byte form serves hashing, prefix matching and GeoIP lookups.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "hop/core/result.h"

namespace hop::proxy {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 as ::ffff:a.b.c.d

  static IpAddress v4(std::uint32_t host_order);
  static IpAddress v6(const std::array<std::uint8_t, 16>& bytes) { return {bytes}; }
  bool is_v4() const;
  std::uint32_t v4_host_order() const;  // only when is_v4()
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"; anything else is Errc::kBadAddress.
core::Result<IpAddress> parse_ip(std::string_view text);
// The canonical text form (dotted quad for IPv4).
std::string to_string(const IpAddress& address);

// A CIDR prefix. IPv4 prefixes are stored as mapped IPv6 prefixes (bits + 96).
struct IpPrefix {
  IpAddress base;    // host bits zero
  std::uint8_t bits = 0;  // 0-128, in the mapped form

  bool contains(const IpAddress& address) const;
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Host bits set below the
// prefix length are an error, so a typo such as 10.1.0.0/8 is caught instead of widened.
core::Result<IpPrefix> parse_prefix(std::string_view text);
// "10.0.0.0/8" for IPv4 prefixes, "2001:db8::/32" otherwise.
std::string to_string(const IpPrefix& prefix);

}  // namespace hop::proxy
