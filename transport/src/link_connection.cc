#include "hop/transport/link_connection.h"

#include "hop/core/crypto.h"
#include "hop/transport/errors.h"

namespace hop::transport {

// Routes the blocks of decrypted frames: control blocks are the link's own business, messages
// and cells go to the handler, padding and unknown types are skipped (newer peers may send
// types we do not know).
class LinkConnection::Dispatcher final : public BlockSink {
 public:
  Dispatcher(LinkConnection& link, Handler& handler, core::TimePoint now)
      : link_(link), handler_(handler), now_(now) {}

  core::Status on_block(BlockType type, core::ByteView body) override {
    switch (type) {
      case BlockType::kPadding: return {};
      case BlockType::kControl: return on_control(body);
      case BlockType::kMessage:
      case BlockType::kCell:
        link_.last_activity_ = now_;
        handler_.on_block(type, body);
        return {};
    }
    ++link_.unknown_blocks_;
    return {};
  }

 private:
  core::Status on_control(core::ByteView body) {
    auto msg = decode_link_control(body);
    if (!msg) return msg.error();
    if (const auto* ping = std::get_if<PingMsg>(&*msg)) {
      return link_.send_control(PongMsg{ping->nonce});
    }
    if (const auto* pong = std::get_if<PongMsg>(&*msg)) {
      if (link_.outstanding_ping_ == pong->nonce) {
        link_.outstanding_ping_.reset();
        link_.on_rtt_sample(now_ - link_.last_ping_sent_);
      }
      return {};
    }
    const auto& close = std::get<CloseMsg>(*msg);
    if (close.reason <= static_cast<std::uint32_t>(CloseReason::kNetworkError)) {
      link_.peer_close_reason_ = static_cast<CloseReason>(close.reason);
    }
    return core::make_error(Errc::kClosed, "peer sent close (" +
                                               std::string(to_string(static_cast<CloseReason>(close.reason))) +
                                               (close.detail.empty() ? "" : ": " + close.detail) + ")");
  }

