// Error codes of the proxy module (category "hop.proxy").
#pragma once

#include <system_error>

namespace hop::proxy {

enum class Errc {
  kBadAddress = 1,   // an IP address or CIDR prefix that does not parse
  kGeoIp,            // the GeoIP database cannot be opened or read (the context says why)
  kRoutingDb,        // routing.db cannot be opened, read or written
  kBadRow,           // a routing.db row is invalid (the context names the row and the field)
  kProxyHeader,      // a malformed PROXY protocol header
  kNoBackend,        // no backend can take the connection
};

const std::error_category& proxy_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), proxy_category()}; }

}  // namespace hop::proxy

template <>
struct std::is_error_code_enum<hop::proxy::Errc> : std::true_type {};
