#include "hop/proxy/services.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "hop/core/errors.h"

namespace hop::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr std::size_t kChunk = 64 * 1024;
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
}  // namespace

// Splices one TCP socket with one overlay stream both ways; half-close is carried across (EOF on
// the socket becomes the stream's FIN, the stream's FIN a shutdown of the socket's sending side).
// An idle bridge holds no buffer: it waits for the socket to be readable, reads into the
// thread's scratch buffer and writes into the stream at once; bytes the stream does not take yet
// are copied into `held_` and wait there (backpressure to the TCP peer). Bytes not yet written
// to the socket stay in the stream.
class StreamBridge final : public tunnels::StreamEvents, public std::enable_shared_from_this<StreamBridge> {
 public:
  StreamBridge(tunnels::LocalDestination& destination, tcp::socket socket, BridgeSet& set, std::string label)
      : destination_(destination), socket_(std::move(socket)), set_(set), label_(std::move(label)) {}

  void set_key(tunnels::StreamKey key) { key_ = key; }
  // Starts moving bytes (the socket is connected and the stream attached).
  void start() {
    started_ = true;
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);  // reads after a readiness wait must never block the thread
    read_socket();
    drain_stream();
  }
  void close() {
    if (done_) return;
    destination_.reset(key_);
    finish();
  }
  tcp::socket& socket() { return socket_; }

  // Overlay gateway: the TCP side waits for a 'Y' once the stream is up, then bytes flow.
  void announce_when_established() { announce_ = true; }
  void on_stream_established() override {
    if (!announce_ || done_) return;
    announce_ = false;
    static constexpr std::uint8_t kUp = 'Y';
    asio::async_write(socket_, asio::buffer(&kUp, 1), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (self->done_) return;
      if (ec) return self->abort("writing the TCP connection: " + ec.message());
      self->start();
    });
  }
  void on_stream_readable() override {
    if (started_) drain_stream();
  }
  void on_stream_writable() override {
    if (started_) push();
  }
  void on_stream_closed(tunnels::StreamEnd end) override {
    if (done_) return;
    if (end != tunnels::StreamEnd::kFinished) {
      spdlog::info("{}: stream ended ({}); closing the TCP connection", label_, tunnels::to_string(end));
      if (end == tunnels::StreamEnd::kNoLeaseSet || end == tunnels::StreamEnd::kConnectTimeout ||
          end == tunnels::StreamEnd::kRefused) {
        ++set_.counters().failed;
      }
      boost::system::error_code ec;
      socket_.set_option(asio::socket_base::linger(true, 0), ec);  // an RST tells the peer it broke
    }
    finish();
  }

 private:
  void read_socket() {
    if (done_ || reading_ || socket_eof_ || !held_.empty()) return;
    reading_ = true;
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
      self->reading_ = false;
      if (self->done_) return;
      if (ec) return self->abort("waiting on the TCP connection: " + ec.message());
      self->on_socket_readable();
    });
  }
  void on_socket_readable() {
    // One scratch buffer per thread (every bridge of a node runs on its network thread).
    thread_local std::array<std::uint8_t, kChunk> scratch;
    boost::system::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(scratch), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return read_socket();
    if (ec == asio::error::eof) {
      socket_eof_ = true;
      destination_.shutdown_write(key_);
      return maybe_finished();
    }
    if (ec) return abort("reading the TCP connection: " + ec.message());
    set_.counters().bytes_in += n;
    const std::size_t taken = destination_.write(key_, core::ByteView(scratch.data(), n));
    if (taken == n) return read_socket();
    held_.assign(scratch.begin() + static_cast<std::ptrdiff_t>(taken), scratch.begin() + static_cast<std::ptrdiff_t>(n));
    held_used_ = 0;  // on_stream_writable() goes on
  }
  void push() {
    if (done_ || held_.empty()) return;
    held_used_ += destination_.write(key_, core::ByteView(held_).subspan(held_used_));
    if (held_used_ < held_.size()) return;
    core::Bytes().swap(held_);  // nothing held while the stream takes everything
    read_socket();
  }
  void drain_stream() {
    if (done_ || writing_) return;
    out_ = destination_.read(key_, kChunk);
    if (out_.empty()) {
      if (!fin_sent_ && destination_.read_closed(key_)) {
        fin_sent_ = true;
        boost::system::error_code ec;
        socket_.shutdown(tcp::socket::shutdown_send, ec);
        maybe_finished();
      }
      return;
    }
    writing_ = true;
    set_.counters().bytes_out += out_.size();
    asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      self->writing_ = false;
      if (self->done_) return;
      if (ec) return self->abort("writing the TCP connection: " + ec.message());
      self->drain_stream();
    });
  }
  void maybe_finished() {
    if (socket_eof_ && fin_sent_) {
      destination_.release(key_);  // the stream completes its FIN exchange on its own
      finish();
    }
  }
  void abort(const std::string& why) {
    spdlog::debug("{}: {}; resetting the stream", label_, why);
    destination_.reset(key_);
    finish();
  }
  void finish() {
    if (done_) return;
    done_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    set_.remove(this);  // may destroy us once the last handler returns
  }

  tunnels::LocalDestination& destination_;
  tcp::socket socket_;
  BridgeSet& set_;
  std::string label_;
  tunnels::StreamKey key_;
  core::Bytes held_;  // read from the socket, not yet taken by the stream
  std::size_t held_used_ = 0;
  core::Bytes out_;
  bool announce_ = false;
  bool started_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool socket_eof_ = false;
  bool fin_sent_ = false;
  bool done_ = false;
};

