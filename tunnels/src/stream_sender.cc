#include "hop/tunnels/stream_sender.h"

#include <algorithm>

namespace hop::tunnels {

StreamSender::StreamSender(const StreamConfig& config)
    : mss_(std::clamp<std::size_t>(config.max_payload, 1, kMaxStreamPayload)),
      buffer_limit_(config.send_buffer),
      // Before the peer's first window arrives, assume it buffers an initial window.
      peer_right_(config.initial_window_packets * mss_),
      rtt_({config.initial_rto, config.min_rto, config.max_rto}),
      cc_(mss_, config.initial_window_packets) {}

std::size_t StreamSender::write(core::ByteView data) {
  if (closed_) return 0;
  const std::size_t room = buffer_limit_ > buffer_.size() ? buffer_limit_ - buffer_.size() : 0;
  const std::size_t n = std::min(room, data.size());
  buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
  written_ += n;
  return n;
}

void StreamSender::close() { closed_ = true; }

void StreamSender::on_peer_window(std::uint64_t ack, std::uint32_t window) {
  if (ack > next_) return;
  peer_right_ = std::max(peer_right_, ack + window);
}

bool StreamSender::is_window_blocked() const {
  return next_ < written_ && peer_right_ <= next_ && segments_.empty();
}

std::size_t StreamSender::on_ack(const StreamPacket& packet, std::optional<core::Duration> rtt_sample,
                                 core::TimePoint now) {
  if (packet.ack > next_) {
    ++stats_.invalid_acks;
    return 0;
  }
  const bool cwnd_limited = pipe_ + mss_ >= cc_.cwnd();
  const core::TimePoint rack_before = rack_sent_;
  std::size_t delivered = on_cumulative_ack(packet.ack, now);
  for (const SackRange& range : packet.sacks) delivered += on_sack(range, now);
  if (delivered == 0) return 0;
  if (rtt_sample) rtt_.on_sample(*rtt_sample, now);
  if (rack_sent_ > rack_before) detect_losses();
  cc_.on_delivered(delivered, cwnd_limited, now, rtt_);
  return delivered;
}

std::size_t StreamSender::on_cumulative_ack(std::uint64_t ack, core::TimePoint now) {
  if (ack <= acked_) return 0;
  std::size_t delivered = 0;
  for (auto it = segments_.begin(); it != segments_.end() && end_of(it) <= ack;) {
    delivered += deliver(it->second, now);
    it = segments_.erase(it);
  }
  trim_front(ack);
  const std::uint64_t data_end = std::min(ack, written_);
  stats_.bytes_acked += data_end - std::min(acked_, written_);
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(data_end - buffer_base_));
  buffer_base_ = data_end;
  acked_ = ack;
  cc_.on_ack(ack);
  return delivered;
}

// A receiver that trimmed a packet at its window acks inside it: keep the unacked tail.
void StreamSender::trim_front(std::uint64_t ack) {
  if (segments_.empty() || segments_.begin()->first >= ack) return;
  auto node = segments_.extract(segments_.begin());
  const auto cut = static_cast<std::uint32_t>(ack - node.key());
  if (node.mapped().in_pipe) pipe_ -= cut;
  node.mapped().length -= cut;
  node.key() = ack;
  segments_.insert(std::move(node));
}

std::size_t StreamSender::on_sack(const SackRange& range, core::TimePoint now) {
  std::size_t delivered = 0;
  for (auto it = segments_.lower_bound(range.begin); it != segments_.end() && end_of(it) <= range.end; ++it) {
    delivered += deliver(it->second, now);
    it->second.sacked = true;
  }
  return delivered;
}

// A segment reached the peer (first ack or sack of it): out of the pipe, no longer lost.
std::size_t StreamSender::deliver(Segment& segment, core::TimePoint now) {
  if (segment.sacked) return 0;
  if (segment.in_pipe) pipe_ -= segment.length;
  if (segment.lost) --lost_;
  segment.in_pipe = false;
  segment.lost = false;
  // RFC 8985 6.2: an ack that may be of an earlier copy says nothing about the latest send.
  const bool ambiguous = segment.transmissions > 1 && now - segment.sent < rtt_.min_rtt();
  if (!ambiguous) rack_sent_ = std::max(rack_sent_, segment.sent);
  return std::max<std::size_t>(segment.length, 1);
}

