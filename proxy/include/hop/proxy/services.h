// Services and client tunnels (docs/services.md): the TCP edges of overlay streams.
// - A ServiceHost hands each stream a destination accepts to a local TCP target host:port.
// - A ClientTunnel listens on a local port and carries each accepted TCP connection in a stream
//   to a remote destination.
// Both splice bytes both ways with half-close through a StreamBridge, and close a connection
// they cannot carry with a logged reason; the node runs on.
// Thread affinity: the node's network thread (the io_context of the destination).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "hop/core/result.h"
#include "hop/netdb/destination.h"
#include "hop/tunnels/local_destination.h"

namespace hop::proxy {

class StreamBridge;

struct EdgeCounters {
  std::uint64_t connections = 0;  // carried (accepted streams, or accepted TCP clients)
  std::uint64_t failed = 0;       // closed because the other side could not be reached
  std::uint64_t bytes_in = 0;     // TCP -> stream
  std::uint64_t bytes_out = 0;    // stream -> TCP
  std::size_t active = 0;
};

// Shared by both edges: the bridges they run and what they moved.
class BridgeSet {
 public:
  ~BridgeSet();
  void add(std::shared_ptr<StreamBridge> bridge);
  void remove(StreamBridge* bridge);
  // Closes every bridge (stream reset, socket closed).
  void close_all();
  EdgeCounters& counters() { return counters_; }
  const EdgeCounters& counters() const { return counters_; }

 private:
  std::set<std::shared_ptr<StreamBridge>> bridges_;
  EdgeCounters counters_;
};

class ServiceHost {
 public:
  ServiceHost(boost::asio::io_context& io, tunnels::LocalDestination& destination, std::string name,
              std::string target_host, std::uint16_t target_port,
              std::chrono::milliseconds connect_timeout = std::chrono::seconds(10));
  ~ServiceHost();
  void start();
  void stop();

  const std::string& name() const { return name_; }
  std::string target() const;
  const tunnels::LocalDestination& destination() const { return destination_; }
  const EdgeCounters& counters() const { return bridges_.counters(); }

 private:
  void on_stream(tunnels::StreamKey key, const netdb::DestinationHash& from);

  boost::asio::io_context& io_;
  tunnels::LocalDestination& destination_;
  std::string name_;
  std::string target_host_;
  std::uint16_t target_port_;
  std::chrono::milliseconds connect_timeout_;
  BridgeSet bridges_;
};

class ClientTunnel {
 public:
  ClientTunnel(boost::asio::io_context& io, tunnels::LocalDestination& destination, std::string name,
               netdb::DestinationHash remote);
  ~ClientTunnel();
  // Binds host:port (port 0: any free port); the error names the address.
  core::Status start(const std::string& host, std::uint16_t port);
  void stop();

  const std::string& name() const { return name_; }
  std::uint16_t port() const { return port_; }
  std::string listen_address() const;
  const netdb::DestinationHash& remote() const { return remote_; }
  const tunnels::LocalDestination& destination() const { return destination_; }
  const EdgeCounters& counters() const { return bridges_.counters(); }

 private:
  void accept_next();

  boost::asio::io_context& io_;
  tunnels::LocalDestination& destination_;
  std::string name_;
  netdb::DestinationHash remote_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::string host_;
  std::uint16_t port_ = 0;
  bool running_ = false;
  BridgeSet bridges_;
};

// The geo-proxy's way into the overlay: a loopback listener of the node. A proxy worker (on its
// own thread) connects, sends "<name>.hop\n", and gets one byte 'Y' once a stream to that
// destination is up — then the connection is the stream; a connection closed instead of 'Y'
// means the destination could not be reached (the worker fails over). Streams go out from the
// gateway's own destination (the POP's client destination).
class OverlayGateway {
 public:
  OverlayGateway(boost::asio::io_context& io, tunnels::LocalDestination& destination);
  ~OverlayGateway();
  core::Status start();  // 127.0.0.1, any free port
  void stop();
  std::uint16_t port() const { return port_; }
  const tunnels::LocalDestination& destination() const { return destination_; }
  const EdgeCounters& counters() const { return bridges_.counters(); }

 private:
  void accept_next();
  void read_request(std::shared_ptr<boost::asio::ip::tcp::socket> socket);

  boost::asio::io_context& io_;
  tunnels::LocalDestination& destination_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::uint16_t port_ = 0;
  bool running_ = false;
  BridgeSet bridges_;
};

}  // namespace hop::proxy