// --- BridgeSet ----------------------------------------------------------------------------

BridgeSet::~BridgeSet() { close_all(); }

void BridgeSet::add(std::shared_ptr<StreamBridge> bridge) {
  bridges_.insert(std::move(bridge));
  counters_.active = bridges_.size();
}

void BridgeSet::remove(StreamBridge* bridge) {
  for (auto it = bridges_.begin(); it != bridges_.end(); ++it) {
    if (it->get() == bridge) {
      bridges_.erase(it);
      break;
    }
  }
  counters_.active = bridges_.size();
}

void BridgeSet::close_all() {
  auto all = bridges_;
  for (const auto& b : all) b->close();
  bridges_.clear();
  counters_.active = 0;
}

// --- ServiceHost --------------------------------------------------------------------------

ServiceHost::ServiceHost(asio::io_context& io, tunnels::LocalDestination& destination, std::string name,
                         std::string target_host, std::uint16_t target_port, std::chrono::milliseconds connect_timeout)
    : io_(io),
      destination_(destination),
      name_(std::move(name)),
      target_host_(std::move(target_host)),
      target_port_(target_port),
      connect_timeout_(connect_timeout) {}

ServiceHost::~ServiceHost() { stop(); }

std::string ServiceHost::target() const { return target_host_ + ":" + std::to_string(target_port_); }

void ServiceHost::start() {
  destination_.set_accept_handler([this](tunnels::StreamKey key, const netdb::DestinationHash& from) {
    on_stream(key, from);
  });
}

void ServiceHost::stop() {
  destination_.set_accept_handler(nullptr);
  bridges_.close_all();
}

void ServiceHost::on_stream(tunnels::StreamKey key, const netdb::DestinationHash& from) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(target_host_, ec);
  if (ec) {
    spdlog::warn("service {}: target {} is not a numeric address; refusing a stream from {}", name_, target(),
                 from.short_string());
    ++bridges_.counters().failed;
    return destination_.reset(key);
  }
  auto bridge = std::make_shared<StreamBridge>(destination_, tcp::socket(io_), bridges_,
                                               "service " + name_ + " (stream from " + from.short_string() + ")");
  bridge->set_key(key);
  destination_.attach(key, *bridge);
  bridges_.add(bridge);
  ++bridges_.counters().connections;
  auto timer = std::make_shared<asio::steady_timer>(io_, connect_timeout_);
  timer->async_wait([bridge](boost::system::error_code wait_ec) {
    if (!wait_ec) bridge->socket().cancel();
  });
  bridge->socket().async_connect(
      tcp::endpoint(address, target_port_), [this, bridge, timer, alive = std::weak_ptr<StreamBridge>(bridge)](
                                                 boost::system::error_code connect_ec) {
        timer->cancel();
        if (connect_ec) {
          spdlog::warn("service {}: cannot reach its target {}: {}; the stream is reset", name_, target(),
                       connect_ec == asio::error::operation_aborted ? "connect timed out" : connect_ec.message());
          ++bridges_.counters().failed;
          return bridge->close();
        }
        boost::system::error_code nd;
        bridge->socket().set_option(tcp::no_delay(true), nd);
        bridge->start();
      });
}

// --- ClientTunnel -------------------------------------------------------------------------

ClientTunnel::ClientTunnel(asio::io_context& io, tunnels::LocalDestination& destination, std::string name,
                           netdb::DestinationHash remote)
    : io_(io),
      destination_(destination),
      name_(std::move(name)),
      remote_(remote),
      acceptor_(io),
      retry_timer_(io) {}