  LinkConnection& link_;
  Handler& handler_;
  core::TimePoint now_;
};

LinkConnection::LinkConnection(const LinkSettings& settings, LinkHandshake handshake,
                               LinkDirection direction, core::TimePoint now)
    : settings_(settings), handshake_(std::move(handshake)), direction_(direction), created_at_(now) {}

LinkConnection LinkConnection::outbound(const core::Identity& local, const LinkSettings& settings,
                                        const PeerContact& peer, core::TimePoint now) {
  return LinkConnection(settings,
                        LinkHandshake::initiator(local, settings.network_id, peer.static_key, peer.hash),
                        LinkDirection::kOutbound, now);
}

LinkConnection LinkConnection::inbound(const core::Identity& local, const LinkSettings& settings,
                                       core::TimePoint now) {
  return LinkConnection(settings, LinkHandshake::responder(local, settings.network_id),
                        LinkDirection::kInbound, now);
}

core::Status LinkConnection::start(core::TimePoint now) {
  handshake_sent_at_ = now;
  return handshake_.start(handshake_out_);
}

core::Result<std::size_t> LinkConnection::on_receive(core::MutableByteView data,
                                                     core::TimePoint now, Handler& handler) {
  std::size_t used = 0;
  while (!is_established()) {
    const std::size_t before = handshake_out_.size();
    auto n = handshake_.consume(data.subspan(used), handshake_out_);
    if (!n) return n.error();
    if (*n == 0) return used;  // incomplete message
    used += *n;
    bytes_in_ += *n;
    // A reply that is not the last message starts the clock for the next round trip.
    if (handshake_out_.size() > before && !handshake_.is_complete()) handshake_sent_at_ = now;
    if (handshake_.is_complete()) {
      if (auto st = complete_handshake(now, handler); !st) return st.error();
    }
  }
  Dispatcher dispatcher(*this, handler, now);
  auto n = reader_->consume(data.subspan(used), dispatcher);
  if (!n) return n.error();
  bytes_in_ += *n;
  return used + *n;
}

core::Status LinkConnection::complete_handshake(core::TimePoint now, Handler& handler) {
  auto outcome = handshake_.finish();
  if (!outcome) return outcome.error();
  peer_hash_ = outcome->peer_hash;
  peer_identity_ = outcome->peer;
  writer_.emplace(std::move(outcome->keys.send));
  reader_.emplace(std::move(outcome->keys.receive));
  established_at_ = now;
  last_activity_ = now;
  last_ping_sent_ = now;
  // The initiator measured msg1 -> msg2, the responder msg2 -> msg3: one round trip each.
  on_rtt_sample(now - handshake_sent_at_);
  // Blocks queued while dialing go out in the first frames.
  for (std::size_t pos = 0; pos + kBlockHeaderSize <= pending_.size();) {
    const auto type = static_cast<BlockType>(pending_[pos]);
    const std::size_t len = core::get_u16(pending_.data() + pos + 1);
    if (auto st = writer_->add_block(type, core::ByteView(pending_).subspan(pos + kBlockHeaderSize, len)); !st) {
      return st;
    }
    pos += kBlockHeaderSize + len;
  }
  pending_.clear();
  pending_.shrink_to_fit();
  handler.on_established();
  return {};
}

void LinkConnection::on_rtt_sample(core::Duration sample) {
  // Smoothed like TCP's SRTT (RFC 6298): 7/8 old + 1/8 new.
  srtt_ = srtt_ ? (*srtt_ * 7 + sample) / 8 : sample;
}

core::Status LinkConnection::send_control(const LinkControl& msg) {
  if (!writer_) return core::make_error(Errc::kNoLink, "control before establishment");
  return writer_->add_block(BlockType::kControl, encode_link_control(msg));
}

core::Status LinkConnection::send_block(BlockType type, core::ByteView body, core::TimePoint now) {
  if (body.size() > kMaxBlockBody) return core::make_error(Errc::kMalformed, "block too large");
  if (queued_bytes() + body.size() > settings_.max_queued_bytes) {
    return core::make_error(Errc::kBackpressure);
  }
  last_activity_ = now;
  if (writer_) return writer_->add_block(type, body);
  const std::size_t at = pending_.size();
  pending_.resize(at + kBlockHeaderSize + body.size());
  pending_[at] = static_cast<std::uint8_t>(type);
  core::put_u16(pending_.data() + at + 1, static_cast<std::uint16_t>(body.size()));
  std::copy(body.begin(), body.end(), pending_.begin() + static_cast<std::ptrdiff_t>(at + kBlockHeaderSize));
  return {};
}

std::optional<CloseCause> LinkConnection::on_tick(core::TimePoint now) {
  if (!is_established()) {
    if (now - created_at_ >= settings_.handshake_timeout) {
      return CloseCause{CloseReason::kHandshakeTimeout, "no complete handshake within the timeout"};
    }
    return std::nullopt;
  }
  if (outstanding_ping_ && now - last_ping_sent_ >= settings_.ping_timeout) {
    return CloseCause{CloseReason::kUnresponsive, "ping not answered"};
  }
  if (!persistent_ && now - last_activity_ >= settings_.idle_timeout) {
    return CloseCause{CloseReason::kIdle, "no traffic within the idle timeout"};
  }
  if (!outstanding_ping_ && now - last_ping_sent_ >= settings_.ping_interval) {
    const std::uint64_t nonce = core::crypto::random_u64();
    if (send_control(PingMsg{nonce, 0})) {
      outstanding_ping_ = nonce;
      last_ping_sent_ = now;
    }
  }
  return std::nullopt;
}

void LinkConnection::send_close(CloseReason reason, const std::string& detail) {
  if (writer_) (void)send_control(CloseMsg{static_cast<std::uint32_t>(reason), detail});
}

core::Status LinkConnection::flush() {
  if (!writer_) return {};
  return writer_->flush();
}

void LinkConnection::take_output(core::Bytes& into) {
  if (!handshake_out_.empty()) {
    into.clear();
    std::swap(into, handshake_out_);
  } else if (writer_) {
    writer_->take_sealed(into);
  } else {
    into.clear();
  }
  bytes_out_ += into.size();
}

bool LinkConnection::has_output() const {
  return !handshake_out_.empty() || (writer_ && writer_->has_sealed_output());
}

std::size_t LinkConnection::queued_bytes() const {
  return pending_.size() + handshake_out_.size() + (writer_ ? writer_->buffered_bytes() : 0);
}

CloseReason LinkConnection::close_reason(const core::Error& error) const {
  const CloseReason reason = close_reason_for(error);
  if (reason != CloseReason::kPeerClosed || !peer_close_reason_) return reason;
  switch (*peer_close_reason_) {
    case CloseReason::kIdle:
    case CloseReason::kEvicted:
    case CloseReason::kDuplicate:
    case CloseReason::kLimit: return *peer_close_reason_;
    default: return reason;
  }
}

CloseReason close_reason_for(const core::Error& error) {
  if (error.code.category() != transport_category()) return CloseReason::kNetworkError;
  switch (static_cast<Errc>(error.code.value())) {
    case Errc::kHandshakeFailed:
    case Errc::kBadIdentity:
    case Errc::kUnexpectedPeer: return CloseReason::kHandshakeFailed;
    case Errc::kClosed: return CloseReason::kPeerClosed;
    case Errc::kTimeout: return CloseReason::kHandshakeTimeout;
    case Errc::kLinkLimit: return CloseReason::kLimit;
    case Errc::kNetwork: return CloseReason::kNetworkError;
    default: return CloseReason::kProtocolError;
  }
}

}  // namespace hop::transport
