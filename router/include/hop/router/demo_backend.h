// A demo backend for the local overlay: a TCP server that answers an HTTP request with one line
// naming itself ("hello from backend-de"), and echoes anything else. What the testnet puts behind
// its POP so that a newcomer can see where a client lands: run by a node with `demo.backend`
// (`hopline testnet up`), or by the in-process Testnet itself.
// Thread affinity: the io_context it is given.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

#include "hop/core/result.h"

namespace hop::router {

class DemoBackend {
 public:
  DemoBackend(boost::asio::io_context& io, std::string name);
  // Binds host:port (0: any free port) and starts accepting.
  core::Status start(const std::string& host, std::uint16_t port);
  void stop();
  const std::string& name() const { return name_; }
  // "127.200.0.1:41234", once started.
  std::string address() const;
  std::uint64_t served() const { return served_; }

 private:
  void accept();
  boost::asio::io_context& io_;
  std::string name_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint64_t served_ = 0;
};

}  // namespace hop::router
