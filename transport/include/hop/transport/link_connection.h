// One link's protocol state without I/O: the handshake, then frames, control blocks (ping, pong,
// close), RTT, and every deadline of the link. The TCP session feeds it bytes and `now`, writes
// what it produces, and closes the socket when a call returns an error.
//
// Deadlines (all checked in on_tick):
//   handshake   created + handshake_timeout, until established
//   ping        last ping sent + ping_interval, when established and no ping is outstanding
//   pong        ping sent + ping_timeout -> kUnresponsive
//   idle        last message/cell + idle_timeout, unless persistent -> kIdle
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "hop/core/identity.h"
#include "hop/core/runtime.h"
#include "hop/transport/frame.h"
#include "hop/transport/handshake.h"
#include "hop/transport/link_control.h"
#include "hop/transport/link_layer.h"

namespace hop::transport {

struct LinkSettings {
  std::uint32_t network_id = 1;
  core::Duration handshake_timeout = kDefaultHandshakeTimeout;
  core::Duration idle_timeout = kDefaultIdleTimeout;
  core::Duration ping_interval = kDefaultPingInterval;
  core::Duration ping_timeout = kDefaultPingTimeout;
  std::size_t max_queued_bytes = kDefaultMaxQueuedBytes;
};

// Why a connection must close; returned by the calls below.
struct CloseCause {
  CloseReason reason;
  std::string detail;
};

class LinkConnection {
 public:
  // Receives upper-layer blocks and the moment the link is established.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_established() = 0;
    virtual void on_block(BlockType type, core::ByteView body) = 0;
  };

  static LinkConnection outbound(const core::Identity& local, const LinkSettings& settings,
                                 const PeerContact& peer, core::TimePoint now);
  static LinkConnection inbound(const core::Identity& local, const LinkSettings& settings,
                                core::TimePoint now);

  // Outbound: produces message 1. Call once, first.
  core::Status start(core::TimePoint now);
  // Feeds received bytes; returns how many were used (the rest is an incomplete message, which
  // the caller keeps and feeds again with more). Decrypts in place. An error means close; its
  // reason is close_reason(error) (a Close block from the peer is Errc::kClosed).
  core::Result<std::size_t> on_receive(core::MutableByteView data, core::TimePoint now,
                                       Handler& handler);
  // Queues an upper-layer block. Before establishment it waits (bounded by max_queued_bytes).
  core::Status send_block(BlockType type, core::ByteView body, core::TimePoint now);
  // Checks every deadline; may queue a ping.
  std::optional<CloseCause> on_tick(core::TimePoint now);
  // Queues a Close block telling the peer why (best effort, the caller then closes).
  void send_close(CloseReason reason, const std::string& detail);
  // Seals everything queued; then take_output() hands the bytes to write.
  core::Status flush();
  void take_output(core::Bytes& into);
  bool has_output() const;
  std::size_t queued_bytes() const;

  void set_persistent(bool persistent) { persistent_ = persistent; }
  bool is_persistent() const { return persistent_; }
  bool is_established() const { return writer_.has_value(); }
  LinkDirection direction() const { return direction_; }
  const std::optional<core::RouterHash>& peer() const { return peer_hash_; }
  const std::optional<core::PublicIdentity>& peer_identity() const { return peer_identity_; }
  std::optional<core::Duration> rtt() const { return srtt_; }
  core::TimePoint established_at() const { return established_at_; }
  core::TimePoint last_activity() const { return last_activity_; }
  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t bytes_out() const { return bytes_out_; }
  std::uint64_t unknown_blocks() const { return unknown_blocks_; }
  // Why the link closes for `error` from on_receive(): close_reason_for(error), except that a
  // Close block for idleness, eviction, a duplicate or a limit keeps the peer's reason (the
  // peer is not gone: is_lost() is false).
  CloseReason close_reason(const core::Error& error) const;

 private:
  class Dispatcher;
  LinkConnection(const LinkSettings& settings, LinkHandshake handshake, LinkDirection direction,
                 core::TimePoint now);
  core::Status complete_handshake(core::TimePoint now, Handler& handler);
  void on_rtt_sample(core::Duration sample);
  core::Status send_control(const LinkControl& msg);

  LinkSettings settings_;
  LinkHandshake handshake_;
  LinkDirection direction_;
  core::TimePoint created_at_;
  core::TimePoint handshake_sent_at_{};
  core::Bytes handshake_out_;
  core::Bytes pending_;  // blocks queued before establishment, encoded with headers
  std::optional<FrameWriter> writer_;
  std::optional<FrameReader> reader_;
  std::optional<core::RouterHash> peer_hash_;
  std::optional<core::PublicIdentity> peer_identity_;
  bool persistent_ = false;

  core::TimePoint established_at_{};
  core::TimePoint last_activity_{};
  core::TimePoint last_ping_sent_{};
  std::optional<std::uint64_t> outstanding_ping_;
  std::optional<core::Duration> srtt_;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::uint64_t unknown_blocks_ = 0;
  std::optional<CloseReason> peer_close_reason_;  // from the peer's Close block
};

// Maps a transport error to the reason a link closes for it.
CloseReason close_reason_for(const core::Error& error);

}  // namespace hop::transport
