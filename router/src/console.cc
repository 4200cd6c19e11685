// The only file that includes Boost.Beast (it is heavy to compile): the listener, the sessions and
// the request policy (Host check, token, routing). The documents come from console_api,
// console_pages and metrics.
#include "hop/router/console.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

#include "console_api.h"
#include "console_history.h"
#include "console_pages.h"
#include "hop/core/errors.h"
#include "hop/router/node.h"
#include "json_writer.h"
#include "metrics.h"

namespace hop::router {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kHtmlType = "text/html; charset=utf-8";
constexpr std::string_view kPageCsp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

// What a request is judged against besides itself.
struct RequestContext {
  const Node& node;
  const ConsoleConfig& config;
  const ConsoleHistory& history;
  ConsoleTimes times;
  std::string local_host;  // the address the client reached (bracketed if IPv6)
  std::uint16_t port = 0;  // the bound port
};

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Host must name this console: a loopback name, the configured listen host or the address the
// client connected to, with no port or ours. Anything else (a DNS-rebinding name) is refused.
bool is_allowed_host(std::string_view host, const RequestContext& ctx) {
  std::string_view name = host, port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    name = host.substr(0, close + 1);
    port = host.substr(close + 1);
  } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon);
  }
  if (!port.empty() && port != ":" + std::to_string(ctx.port)) return false;
  const std::string n = lower(name);
  return n == "127.0.0.1" || n == "localhost" || n == "[::1]" || n == lower(bracketed(ctx.config.host)) ||
         n == lower(ctx.local_host);
}

// Compares in time that depends only on the length of `given`, not on where it differs.
bool token_matches(std::string_view given, std::string_view expected) {
  if (expected.empty()) return false;
  unsigned diff = given.size() == expected.size() ? 0u : 1u;
  for (std::size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^ static_cast<unsigned char>(expected[i % expected.size()]);
  }
  return diff == 0;
}

Response respond(const Request& req, http::status status, std::string body, std::string_view type) {
  Response res{status, req.version()};
  res.set(http::field::server, "hopline");
  res.set(http::field::content_type, beast::string_view(type.data(), type.size()));
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(req.keep_alive());
  const auto size = body.size();
  if (req.method() != http::verb::head) res.body() = std::move(body);
  res.content_length(size);  // a HEAD answer states what GET would send
  return res;
}

Response error(const Request& req, http::status status, std::string_view message) {
  JsonWriter j;
  j.begin_object().member("error", message).end_object();
  return respond(req, status, j.str(), kJsonType);
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

bool is_known_path(std::string_view path) { return path == "/metrics" || is_api_path(path) || is_page_path(path); }

Response handle_read(const Request& req, std::string_view path, const RequestContext& ctx) {
  if (path == "/metrics") return respond(req, http::status::ok, metrics_text(ctx.node, ctx.times), kMetricsType);
  if (auto body = api_json(path, ctx.node, ctx.times)) return respond(req, http::status::ok, std::move(*body), kJsonType);
  if (auto page = page_html(path, ctx.node, ctx.times, ctx.history)) {
    auto res = respond(req, http::status::ok, std::move(*page), kHtmlType);
    res.set("Content-Security-Policy", beast::string_view(kPageCsp.data(), kPageCsp.size()));
    return res;
  }
  return error(req, http::status::not_found, "no such endpoint (docs/console.md lists them)");
}

// Every method but GET and HEAD changes state, so it needs the token; none is served yet.
Response handle_write(const Request& req, std::string_view path, const RequestContext& ctx) {
  if (ctx.config.token.empty()) {
    return error(req, http::status::forbidden, "the console is read-only: no console.token is configured");
  }
  const std::string_view auth = view(req[http::field::authorization]);
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.substr(0, kBearer.size()) != kBearer || !token_matches(auth.substr(kBearer.size()), ctx.config.token)) {
    auto res = error(req, http::status::unauthorized, "this request needs Authorization: Bearer <console.token>");
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  }
  if (!is_known_path(path)) return error(req, http::status::not_found, "no such endpoint (docs/console.md lists them)");
  auto res = error(req, http::status::method_not_allowed, "this endpoint is read-only");
  res.set(http::field::allow, "GET, HEAD");
  return res;
}

Response handle(const Request& req, const RequestContext& ctx) {
  const std::string_view host = view(req[http::field::host]);
  if (host.empty()) return error(req, http::status::bad_request, "a Host header is required");
  if (!is_allowed_host(host, ctx)) {
    return error(req, http::status::misdirected_request, "Host does not name this console; use 127.0.0.1 or localhost");
  }
  const std::string_view target = view(req.target());
  if (target.empty() || target.front() != '/') return error(req, http::status::bad_request, "bad request target");
  const auto path = path_of(target);
  if (req.method() == http::verb::get || req.method() == http::verb::head) return handle_read(req, path, ctx);
  return handle_write(req, path, ctx);
}

}  // namespace

