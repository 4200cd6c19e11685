#include "hop/router/demo_backend.h"

#include <boost/asio/write.hpp>
#include <array>
#include <memory>

#include "hop/core/errors.h"

namespace hop::router {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr std::size_t kChunk = 16 * 1024;

// One connection: the first bytes decide between the HTTP answer and the echo.
class DemoSession : public std::enable_shared_from_this<DemoSession> {
 public:
  DemoSession(asio::ip::tcp::socket socket, std::string name) : socket_(std::move(socket)), name_(std::move(name)) {}
  void start() { read(true); }

 private:
  void read(bool first) {
    socket_.async_read_some(asio::buffer(buffer_), [self = shared_from_this(), first](const error_code& ec, std::size_t n) {
      if (ec) return self->finish();
      const std::string_view got(self->buffer_.data(), n);
      if (first && (got.rfind("GET ", 0) == 0 || got.rfind("HEAD ", 0) == 0)) return self->answer_http();
      self->echo(n);
    });
  }
  void echo(std::size_t n) {
    asio::async_write(socket_, asio::buffer(buffer_.data(), n), [self = shared_from_this()](const error_code& ec, std::size_t) {
      if (!ec) self->read(false);
    });
  }
  void answer_http() {
    const std::string body = "hello from " + name_ + "\n";
    reply_ = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\nConnection: close\r\n\r\n" + body;
    asio::async_write(socket_, asio::buffer(reply_), [self = shared_from_this()](const error_code&, std::size_t) {
      self->finish();
    });
  }
  void finish() {
    error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_send, ignored);
    socket_.close(ignored);
  }
  asio::ip::tcp::socket socket_;
  std::string name_;
  std::array<char, kChunk> buffer_;
  std::string reply_;
};

}  // namespace

DemoBackend::DemoBackend(asio::io_context& io, std::string name) : io_(io), name_(std::move(name)), acceptor_(io) {}

core::Status DemoBackend::start(const std::string& host, std::uint16_t port) {
  error_code ec;
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host, ec), port);
  if (!ec) acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::make_error(std::error_code(ec.value(), std::system_category()),
                            "demo backend " + name_ + " on " + host + ":" + std::to_string(port));
  }
  accept();
  return core::ok_status();
}

void DemoBackend::stop() {
  error_code ignored;
  acceptor_.close(ignored);
}

std::string DemoBackend::address() const {
  error_code ec;
  const auto endpoint = acceptor_.local_endpoint(ec);
  return ec ? std::string() : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

void DemoBackend::accept() {
  acceptor_.async_accept([this](const error_code& ec, asio::ip::tcp::socket socket) {
    if (ec) return;  // closed by stop()
    ++served_;
    std::make_shared<DemoSession>(std::move(socket), name_)->start();
    accept();
  });
}

}  // namespace hop::router
