// Helpers for tests on real loopback sockets: bounded runs of an io_context and a raw TCP peer
// that speaks the link protocol by hand (to send what a well-behaved peer never would).
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <optional>

#include "hop/core/bytes.h"

namespace hop::test {

// Runs `io` until `done()` or `limit` passes; returns done(). Never waits longer than `limit`.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A plain TCP client on the test's io_context.
class RawPeer {
 public:
  explicit RawPeer(boost::asio::io_context& io) : io_(io), socket_(io) {}

  void connect(const boost::asio::ip::tcp::endpoint& ep) { socket_.connect(ep); }
  void write(core::ByteView data) { boost::asio::write(socket_, boost::asio::buffer(data.data(), data.size())); }

  // Reads exactly n bytes while running io; nullopt on EOF/error or after `limit`.
  std::optional<core::Bytes> read_exactly(std::size_t n,
                                          std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    core::Bytes buf(n);
    bool finished = false;
    boost::system::error_code result;
    boost::asio::async_read(socket_, boost::asio::buffer(buf),
                            [&](const boost::system::error_code& ec, std::size_t) {
                              result = ec;
                              finished = true;
                            });
    if (!run_until(io_, [&] { return finished; }, limit)) {
      socket_.cancel();
      run_until(io_, [&] { return finished; }, std::chrono::seconds(1));
      return std::nullopt;
    }
    if (result) return std::nullopt;
    return buf;
  }

  // True when the server closes the connection within `limit` (reads until EOF, discarding).
  bool closed_by_peer(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      core::Bytes buf(4096);
      bool finished = false;
      boost::system::error_code result;
      socket_.async_read_some(boost::asio::buffer(buf), [&](const boost::system::error_code& ec, std::size_t) {
        result = ec;
        finished = true;
      });
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (!run_until(io_, [&] { return finished; }, left)) {
        socket_.cancel();
        run_until(io_, [&] { return finished; }, std::chrono::seconds(1));
        return false;
      }
      if (result) return result != boost::asio::error::operation_aborted;
    }
    return false;
  }

  boost::asio::ip::tcp::socket& socket() { return socket_; }

 private:
  boost::asio::io_context& io_;
  boost::asio::ip::tcp::socket socket_;
};

}  // namespace hop::test