// One client connection: read a request (bounded in size and time), answer, repeat while the
// client keeps the connection alive. After close(), or once the server is gone, its handlers
// only return. Thread affinity: the server's.
class ConsoleServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ConsoleServer& server)
      : stream_(std::move(socket)), server_(server), alive_(server.alive_) {
    boost::system::error_code ec;
    const auto local = stream_.socket().local_endpoint(ec);
    if (!ec) local_host_ = bracketed(local.address().to_string());
  }

  void start() { do_read(); }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  bool is_done() const { return closed_ || alive_.expired(); }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(kConsoleHeaderLimit);
    parser_->body_limit(kConsoleBodyLimit);
    // One deadline for the whole request: a client sending a byte at a time cannot extend it.
    stream_.expires_after(kConsoleRequestTimeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (is_done()) return;
    if (ec == http::error::header_limit) return refuse(http::status::request_header_fields_too_large);
    if (ec == http::error::body_limit) return refuse(http::status::payload_too_large);
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset) {
      return close();
    }
    if (ec) return refuse(http::status::bad_request);
    const RequestContext ctx{server_.node_, server_.config_, *server_.history_,
                             {server_.runtime_.now(), server_.runtime_.wall_now(), server_.started_},
                             local_host_, server_.bound_.port()};
    write(handle(parser_->get(), ctx));
  }

  // A request that cannot be parsed or is over a limit: answer once, then close.
  void refuse(http::status status) {
    refusing_ = true;
    Request req;
    req.version(11);
    req.keep_alive(false);
    write(error(req, status, "request refused: malformed or over the console's size limits"));
  }

  void write(Response res) {
    response_ = std::move(res);
    stream_.expires_after(kConsoleWriteTimeout);
    http::async_write(stream_, response_, beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (is_done()) return;
    if (ec) return close();
    if (refusing_) return linger();
    if (!response_.keep_alive()) return close();
    do_read();
  }

  // After a refusal the client may still be sending; closing with unread data would reset the
  // connection and could destroy our answer before it is read. So: stop sending, discard what
  // arrives until EOF, for at most kConsoleLinger and kConsoleLingerBytes, then close.
  void linger() {
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kConsoleLinger);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (self->is_done()) return;
      self->lingered_ += n;
      if (ec || self->lingered_ > kConsoleLingerBytes) return self->close();
      self->drain();
    });
  }

  beast::tcp_stream stream_;
  ConsoleServer& server_;  // used only while alive_ holds
  std::weak_ptr<int> alive_;
  std::string local_host_;
  beast::flat_buffer buffer_{kConsoleHeaderLimit + kConsoleBodyLimit};
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  std::array<char, 4096> discard_{};
  std::size_t lingered_ = 0;
  bool refusing_ = false;
  bool closed_ = false;
};

ConsoleServer::ConsoleServer(core::AsioRuntime& runtime, const Node& node, ConsoleConfig config)
    : runtime_(runtime),
      node_(node),
      config_(std::move(config)),
      acceptor_(runtime.io()),
      accept_retry_(runtime.make_timer([this] { do_accept(); })),
      history_(std::make_unique<ConsoleHistory>()),
      history_timer_(runtime.make_timer([this] { on_history_sample(); })) {}

ConsoleServer::~ConsoleServer() { stop(); }

core::Status ConsoleServer::start() {
  if (auto st = check_console_config(config_); !st) return st;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(config_.host, ec);
  if (ec) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "console.listen host '" + config_.host + "' is not a numeric IP");
  }
  const tcp::endpoint ep(address, config_.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) bound_ = acceptor_.local_endpoint(ec);
  if (ec) {
    return core::make_error(std::error_code(ec.value(), std::generic_category()),
                            "console: listening on " + bracketed(config_.host) + ":" + std::to_string(config_.port) +
                                " (set console.listen to a free address, or to off)");
  }
  started_ = runtime_.now();
  alive_ = std::make_shared<int>(0);
  spdlog::info("console on http://{}:{}/ (JSON API /api/v1/, metrics /metrics)", bracketed(config_.host), bound_.port());
  do_accept();
  on_history_sample();
  return {};
}

void ConsoleServer::stop() {
  if (!alive_) return;
  alive_.reset();
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_->cancel();
  history_timer_->cancel();
  for (auto& [id, weak] : sessions_) {
    if (auto session = weak.lock()) session->close();
  }
  sessions_.clear();
}

void ConsoleServer::do_accept() {
  acceptor_.async_accept([this, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec,
                                                                     tcp::socket socket) {
    if (alive.expired()) return;  // stopped or destroyed: `this` may be gone
    if (ec) {
      // Out of descriptors, most likely: retrying at once would spin.
      spdlog::warn("console: accept failed: {}; retrying in 1s", ec.message());
      accept_retry_->arm(runtime_.now() + kConsoleAcceptRetry);
      return;
    }
    on_accept(std::move(socket));
    do_accept();
  });
}

void ConsoleServer::on_accept(tcp::socket socket) {
  if (live_sessions() >= kConsoleMaxSessions) {
    boost::system::error_code ignored;
    socket.close(ignored);  // a flood of connections cannot grow the node's memory
    return;
  }
  auto session = std::make_shared<Session>(std::move(socket), *this);
  sessions_.emplace(next_session_++, session);
  session->start();
}

// Samples the node now and every kConsoleHistoryPeriod after, until stop().
void ConsoleServer::on_history_sample() {
  const auto now = runtime_.now();
  history_->add(sample_node(node_, now));
  history_timer_->arm(now + kConsoleHistoryPeriod);
}

std::size_t ConsoleServer::live_sessions() {
  std::erase_if(sessions_, [](const auto& entry) { return entry.second.expired(); });
  return sessions_.size();
}

}  // namespace hop::router
