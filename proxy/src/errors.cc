#include "hop/proxy/errors.h"

#include <string>

namespace hop::proxy {
namespace {

class ProxyCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hop.proxy"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::kBadAddress: return "not an IP address or CIDR prefix";
      case Errc::kGeoIp: return "GeoIP database error";
      case Errc::kRoutingDb: return "routing.db error";
      case Errc::kBadRow: return "invalid routing.db row";
      case Errc::kProxyHeader: return "malformed PROXY protocol header";
      case Errc::kNoBackend: return "no backend available";
    }
    return "unknown proxy error";
  }
};

}  // namespace

const std::error_category& proxy_category() {
  static const ProxyCategory category;
  return category;
}

}  // namespace hop::proxy