ClientTunnel::~ClientTunnel() { stop(); }

std::string ClientTunnel::listen_address() const {
  return (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

core::Status ClientTunnel::start(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return core::make_error(core::Errc::kInvalidArgument, "client tunnel " + name_ + ": '" + host + "' is not a numeric address");
  const tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::make_error(ec, "client tunnel " + name_ + ": listening on " + host + ":" + std::to_string(port));
  }
  host_ = host;
  port_ = acceptor_.local_endpoint().port();
  running_ = true;
  spdlog::info("client tunnel {} listening on {} for {}", name_, listen_address(), remote_.address());
  accept_next();
  return {};
}

void ClientTunnel::stop() {
  running_ = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
  bridges_.close_all();
}

void ClientTunnel::accept_next() {
  if (!running_) return;
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (!running_) return;
    if (ec) {
      // EMFILE and the like: wait a little and go on; the listener never stops.
      spdlog::warn("client tunnel {}: accept failed: {}; retrying", name_, ec.message());
      retry_timer_.expires_after(kAcceptRetry);
      retry_timer_.async_wait([this](boost::system::error_code wait_ec) {
        if (!wait_ec) accept_next();
      });
      return;
    }
    boost::system::error_code nd;
    socket.set_option(tcp::no_delay(true), nd);
    std::string peer = "?";
    if (auto ep = socket.remote_endpoint(nd); !nd) peer = ep.address().to_string() + ":" + std::to_string(ep.port());
    auto bridge = std::make_shared<StreamBridge>(destination_, std::move(socket), bridges_,
                                                 "client tunnel " + name_ + " (" + peer + " to " + remote_.short_string() + ")");
    bridges_.add(bridge);
    ++bridges_.counters().connections;
    bridge->set_key(destination_.connect(remote_, *bridge));
    bridge->start();  // bytes written before the stream is up wait in its send buffer
    accept_next();
  });
}

}  // namespace hop::proxy

namespace hop::proxy {

// --- OverlayGateway -----------------------------------------------------------------------

namespace {
constexpr std::size_t kMaxGatewayRequest = 64;  // "<52 base32>.hop\n" is 57 bytes
constexpr auto kGatewayRequestTimeout = std::chrono::seconds(5);
}  // namespace

OverlayGateway::OverlayGateway(asio::io_context& io, tunnels::LocalDestination& destination)
    : io_(io), destination_(destination), acceptor_(io), retry_timer_(io) {}

OverlayGateway::~OverlayGateway() { stop(); }

core::Status OverlayGateway::start() {
  boost::system::error_code ec;
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return core::make_error(ec, "overlay gateway: listening on 127.0.0.1");
  port_ = acceptor_.local_endpoint().port();
  running_ = true;
  accept_next();
  return {};
}

void OverlayGateway::stop() {
  running_ = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
  bridges_.close_all();
}

void OverlayGateway::accept_next() {
  if (!running_) return;
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (!running_) return;
    if (ec) {
      retry_timer_.expires_after(kAcceptRetry);
      retry_timer_.async_wait([this](boost::system::error_code wait_ec) {
        if (!wait_ec) accept_next();
      });
      return;
    }
    read_request(std::make_shared<tcp::socket>(std::move(socket)));
    accept_next();
  });
}

void OverlayGateway::read_request(std::shared_ptr<tcp::socket> socket) {
  auto line = std::make_shared<std::string>();
  auto timer = std::make_shared<asio::steady_timer>(io_, kGatewayRequestTimeout);
  timer->async_wait([socket](boost::system::error_code ec) {
    if (!ec) socket->cancel();
  });
  asio::async_read_until(*socket, asio::dynamic_buffer(*line, kMaxGatewayRequest), '\n',
                         [this, socket, line, timer](boost::system::error_code ec, std::size_t n) {
                           timer->cancel();
                           if (!running_ || ec) return;  // closing the socket tells the worker
                           auto remote = netdb::parse_address(std::string_view(*line).substr(0, n - 1));
                           if (!remote || n != line->size()) {
                             spdlog::warn("overlay gateway: bad request; closing");
                             return;
                           }
                           boost::system::error_code nd;
                           socket->set_option(tcp::no_delay(true), nd);
                           auto bridge = std::make_shared<StreamBridge>(
                               destination_, std::move(*socket), bridges_, "proxy stream to " + remote->short_string());
                           bridge->announce_when_established();
                           bridges_.add(bridge);
                           ++bridges_.counters().connections;
                           bridge->set_key(destination_.connect(*remote, *bridge));
                         });
}

}  // namespace hop::proxy
