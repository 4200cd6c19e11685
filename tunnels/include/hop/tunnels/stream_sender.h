// The sending half of a stream (docs/streams.md, "Sending"): the send buffer, the scoreboard of
// packets in flight, SACK and RACK-style loss detection, retransmission, and the windows (the
// congestion window and the peer's advertised buffer). Pure: every call takes `now`.
// Thread affinity: belongs to one stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "hop/core/bytes.h"
#include "hop/core/runtime.h"
#include "hop/tunnels/congestion_controller.h"
#include "hop/tunnels/rtt_estimator.h"
#include "hop/tunnels/stream_config.h"
#include "hop/tunnels/stream_packet.h"

namespace hop::tunnels {

// What the stream puts in the next packet's seq, payload and FIN flag.
struct OutgoingSegment {
  std::uint64_t offset = 0;
  core::Bytes payload;
  bool fin = false;
  bool retransmission = false;
};

struct SenderStats {
  std::uint64_t bytes_sent = 0;           // first transmissions
  std::uint64_t bytes_acked = 0;          // cumulatively acked payload
  std::uint64_t bytes_retransmitted = 0;
  std::uint64_t packets_sent = 0;         // data or FIN packets, retransmissions included
  std::uint64_t packets_retransmitted = 0;
  std::uint64_t packets_lost = 0;         // marked lost (by SACK/RACK or an RTO)
  std::uint64_t rtos = 0;
  std::uint64_t invalid_acks = 0;         // acks of data never sent (ignored)
};

class StreamSender {
 public:
  explicit StreamSender(const StreamConfig& config);

  // Takes as much of `data` as the send buffer holds; 0 once close() was called.
  std::size_t write(core::ByteView data);
  // Queues the FIN after everything written.
  void close();
  // The peer can buffer up to offset `ack + window` (a right edge never moves back).
  void on_peer_window(std::uint64_t ack, std::uint32_t window);
  // The ack part of a packet with kStreamAck. Returns the bytes newly delivered (acked or sacked);
  // `rtt_sample` is used only when something was. An ack past what was sent is ignored.
  std::size_t on_ack(const StreamPacket& packet, std::optional<core::Duration> rtt_sample, core::TimePoint now);
  // The next segment the windows allow: lost ones first, then new data, then a lone FIN.
  std::optional<OutgoingSegment> next_segment(core::TimePoint now);
  // The retransmission timer fired: everything not sacked is lost, back to one packet.
  void on_rto();
  // The packets go another way now, after timeouts on the old one: what is in flight is lost
  // (resent at once) and the timer's backoff ends. Unlike on_rto no timeout is counted and the
  // congestion window stays (it shrank at the timeouts already).
  void on_path_changed();

  bool has_outstanding() const { return !segments_.empty(); }
  // Data waits, the peer's window is full and nothing is in flight that would bring an ack.
  bool is_window_blocked() const;
  bool is_closed() const { return closed_; }
  bool fin_acked() const { return fin_sent_ && acked_ == written_ + 1; }
  std::size_t buffered() const { return buffer_.size(); }
  // What write() would take now.
  std::size_t room() const { return closed_ || buffer_limit_ <= buffer_.size() ? 0 : buffer_limit_ - buffer_.size(); }
  std::size_t in_flight() const { return pipe_; }
  std::uint64_t send_next() const { return next_; }

  const SenderStats& stats() const { return stats_; }
  const RttEstimator& rtt() const { return rtt_; }
  const CongestionController& congestion() const { return cc_; }

 private:
  struct Segment {
    std::uint32_t length = 0;  // payload bytes (a FIN adds one offset after them)
    bool fin = false;
    bool sacked = false;
    bool lost = false;  // waiting for its retransmission
    bool in_pipe = false;
    std::uint32_t transmissions = 0;
    core::TimePoint sent{};
  };
  using Segments = std::map<std::uint64_t, Segment>;
  static std::uint64_t end_of(Segments::const_iterator it) {
    return it->first + it->second.length + (it->second.fin ? 1 : 0);
  }

  std::size_t on_cumulative_ack(std::uint64_t ack, core::TimePoint now);
  void trim_front(std::uint64_t ack);
  std::size_t on_sack(const SackRange& range, core::TimePoint now);
  std::size_t deliver(Segment& segment, core::TimePoint now);
  void detect_losses();
  void mark_lost(std::uint64_t offset, Segment& segment);
  std::optional<OutgoingSegment> retransmit(core::TimePoint now);
  std::optional<OutgoingSegment> send_new(core::TimePoint now);
  OutgoingSegment transmit(std::uint64_t offset, Segment& segment, core::TimePoint now);
  core::Bytes copy_out(std::uint64_t offset, std::size_t length) const;

  std::size_t mss_;
  std::size_t buffer_limit_;
  std::deque<std::uint8_t> buffer_;  // payload from offset buffer_base_ up to written_
  std::uint64_t buffer_base_ = 0;
  std::uint64_t written_ = 0;  // end of the written data; the FIN sits at this offset
  std::uint64_t next_ = 0;     // next offset never sent
  std::uint64_t acked_ = 0;    // cumulative ack
  std::uint64_t peer_right_;   // the peer buffers below this offset
  bool closed_ = false;
  bool fin_sent_ = false;
  Segments segments_;          // every offset in [acked_, next_), in order
  std::size_t pipe_ = 0;       // payload bytes in flight: sent, not sacked, acked or lost
  std::size_t lost_ = 0;       // segments waiting for retransmission
  core::TimePoint rack_sent_{};  // latest send time of a delivered segment (RFC 8985)
  RttEstimator rtt_;
  CongestionController cc_;
  SenderStats stats_;
};

}  // namespace hop::tunnels
