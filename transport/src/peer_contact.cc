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

bool is_lost(CloseReason reason) {
  return reason == CloseReason::kPeerClosed || reason == CloseReason::kUnresponsive ||
         reason == CloseReason::kNetworkError;
}

std::string PeerContact::address() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string PeerContact::to_string() const { return address() + ":" + core::to_base32(static_key); }

std::optional<std::string> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;  // 45: the longest IPv6 text form
  for (char c : text) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                    c == '.' || c == ':';
    if (!ok) return std::nullopt;
  }
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return addr.to_string();
}

core::Result<HostPort> parse_host_port(std::string_view text, bool allow_any_port) {
  auto bad = [&](const std::string& why) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "address '" + std::string(text) + "': " + why);
  };
  const auto sep = text.rfind(':');
  if (sep == std::string_view::npos) return bad("no port (expected host:port, IPv6 as [addr]:port)");
  std::string_view host = text.substr(0, sep);
  const std::string_view port_text = text.substr(sep + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto addr = parse_ip(host);
  if (!addr) return bad("host is not a numeric IP address");
  unsigned port = 0;
  auto [ptr, perr] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  const unsigned min_port = allow_any_port ? 0 : 1;
  if (perr != std::errc() || ptr != port_text.data() + port_text.size() || port < min_port || port > 65535) {
    return bad(allow_any_port ? "port must be 0-65535" : "port must be 1-65535");
  }
  return HostPort{*addr, static_cast<std::uint16_t>(port)};
}

core::Result<PeerContact> PeerContact::parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "peer '" + std::string(text) + "': " + why +
                                " (expected host:port:static-key, IPv6 as [addr]:port:key)");
  };
  const auto key_sep = text.rfind(':');
  if (key_sep == std::string_view::npos || key_sep == 0) return bad("no static key");
  auto key = core::from_base32(text.substr(key_sep + 1));
  if (!key || key->size() != 32) return bad("static key must be 52 base32 characters");
  auto hp = parse_host_port(text.substr(0, key_sep), false);
  if (!hp) return bad(hp.error().context.substr(hp.error().context.find(": ") + 2));
  PeerContact c;
  c.host = hp->host;
  c.port = hp->port;
  std::memcpy(c.static_key.data(), key->data(), 32);
  return c;
}

}  // namespace hop::transport
