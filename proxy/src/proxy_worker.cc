#include "hop/proxy/proxy_worker.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <csignal>

#include "connection.h"
#include "pipe_pool.h"
#include "hop/proxy/errors.h"

namespace hop::proxy {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr auto kSweepInterval = std::chrono::seconds(1);
constexpr auto kAcceptPause = std::chrono::milliseconds(100);  // after running out of descriptors
constexpr auto kAcceptErrorLogInterval = std::chrono::seconds(10);

bool is_resource_error(const error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory;
}

bool sigpipe_ignored() {
  struct sigaction current {};
  return ::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

}  // namespace

ProxyWorker::ProxyWorker(asio::io_context& io, ProxyShared& shared, unsigned index)
    : io_(io), shared_(shared), index_(index), sweep_timer_(io), scratch_(std::make_unique<std::uint8_t[]>(kScratchBytes)),
      pipes_(std::make_unique<PipePool>()), splices_(sigpipe_ignored()) {}

ProxyWorker::~ProxyWorker() {
  // The worker's thread has stopped; run the cancelled handlers here so that no connection
  // outlives the worker it unlinks itself from.
  close_all();
  io_.restart();
  while (io_.poll() > 0) {
  }
}

core::Result<std::uint16_t> ProxyWorker::listen(const ListenerConfig& listener) {
  const std::string where = "proxy listener " + listener.host + ":" + std::to_string(listener.port);
  error_code ec;
  const auto address = asio::ip::make_address(listener.host, ec);
  if (ec) return core::make_error(Errc::kBadAddress, where + ": '" + listener.host + "' is not an IP address");
  auto entry = std::make_unique<Listener>(Listener{listener, asio::ip::tcp::acceptor(io_), asio::steady_timer(io_)});
  auto& acceptor = entry->acceptor;
  const asio::ip::tcp::endpoint endpoint(address, listener.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) {
    // Every worker binds the same address; the kernel spreads new connections over them.
    const int on = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
      ec.assign(errno, boost::system::system_category());
    }
  }
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) acceptor.non_blocking(true, ec);
  if (ec) return core::make_error(std::error_code(ec.value(), std::system_category()), "binding " + where);
  const std::uint16_t port = acceptor.local_endpoint().port();
  entry->config.port = port;
  listeners_.push_back(std::move(entry));
  return port;
}

void ProxyWorker::start() {
  for (auto& listener : listeners_) {
    listener->accepting = true;
    accept_next(*listener);
  }
  arm_sweep();
}

std::size_t ProxyWorker::spare_pipes() const { return pipes_->spare(); }

void ProxyWorker::install(std::shared_ptr<const RoutingSnapshot> snapshot) { snapshot_ = std::move(snapshot); }

void ProxyWorker::accept_next(Listener& listener) {
  if (!listener.accepting) return;
  listener.acceptor.async_accept([this, &listener](const error_code& ec, asio::ip::tcp::socket socket) {
    if (ec) return on_accept_error(listener, ec);
    if (!listener.accepting) return;  // draining: the kernel's backlog is left to time out
    if (!shared_.counters.try_admit(shared_.limits.max_connections())) {
      shared_.counters.on_refused(Refusal::kMaxConnections);
      error_code ignored;
      socket.close(ignored);
    } else {
      shared_.counters.on_accepted();
      std::make_shared<Connection>(*this, std::move(socket), listener.config)->start();
    }
    accept_next(listener);
  });
}

void ProxyWorker::on_accept_error(Listener& listener, const error_code& ec) {
  if (ec == asio::error::operation_aborted || !listener.accepting) return;
  shared_.counters.on_accept_error();
  ++accept_errors_unlogged_;
  const auto t = now();
  if (t - last_accept_error_log_ >= kAcceptErrorLogInterval) {
    spdlog::warn("proxy: accept on {}:{} failed {} time(s), last: {}{}", listener.config.host, listener.config.port,
                 accept_errors_unlogged_, ec.message(),
                 is_resource_error(ec) ? " (raise LimitNOFILE / ulimit -n, see docs/operations.md)" : "");
    last_accept_error_log_ = t;
    accept_errors_unlogged_ = 0;
  }
  if (!is_resource_error(ec)) return accept_next(listener);
  // Out of descriptors or memory: give closing connections a moment instead of spinning.
  listener.pause.expires_after(kAcceptPause);
  listener.pause.async_wait([this, &listener](const error_code& wait_ec) {
    if (!wait_ec) accept_next(listener);
  });
}

void ProxyWorker::stop_accepting() {
  for (auto& listener : listeners_) {
    listener->accepting = false;
    error_code ignored;
    listener->acceptor.close(ignored);
    listener->pause.cancel();
  }
}

void ProxyWorker::close_all() {
  stopping_ = true;
  stop_accepting();
  sweep_timer_.cancel();
  for (Connection* c = head_; c != nullptr;) {
    Connection* next = c->next;
    c->close();
    c = next;
  }
}

void ProxyWorker::arm_sweep() {
  if (stopping_) return;
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([this](const error_code& ec) {
    if (!ec) sweep();
  });
}

void ProxyWorker::sweep() {
  const std::uint32_t now_s = coarse_seconds(now());
  const auto idle_s = static_cast<std::uint32_t>(
      std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(shared_.limits.idle_timeout()).count()));
  for (Connection* c = head_; c != nullptr;) {
    Connection* next = c->next;
    if (c->is_idle(now_s, idle_s)) c->close();
    c = next;
  }
  arm_sweep();
}

void ProxyWorker::link(Connection* connection) {
  connection->next = head_;
  if (head_) head_->prev = connection;
  head_ = connection;
  ++connection_count_;
}

void ProxyWorker::unlink(Connection* connection) {
  if (connection->prev) connection->prev->next = connection->next;
  if (connection->next) connection->next->prev = connection->prev;
  if (head_ == connection) head_ = connection->next;
  --connection_count_;
}

}  // namespace hop::proxy
