#include "tcp_link.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "hop/transport/errors.h"
#include "hop/transport/link_manager.h"

namespace hop::transport {
namespace asio = boost::asio;

namespace {
// Two whole frames fit, so a frame never waits for buffer space; larger reads cost syscalls less.
constexpr std::size_t kReadBufferSize = 256 * 1024;
}  // namespace

TcpLink::TcpLink(LinkManager& owner, std::uint64_t id, asio::ip::tcp::socket socket,
                 LinkConnection connection, std::string remote_address,
                 std::optional<PeerContact> contact)
    : owner_(owner),
      id_(id),
      socket_(std::move(socket)),
      conn_(std::move(connection)),
      remote_address_(std::move(remote_address)),
      contact_(std::move(contact)),
      rx_(kReadBufferSize) {}

core::TimePoint TcpLink::now() const { return owner_.runtime_.now(); }

void TcpLink::start_outbound(const asio::ip::tcp::endpoint& endpoint) {
  socket_.async_connect(endpoint, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (self->closed_) return;
    if (ec) {
      self->close(CloseReason::kNetworkError, "connect: " + ec.message());
      return;
    }
    boost::system::error_code ignored;
    self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    if (auto st = self->conn_.start(self->now()); !st) {
      self->close(CloseReason::kProtocolError, st.error().message());
      return;
    }
    self->do_write();
    self->do_read();
  });
}

void TcpLink::start_inbound() {
  boost::system::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  do_read();
}

core::Status TcpLink::send(BlockType type, core::ByteView body) {
  if (closed_) return core::make_error(Errc::kClosed);
  auto st = conn_.send_block(type, body, now());
  if (!st) {
    if (st.error().code == Errc::kBackpressure) backpressured_ = true;
    return st;
  }
  schedule_flush();
  return {};
}

void TcpLink::schedule_flush() {
  // Blocks sent within one handler share frames: seal once, after the handler returns.
  if (flush_posted_ || writing_ || !conn_.is_established()) return;
  flush_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    if (!self->closed_ && !self->writing_) self->do_write();
  });
}

void TcpLink::do_write() {
  if (closed_ || writing_) return;
  if (auto st = conn_.flush(); !st) {
    close(CloseReason::kProtocolError, st.error().message());
    return;
  }
  if (!conn_.has_output()) return;
  conn_.take_output(tx_);
  owner_.counters_.bytes_out += tx_.size();
  writing_ = true;
  asio::async_write(socket_, asio::buffer(tx_),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) {
                        self->close(CloseReason::kNetworkError, "write: " + ec.message());
                        return;
                      }
                      self->do_write();
                      if (self->backpressured_ &&
                          self->conn_.queued_bytes() < self->owner_.config_.link.max_queued_bytes / 2) {
                        self->backpressured_ = false;
                        self->owner_.on_link_drained(*self);
                      }
                    });
}

void TcpLink::do_read() {
  if (closed_) return;
  socket_.async_read_some(asio::buffer(rx_.data() + rx_filled_, rx_.size() - rx_filled_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t n) { self->on_read(ec, n); });
}

void TcpLink::on_read(const boost::system::error_code& ec, std::size_t n) {
  if (closed_) return;
  if (ec) {
    close(ec == asio::error::eof ? CloseReason::kPeerClosed : CloseReason::kNetworkError,
          ec == asio::error::eof ? "connection closed by peer" : "read: " + ec.message());
    return;
  }
  rx_filled_ += n;
  owner_.counters_.bytes_in += n;
  auto used = conn_.on_receive(core::MutableByteView(rx_.data(), rx_filled_), now(), *this);
  if (closed_) return;  // a handler closed us (duplicate link, stop)
  if (!used) {
    close(conn_.close_reason(used.error()), used.error().message());
    return;
  }
  if (*used > 0 && *used < rx_filled_) std::memmove(rx_.data(), rx_.data() + *used, rx_filled_ - *used);
  rx_filled_ -= *used;
  do_write();
  do_read();
}

void TcpLink::on_established() { owner_.on_link_established(*this); }

void TcpLink::on_block(BlockType type, core::ByteView body) { owner_.on_link_block(*this, type, body); }

void TcpLink::tick(core::TimePoint t) {
  if (closed_) return;
  if (auto cause = conn_.on_tick(t)) {
    close(cause->reason, cause->detail);
    return;
  }
  if (conn_.is_established()) do_write();  // a ping may have been queued
}

void TcpLink::close(CloseReason reason, const std::string& detail) {
  if (closed_) return;
  closed_ = true;
  const bool tell_peer = reason != CloseReason::kPeerClosed && reason != CloseReason::kNetworkError &&
                         reason != CloseReason::kProtocolError && reason != CloseReason::kHandshakeFailed;
  if (tell_peer && conn_.is_established() && !writing_) {
    // Best effort and never blocking: if the socket cannot take the Close frame now, skip it.
    conn_.send_close(reason, detail);
    if (conn_.flush()) {
      conn_.take_output(tx_);
      boost::system::error_code ignored;
      socket_.non_blocking(true, ignored);
      socket_.write_some(asio::buffer(tx_), ignored);
    }
  }
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  owner_.on_link_closed(*this, reason, detail);
}

LinkInfo TcpLink::info() const {
  LinkInfo info;
  if (conn_.peer()) info.peer = *conn_.peer();
  if (conn_.peer_identity()) info.peer_static_key = conn_.peer_identity()->static_key;
  info.remote_address = remote_address_;
  info.direction = conn_.direction();
  info.established_at = conn_.established_at();
  info.last_activity = conn_.last_activity();
  info.rtt = conn_.rtt();
  info.bytes_in = conn_.bytes_in();
  info.bytes_out = conn_.bytes_out();
  info.queued_bytes = conn_.queued_bytes();
  info.persistent = conn_.is_persistent();
  return info;
}

}  // namespace hop::transport
