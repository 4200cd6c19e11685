// A small synchronous HTTP/1.1 GET client for a node's console (docs/console.md), used by the
// CLI's status/peers/tunnels/netdb commands. Plain http:// to a numeric address or localhost
// only; each request is bounded in time (connect to last byte) and in response size.
// Thread affinity: the caller's thread; each call runs its own private io_context.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hop/core/result.h"

namespace hop::router {

inline constexpr auto kConsoleClientTimeout = std::chrono::seconds(5);         // connect and whole exchange
inline constexpr std::size_t kConsoleClientResponseLimit = 16 * 1024 * 1024;  // a netdb of many routers fits
inline constexpr std::string_view kDefaultConsoleUrl = "http://127.0.0.1:7070";

// A parsed http://HOST:PORT: HOST is a numeric IPv4 address, [IPv6] or localhost.
struct ConsoleUrl {
  std::string text;               // as given, for messages
  boost::asio::ip::address address;
  std::string host;               // for the Host header: "127.0.0.1", "[::1]", "localhost"
  std::uint16_t port = 0;
};
// Errors say what is wrong with `text` (https is refused with what to use instead).
core::Result<ConsoleUrl> parse_console_url(std::string_view text);

enum class ConsoleFailure {
  kNone,         // an HTTP answer arrived (any status)
  kUnreachable,  // no connection: refused, no route, or no answer to the connect in time
  kBadAnswer,    // connected, but no complete answer: timeout, reset, malformed, too large
};

struct ConsoleReply {
  ConsoleFailure failure = ConsoleFailure::kNone;
  std::string reason;  // why, when failure != kNone ("connection refused", "timed out after 5 s")
  int status = 0;
  std::string body;
};

// GETs `target` ("/api/v1/status") from the console at `url`, all within `timeout`.
ConsoleReply console_get(const ConsoleUrl& url, std::string_view target,
                         std::chrono::milliseconds timeout = kConsoleClientTimeout);

}  // namespace hop::router
