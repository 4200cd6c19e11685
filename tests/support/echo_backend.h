// Test backends on loopback: a TCP server on its own thread that greets every connection with
// its name and a newline, then echoes what it receives (half-close passed on). It counts
// connections now, at most at once, and in total, so tests can check limits from the far side.
// And a blocking test client with timeouts, optionally bound to a chosen 127.x.y.z source.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace hop::test {

class EchoBackend {
 public:
  explicit EchoBackend(std::string name, const char* host = "127.0.0.1")
      : name_(std::move(name)), acceptor_(io_, {boost::asio::ip::make_address(host), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~EchoBackend() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string target() const { return "127.0.0.1:" + std::to_string(port()); }
  int current() const { return current_.load(); }
  int max_at_once() const { return max_.load(); }
  int total() const { return total_.load(); }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(EchoBackend& b, boost::asio::ip::tcp::socket s) : backend(b), socket(std::move(s)) {}
    ~Session() { backend.current_.fetch_sub(1); }
    void start() {
      greeting = backend.name_ + "\n";
      boost::asio::async_write(socket, boost::asio::buffer(greeting),
                               [self = shared_from_this()](auto ec, std::size_t) {
                                 if (!ec) self->read();
                               });
    }
    void read() {
      socket.async_read_some(boost::asio::buffer(buf), [self = shared_from_this()](auto ec, std::size_t n) {
        if (ec) {
          boost::system::error_code ignored;
          self->socket.shutdown(boost::asio::socket_base::shutdown_send, ignored);
          return;
        }
        boost::asio::async_write(self->socket, boost::asio::buffer(self->buf.data(), n),
                                 [self](auto wec, std::size_t) {
                                   if (!wec) self->read();
                                 });
      });
    }
    EchoBackend& backend;
    boost::asio::ip::tcp::socket socket;
    std::string greeting;
    std::array<char, 16384> buf;
  };

  void accept() {
    acceptor_.async_accept([this](auto ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      const int now = current_.fetch_add(1) + 1;
      total_.fetch_add(1);
      int seen = max_.load();
      while (now > seen && !max_.compare_exchange_weak(seen, now)) {
      }
      std::make_shared<Session>(*this, std::move(s))->start();
      accept();
    });
  }

  std::string name_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<int> current_{0};
  std::atomic<int> max_{0};
  std::atomic<int> total_{0};
};

// A blocking TCP client; every read gives up after 5 s (or as told) so a test cannot hang.
class TestClient {
 public:
  // Connects to `host`:port (a loopback address), from `source` (a 127.x.y.z address) when given.
  explicit TestClient(std::uint16_t port, const char* source = nullptr, const char* host = "127.0.0.1",
                      int timeout_seconds = 5) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{timeout_seconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &src.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return;
    }
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    ::inet_pton(AF_INET, host, &dst.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0;
  }
  ~TestClient() { ::close(fd_); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  // The bytes up to a newline (not included); nullopt on EOF, error or timeout first.
  std::optional<std::string> read_line() {
    std::string line;
    char c;
    while (true) {
      const ssize_t n = ::recv(fd_, &c, 1, 0);
      if (n <= 0) return std::nullopt;
      if (c == '\n') return line;
      line += c;
    }
  }
  std::optional<std::string> read_exactly(std::size_t size) {
    std::string out(size, '\0');
    std::size_t off = 0;
    while (off < size) {
      const ssize_t n = ::recv(fd_, out.data() + off, size - off, 0);
      if (n <= 0) return std::nullopt;
      off += static_cast<std::size_t>(n);
    }
    return out;
  }
  // True when the other side closes (EOF or reset) before anything arrives or 5 s pass.
  bool closed_without_data() {
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }
  // Sends `data` and expects it back.
  bool echoes(const std::string& data) { return send(data) && read_exactly(data.size()) == data; }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace hop::test
