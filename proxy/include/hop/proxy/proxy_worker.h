// One geo-proxy worker: acceptors on every listener (SO_REUSEPORT, so the kernel spreads new
// connections over the workers), and the connections they accept, each one GeoIP -> select ->
// reserve -> connect (with failover) -> splice. docs/proxy.md describes the data path.
// Timers: the sweep (every second) closes connections idle longer than proxy.idle_timeout; each
// connection arms its own timer only while it waits for a PROXY header, a backend connect, or a
// full batch of a bulk transfer (connection.h).
// Bulk transfers use splice(2) only if the process ignores SIGPIPE (splice has no MSG_NOSIGNAL);
// otherwise they copy through the scratch buffer.
// Thread affinity: everything runs on the worker's io_context; call methods from its thread
// (router/ posts to it), except the constructor.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "hop/core/result.h"
#include "hop/proxy/proxy_state.h"

namespace hop::proxy {

class Connection;
class PipePool;

class ProxyWorker {
 public:
  ProxyWorker(boost::asio::io_context& io, ProxyShared& shared, unsigned index);
  ~ProxyWorker();
  ProxyWorker(const ProxyWorker&) = delete;
  ProxyWorker& operator=(const ProxyWorker&) = delete;

  // Binds an acceptor (SO_REUSEPORT) for `listener`; returns the bound port (for port 0).
  core::Result<std::uint16_t> listen(const ListenerConfig& listener);
  // Starts accepting on every listener and the idle sweep.
  void start();
  // The routing state new connections use; connections already open keep theirs.
  void install(std::shared_ptr<const RoutingSnapshot> snapshot);
  // Stops accepting (drain): open connections carry on.
  void stop_accepting();
  // Closes every connection and acceptor; the io_context then runs out of work.
  void close_all();
  std::size_t connections() const { return connection_count_; }
  unsigned index() const { return index_; }
  // Empty pipes kept for splicing bulk transfers: none until a connection has been bulk.
  std::size_t spare_pipes() const;

  static constexpr std::size_t kScratchBytes = 64 * 1024;  // one read; a full one makes a direction bulk

 private:
  friend class Connection;
  struct Listener {
    ListenerConfig config;
    boost::asio::ip::tcp::acceptor acceptor;
    boost::asio::steady_timer pause;  // after EMFILE and kin: retry accepting shortly
    bool accepting = false;
  };
  void accept_next(Listener& listener);
  void on_accept_error(Listener& listener, const boost::system::error_code& ec);
  void arm_sweep();
  void sweep();
  // The data path's clock: real sockets have no simulated twin; the decisions it feeds
  // (selection, breaker, affinity) are pure functions of `now`, tested on simulated time.
  static core::TimePoint now() { return core::SteadyClock::now(); }
  void link(Connection* connection);
  void unlink(Connection* connection);

  boost::asio::io_context& io_;
  ProxyShared& shared_;
  unsigned index_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::shared_ptr<const RoutingSnapshot> snapshot_;
  boost::asio::steady_timer sweep_timer_;
  Connection* head_ = nullptr;  // intrusive list of open connections, for the sweep and close_all
  std::size_t connection_count_ = 0;
  std::uint32_t tiebreak_ = 0;
  std::unique_ptr<std::uint8_t[]> scratch_;  // the read buffer every splice on this worker shares
  std::unique_ptr<PipePool> pipes_;          // lent to bulk directions for splice(2)
  bool splices_;  // SIGPIPE is ignored: a splice(2) into a reset socket fails with EPIPE, no signal
  bool stopping_ = false;
  core::TimePoint last_accept_error_log_{};
  std::uint64_t accept_errors_unlogged_ = 0;
};

}  // namespace hop::proxy
