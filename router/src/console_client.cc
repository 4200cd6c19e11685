// The only client-side Beast file. One private io_context per call runs the connect, write and
// read asynchronously so that a single tcp_stream deadline bounds the whole exchange.
#include "hop/router/console_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

#include "hop/core/errors.h"

namespace hop::router {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint32_t kHeaderLimit = 64 * 1024;  // the console sends a few hundred bytes

core::Error url_error(std::string_view text, const std::string& what) {
  return core::make_error(core::Errc::kInvalidArgument, "bad console URL '" + std::string(text) + "': " + what);
}

std::string describe(const boost::system::error_code& ec, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    if (timeout < std::chrono::seconds(1)) return "no answer within " + std::to_string(timeout.count()) + " ms";
    return "no answer within " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) + " s";
  }
  if (ec == asio::error::connection_refused) return "connection refused";
  if (ec == http::error::body_limit || ec == http::error::buffer_overflow || ec == http::error::header_limit) {
    return "the answer is larger than " + std::to_string(kConsoleClientResponseLimit >> 20) + " MiB";
  }
  return ec.message();
}

}  // namespace

core::Result<ConsoleUrl> parse_console_url(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (text.rfind("https://", 0) == 0) {
    return url_error(text, "https is not supported: the console speaks plain HTTP on loopback; use "
                           "http://HOST:PORT (for a remote node, an SSH tunnel to its console)");
  }
  if (text.rfind(kScheme, 0) != 0) return url_error(text, "expected http://HOST:PORT");
  std::string_view rest = text.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  ConsoleUrl url;
  url.text = std::string(text);
  std::string_view host, port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return url_error(text, "unclosed '[' in the host");
    host = rest.substr(1, close - 1);
    url.host = "[" + std::string(host) + "]";
    rest.remove_prefix(close + 1);
    if (rest.empty() || rest.front() != ':') return url_error(text, "expected :PORT after the host");
    port = rest.substr(1);
  } else {
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) return url_error(text, "expected :PORT after the host");
    host = rest.substr(0, colon);
    url.host = std::string(host);
    port = rest.substr(colon + 1);
  }
  if (port.find('/') != std::string_view::npos) return url_error(text, "a path is not allowed (the commands add it)");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return url_error(text, "the port must be a number from 1 to 65535");
  }
  url.port = static_cast<std::uint16_t>(value);
  if (host == "localhost") {
    url.address = asio::ip::address_v4::loopback();
    return url;
  }
  boost::system::error_code aec;
  url.address = asio::ip::make_address(std::string(host), aec);
  if (aec) return url_error(text, "the host must be a numeric IPv4 address, [IPv6] or localhost");
  return url;
}

ConsoleReply console_get(const ConsoleUrl& url, std::string_view target, std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::empty_body> request{http::verb::get, beast::string_view(target.data(), target.size()), 11};
  request.set(http::field::host, url.host + ":" + std::to_string(url.port));
  request.set(http::field::user_agent, "hopline-cli");
  request.set(http::field::accept, "application/json");
  request.keep_alive(false);
  http::response_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(kConsoleClientResponseLimit);

  ConsoleReply reply;
  auto failed = [&](ConsoleFailure failure, const boost::system::error_code& ec) {
    reply.failure = failure;
    reply.reason = describe(ec, timeout);
  };
  // One deadline for connect, write and read: the stream keeps it until it is changed.
  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint(url.address, url.port), [&](const boost::system::error_code& ec) {
    if (ec) return failed(ConsoleFailure::kUnreachable, ec);
    http::async_write(stream, request, [&](const boost::system::error_code& wec, std::size_t) {
      if (wec) return failed(ConsoleFailure::kBadAnswer, wec);
      http::async_read(stream, buffer, parser, [&](const boost::system::error_code& rec, std::size_t) {
        if (rec) return failed(ConsoleFailure::kBadAnswer, rec);
        reply.status = static_cast<int>(parser.get().result_int());
        reply.body = std::move(parser.get().body());
      });
    });
  });
  io.run();
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return reply;
}

}  // namespace hop::router
