#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cstring>

#include "hop/core/encoding.h"
#include "hop/core/errors.h"
#include "hop/transport/errors.h"
#include "hop/transport/link_layer.h"

namespace hop::transport {

std::string_view to_string(CloseReason reason) {
  switch (reason) {
    case CloseReason::kLocal: return "local";
    case CloseReason::kPeerClosed: return "peer-closed";
    case CloseReason::kHandshakeTimeout: return "handshake-timeout";
    case CloseReason::kHandshakeFailed: return "handshake-failed";
    case CloseReason::kProtocolError: return "protocol-error";
    case CloseReason::kIdle: return "idle";
    case CloseReason::kUnresponsive: return "unresponsive";
    case CloseReason::kEvicted: return "evicted";
    case CloseReason::kDuplicate: return "duplicate";
    case CloseReason::kLimit: return "limit";
    case CloseReason::kNetworkError: return "network-error";
  }
  return "unknown";
}

std::string PeerContact::address() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string PeerContact::to_string() const { return address() + ":" + core::to_base32(static_key); }

core::Result<PeerContact> PeerContact::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "peer '" + std::string(text) + "': " + why +
                                " (expected host:port:static-key, IPv6 as [addr]:port:key)");
  };
  const auto key_sep = text.rfind(':');
  if (key_sep == std::string_view::npos) return bad("no static key");
  const auto port_sep = text.rfind(':', key_sep - 1);
  if (key_sep == 0 || port_sep == std::string_view::npos) return bad("no port");
  std::string_view host = text.substr(0, port_sep);
  std::string_view port_text = text.substr(port_sep + 1, key_sep - port_sep - 1);
  std::string_view key_text = text.substr(key_sep + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  PeerContact c;
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return bad("host is not a numeric IP address");
  c.host = addr.to_string();
  unsigned port = 0;
  auto [ptr, perr] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (perr != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return bad("port must be 1-65535");
  }
  c.port = static_cast<std::uint16_t>(port);
  auto key = core::from_base32(key_text);
  if (!key || key->size() != 32) return bad("static key must be 52 base32 characters");
  std::memcpy(c.static_key.data(), key->data(), 32);
  return c;
}

}  // namespace hop::transport
