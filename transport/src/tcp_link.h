// One TCP connection carrying a link: the Asio adapter around a LinkConnection.
// Thread affinity: the LinkManager's io_context. Lifetime: owned by LinkManager::connections_
// and by its own pending handlers (shared_from_this); close() cancels all its I/O.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>

#include "hop/transport/link_connection.h"

namespace hop::transport {

class LinkManager;

class TcpLink final : public std::enable_shared_from_this<TcpLink>, private LinkConnection::Handler {
 public:
  TcpLink(LinkManager& owner, std::uint64_t id, boost::asio::ip::tcp::socket socket,
          LinkConnection connection, std::string remote_address,
          std::optional<PeerContact> contact);

  // Outbound: connects, then sends message 1. Inbound: starts reading.
  void start_outbound(const boost::asio::ip::tcp::endpoint& endpoint);
  void start_inbound();
  core::Status send(BlockType type, core::ByteView body);
  // Closes the socket and reports to the owner once. With kLocal/kEvicted/... the peer is told
  // why in a Close block if the socket can take it without waiting.
  void close(CloseReason reason, const std::string& detail);
  // Checks deadlines (called by the owner's tick).
  void tick(core::TimePoint now);

  std::uint64_t id() const { return id_; }
  bool is_closed() const { return closed_; }
  LinkConnection& connection() { return conn_; }
  const LinkConnection& connection() const { return conn_; }
  const std::string& remote_address() const { return remote_address_; }
  const std::optional<PeerContact>& contact() const { return contact_; }
  LinkInfo info() const;

 private:
  void on_established() override;
  void on_block(BlockType type, core::ByteView body) override;

  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void schedule_flush();
  void do_write();
  core::TimePoint now() const;

  LinkManager& owner_;
  std::uint64_t id_;
  boost::asio::ip::tcp::socket socket_;
  LinkConnection conn_;
  std::string remote_address_;
  std::optional<PeerContact> contact_;
  core::Bytes rx_;
  std::size_t rx_filled_ = 0;
  core::Bytes tx_;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool backpressured_ = false;
  bool closed_ = false;
};

}  // namespace hop::transport
