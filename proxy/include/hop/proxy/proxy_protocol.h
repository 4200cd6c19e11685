// The PROXY protocol header a load balancer sends first on a connection (HAProxy's
// proxy-protocol.txt): version 1 (one text line) and version 2 (binary). Sans-I/O: the listener
// feeds what it has received so far and gets "need more", the header, or an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>

#include "hop/core/bytes.h"
#include "hop/core/result.h"
#include "hop/proxy/ip.h"

namespace hop::proxy {

// Version 1: the longest line the spec allows, CRLF included ("PROXY UNKNOWN" + two full IPv6
// addresses and ports).
inline constexpr std::size_t kMaxProxyV1Bytes = 107;
// Version 2: the fixed part (signature, version/command, family, length).
inline constexpr std::size_t kProxyV2FixedBytes = 16;
// Version 2: our limit on the address block + TLVs. Addresses take at most 36 (TCP over IPv6);
// the rest leaves room for the TLVs load balancers send (ALPN, authority, SSL, unique id).
inline constexpr std::size_t kMaxProxyV2Payload = 2048;

// Which header versions a listener accepts. The spec forbids guessing whether a header is there,
// so a listener either requires one of these or is not configured for the PROXY protocol at all.
enum class ProxyVersions : std::uint8_t { kV1, kV2, kEither };

struct ProxyEndpoints {
  IpAddress source;  // the client
  IpAddress destination;  // the address the client connected to
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  friend bool operator==(const ProxyEndpoints&, const ProxyEndpoints&) = default;
};

struct ProxyHeader {
  enum class Command : std::uint8_t { kLocal, kProxy };
  int version = 1;                         // 1 or 2
  Command command = Command::kProxy;       // v1 is always kProxy; v2 kLocal is a health check
  std::optional<ProxyEndpoints> endpoints; // TCP over IPv4/IPv6; absent for v1 UNKNOWN, v2 LOCAL
                                           // and v2 AF_UNSPEC: the caller keeps the socket's own
  std::size_t length = 0;                  // header bytes; the client's data starts here
};

// Every byte received so far is a valid start of a header; read more and decode again.
struct ProxyNeedMore {
  friend bool operator==(ProxyNeedMore, ProxyNeedMore) = default;
};

using ProxyDecodeResult = std::variant<ProxyNeedMore, ProxyHeader>;

// Decodes the header at the start of `received` (everything read from the connection so far;
// bytes past the header are left alone). Errc::kProxyHeader, with the reason, for a wrong
// signature or a version not in `accepted`, bad version/command/family nibbles, AF_UNIX or UDP,
// v1 addresses or ports that are not canonical, a missing CRLF within kMaxProxyV1Bytes, a v2
// length short for its family or over kMaxProxyV2Payload, and TLVs whose lengths do not add up.
core::Result<ProxyDecodeResult> decode_proxy_header(core::ByteView received, ProxyVersions accepted);

}  // namespace hop::proxy
