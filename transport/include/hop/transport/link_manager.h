// The TCP link manager: listens, dials on demand, keeps one link per peer, enforces the soft and
// hard link limits, closes idle and unresponsive links, and reports link events.
// Thread affinity: the io_context of the AsioRuntime it is given (one thread).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>

#include "hop/core/asio_runtime.h"
#include "hop/core/identity.h"
#include "hop/core/log.h"
#include "hop/transport/link_connection.h"
#include "hop/transport/link_layer.h"
#include "hop/transport/link_policy.h"

namespace hop::transport {

class TcpLink;

struct LinkManagerConfig {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: any free port
  LinkSettings link;
  LinkLimits limits;
};

// Counters since start, for logs, the console and metrics.
struct LinkCounters {
  std::uint64_t inbound_accepted = 0;
  std::uint64_t inbound_refused_limit = 0;  // refused at the hard limit
  std::uint64_t accept_errors = 0;
  std::uint64_t dials = 0;
  std::uint64_t dial_failures = 0;
  std::uint64_t handshakes_completed = 0;
  std::uint64_t handshake_failures = 0;     // authentication or protocol failure in the handshake
  std::uint64_t handshake_timeouts = 0;
  std::uint64_t protocol_errors = 0;        // bad frames on established links
  std::uint64_t idle_closed = 0;
  std::uint64_t unresponsive_closed = 0;
  std::uint64_t evicted = 0;
  std::uint64_t duplicates_closed = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

class LinkManager final : public LinkLayer {
 public:
  LinkManager(core::AsioRuntime& runtime, const core::Identity& identity, LinkManagerConfig config);
  ~LinkManager() override;

  // Binds the listener and starts the deadline tick. Fails if the address cannot be bound.
  core::Status start();
  // Closes the listener and every link (telling peers), reporting each link down.
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  PeerContact local_contact() const;
  const LinkCounters& counters() const { return counters_; }
  std::size_t open_connections() const { return connections_.size(); }
  const LinkManagerConfig& config() const { return config_; }

  void set_events(LinkEvents* events) override { events_ = events; }
  core::Status connect(const PeerContact& contact, ConnectOptions options = {}) override;
  core::Status send(const core::RouterHash& peer, BlockType type, core::ByteView body) override;
  core::Status send_to(const PeerContact& contact, BlockType type, core::ByteView body) override;
  void disconnect(const core::RouterHash& peer) override;
  std::vector<LinkInfo> links() const override;

 private:
  friend class TcpLink;
  // Called by TcpLink.
  void on_link_established(TcpLink& link);
  void on_link_closed(TcpLink& link, CloseReason reason, const std::string& detail);
  void on_link_block(TcpLink& link, BlockType type, core::ByteView body);
  void on_link_drained(TcpLink& link);

  void do_accept();
  void on_tick();
  core::Result<std::shared_ptr<TcpLink>> dial(const PeerContact& contact, ConnectOptions options);
  void count_close(const TcpLink& link, CloseReason reason);
  TcpLink* find_by_static(const core::crypto::Key32& key) const;

  core::AsioRuntime& runtime_;
  const core::Identity& identity_;
  LinkManagerConfig config_;
  LinkEvents* events_ = nullptr;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<core::Timer> tick_timer_;
  std::unique_ptr<core::Timer> accept_retry_timer_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::shared_ptr<TcpLink>> connections_;
  std::unordered_map<core::RouterHash, std::uint64_t> by_peer_;  // established links
  std::map<core::crypto::Key32, std::uint64_t> by_static_;     // dialing and established
  // send_to() does not dial a peer whose last dial failed until this time: every cell for a dead
  // next hop would otherwise start another connection attempt. connect() is not held back.
  std::map<core::crypto::Key32, core::TimePoint> send_to_backoff_;
  LinkCounters counters_;
  core::LogLimiter log_limiter_{20, std::chrono::seconds(10)};
  bool stopping_ = false;
};

}  // namespace hop::transport