// RACK: a segment sent a reordering window before one that arrived is lost.
void StreamSender::detect_losses() {
  const core::Duration reorder = rtt_.min_rtt() / kReorderDivisor;
  for (auto& [offset, segment] : segments_) {
    if (segment.in_pipe && segment.sent + reorder < rack_sent_) mark_lost(offset, segment);
  }
}

void StreamSender::mark_lost(std::uint64_t offset, Segment& segment) {
  pipe_ -= segment.length;
  segment.in_pipe = false;
  segment.lost = true;
  ++lost_;
  ++stats_.packets_lost;
  cc_.on_loss(offset, next_, rtt_);
}

void StreamSender::on_rto() {
  ++stats_.rtos;
  for (auto& [offset, segment] : segments_) {
    if (segment.sacked || segment.lost) continue;
    segment.in_pipe = false;
    segment.lost = true;
    ++lost_;
    ++stats_.packets_lost;
  }
  pipe_ = 0;
  cc_.on_rto(next_);
  rtt_.on_backoff();
}

void StreamSender::on_path_changed() {
  for (auto& [offset, segment] : segments_) {
    if (segment.sacked || segment.lost) continue;
    segment.in_pipe = false;
    segment.lost = true;
    ++lost_;
  }
  pipe_ = 0;
  rtt_.clear_backoff();
}

std::optional<OutgoingSegment> StreamSender::next_segment(core::TimePoint now) {
  if (pipe_ >= cc_.cwnd()) return std::nullopt;
  if (lost_ > 0) return retransmit(now);
  return send_new(now);
}

std::optional<OutgoingSegment> StreamSender::retransmit(core::TimePoint now) {
  for (auto& [offset, segment] : segments_) {
    if (!segment.lost) continue;
    segment.lost = false;
    --lost_;
    ++stats_.packets_retransmitted;
    stats_.bytes_retransmitted += segment.length;
    return transmit(offset, segment, now);
  }
  return std::nullopt;
}

std::optional<OutgoingSegment> StreamSender::send_new(core::TimePoint now) {
  const std::uint64_t unsent = written_ - std::min(next_, written_);
  const std::uint64_t window = peer_right_ > next_ ? peer_right_ - next_ : 0;
  const auto length = static_cast<std::uint32_t>(std::min<std::uint64_t>({mss_, unsent, window}));
  // Silly-window avoidance: a short packet only when it ends the data or nothing else flies.
  if (length < std::min<std::uint64_t>(mss_, unsent) && !segments_.empty()) return std::nullopt;
  const bool fin = closed_ && !fin_sent_ && next_ + length == written_;
  if (length == 0 && !fin) return std::nullopt;
  const std::uint64_t offset = next_;
  Segment& segment = segments_[offset];
  segment.length = length;
  segment.fin = fin;
  next_ += length + (fin ? 1 : 0);
  fin_sent_ = fin_sent_ || fin;
  stats_.bytes_sent += length;
  return transmit(offset, segment, now);
}

OutgoingSegment StreamSender::transmit(std::uint64_t offset, Segment& segment, core::TimePoint now) {
  segment.sent = now;
  ++segment.transmissions;
  segment.in_pipe = true;
  pipe_ += segment.length;
  ++stats_.packets_sent;
  return {offset, copy_out(offset, segment.length), segment.fin, segment.transmissions > 1};
}

core::Bytes StreamSender::copy_out(std::uint64_t offset, std::size_t length) const {
  const auto first = buffer_.begin() + static_cast<std::ptrdiff_t>(offset - buffer_base_);
  return core::Bytes(first, first + static_cast<std::ptrdiff_t>(length));
}

}  // namespace hop::tunnels
