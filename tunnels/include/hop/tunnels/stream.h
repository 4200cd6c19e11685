// One endpoint of a Hopline stream (docs/streams.md): a reliable, ordered byte stream in each
// direction over any mix of tunnels. Sans-I/O: it takes packets and `now`, returns packets and
// its next deadline; the caller owns sockets, timers and the choice of tunnel. A packet may take
// any path: loss, duplication and reordering are all handled here.
// Thread affinity: one thread (the destination's strand); not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "hop/core/bytes.h"
#include "hop/core/result.h"
#include "hop/core/runtime.h"
#include "hop/tunnels/stream_config.h"
#include "hop/tunnels/stream_packet.h"
#include "hop/tunnels/stream_receiver.h"
#include "hop/tunnels/stream_sender.h"

namespace hop::tunnels {

enum class ResetReason {
  kNone,
  kLocal,    // reset() was called
  kPeer,     // the peer sent RST
  kTimeout,  // max_retransmits timeouts in a row (data, SYN or window probes unanswered)
  kIdle,     // nothing heard for idle_timeout
};

struct StreamStats {
  SenderStats sender;
  ReceiverStats receiver;
  std::uint64_t packets_received = 0;
  core::Duration srtt{};
  core::Duration rttvar{};
  core::Duration min_rtt{};
  core::Duration rto{};
  std::size_t cwnd = 0;
  std::uint64_t bandwidth = 0;  // bytes per second, the congestion controller's estimate
  std::uint64_t loss_episodes = 0;
};

class Stream {
 public:
  // Opener: the first packets carry SYN (and may carry data) until the peer answers.
  static Stream open(StreamId id, const StreamConfig& config, core::TimePoint now);
  // Acceptor, from the peer's first packet: kMalformed unless it has SYN (and no RST).
  static core::Result<Stream> accept(const StreamPacket& syn, const StreamConfig& config, core::TimePoint now);

  // Takes what the send buffer holds (backpressure); 0 after shutdown_write() or a reset.
  std::size_t write(core::ByteView data, core::TimePoint now);
  // Up to `max` in-order bytes received; empty when none are ready.
  core::Bytes read(std::size_t max);
  // Half-close: FIN after the written bytes; reading keeps working.
  void shutdown_write(core::TimePoint now);
  // Aborts both directions and sends RST; unread and unsent bytes are dropped.
  void reset(core::TimePoint now);

  // A decoded packet of this stream (the caller routed it by stream id).
  void on_packet(const StreamPacket& packet, core::TimePoint now);
  // The next packet to send, or nullopt; call until nullopt after every event.
  std::optional<StreamPacket> poll_transmit(core::TimePoint now);
  // When on_timeout() is next due; nullopt when no timer runs.
  std::optional<core::TimePoint> next_deadline() const;
  void on_timeout(core::TimePoint now);
  // The session moved to a new path after timeouts (StreamSender::on_path_changed): what is
  // unacknowledged goes again now, and the retransmission timer restarts without backoff.
  void on_path_changed(core::TimePoint now);

  StreamId id() const { return id_; }
  bool is_established() const { return state_ == State::kEstablished; }
  // The peer's FIN arrived and every byte before it was read (or the stream was reset).
  bool read_closed() const;
  bool write_closed() const;
  // Reset (and the RST sent) or both directions finished and the linger time passed.
  bool is_closed() const;
  ResetReason reset_reason() const { return reset_reason_; }
  std::size_t readable() const { return receiver_.readable(); }
  // What write() would take now (0 once writing is closed or the stream is reset).
  std::size_t write_room() const { return state_ == State::kReset || state_ == State::kClosed ? 0 : sender_.room(); }
  std::uint64_t rtos() const { return sender_.stats().rtos; }
  // A timer fired (retransmission or window probe) and nothing was answered since.
  bool stalled() const { return timeouts_in_a_row_ > 0; }
  StreamStats stats() const;

 private:
  enum class Role { kOpener, kAcceptor };
  enum class State { kSynSent, kEstablished, kClosed, kReset };

  // Every timer of a stream, armed and cancelled only in update_timers():
  //   retransmit   set when data (or the SYN) goes out with none outstanding; reset by progress;
  //                fires after RTO (RFC 6298, with backoff)
  //   delayed_ack  first unacked data packet's arrival + ack_delay
  //   persist      the peer's window is full while data waits: + RTO, doubling per probe
  //   keepalive    max(last receipt, last keepalive) + keepalive_interval, while established
  //   idle         last receipt + idle_timeout: then reset (kIdle)
  //   linger       both directions finished + max(kMinLinger, 3 RTO): then closed
  struct Timers {
    std::optional<core::TimePoint> retransmit;
    std::optional<core::TimePoint> delayed_ack;
    std::optional<core::TimePoint> persist;
    std::optional<core::TimePoint> keepalive;
    std::optional<core::TimePoint> idle;
    std::optional<core::TimePoint> linger;
  };

  Stream(StreamId id, const StreamConfig& config, Role role, core::TimePoint now);
  void update_timers(core::TimePoint now);
  void on_retransmit_timeout();
  void on_persist_timeout();
  void abort(ResetReason reason);

  void on_ack(const StreamPacket& packet, core::TimePoint now);
  void on_data(const StreamPacket& packet, core::TimePoint now);
  void owe_ack(bool immediate, core::TimePoint now);
  void note_timestamp(std::uint32_t timestamp);
  bool is_ack_due() const;
  bool is_window_update_due() const;

  StreamPacket base_packet(core::TimePoint now);
  StreamPacket data_packet(OutgoingSegment segment, core::TimePoint now);
  std::uint32_t timestamp(core::TimePoint now) const;

  StreamId id_;
  StreamConfig config_;
  Role role_;
  State state_;
  ResetReason reset_reason_ = ResetReason::kNone;
  core::TimePoint epoch_;  // timestamps count microseconds from here
  StreamSender sender_;
  StreamReceiver receiver_;
  Timers timers_;

  bool syn_pending_ = false;      // a bare SYN is due (opener, nothing else to carry it)
  bool syn_outstanding_ = false;  // a bare SYN went out and no answer came yet
  bool probe_pending_ = false;    // an ACK_NOW probe is due (persist or keepalive)
  bool rst_pending_ = false;
  bool ack_owed_ = false;
  bool ack_immediate_ = false;
  std::size_t unacked_packets_ = 0;
  core::TimePoint first_unacked_at_{};
  std::uint64_t advertised_right_ = 0;  // right edge in the last ack we sent
  std::uint32_t ts_recent_ = 0;         // peer's latest timestamp, echoed back
  core::TimePoint last_receive_;
  core::TimePoint last_keepalive_;
  std::size_t timeouts_in_a_row_ = 0;   // RTOs and unanswered probes since the last receipt
  unsigned persist_backoff_ = 0;
  std::optional<core::TimePoint> finished_at_;
  std::uint64_t packets_received_ = 0;
};

}  // namespace hop::tunnels
