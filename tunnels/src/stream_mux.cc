#include "hop/tunnels/stream_mux.h"

#include "hop/tunnels/errors.h"

namespace hop::tunnels {

StreamMux::StreamMux(const StreamMuxConfig& config, MuxSide side)
    : config_(config), side_(side), next_id_(side == MuxSide::kOdd ? 1 : 2) {}

bool StreamMux::is_peer_id(StreamId id) const { return (id % 2 == 1) != (side_ == MuxSide::kOdd); }

core::Result<StreamId> StreamMux::open(core::TimePoint now) {
  if (streams_.size() >= config_.max_streams) return core::make_error(Errc::kLimit, "stream limit reached");
  while (streams_.contains(next_id_) || next_id_ == 0) next_id_ += 2;  // after 2^32 ids: skip live ones
  const StreamId id = next_id_;
  next_id_ += 2;
  streams_.emplace(id, Stream::open(id, config_.stream, now));
  ++stats_.opened;
  return id;
}

Stream* StreamMux::find(StreamId id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

std::optional<StreamId> StreamMux::accept() {
  while (!accept_queue_.empty()) {
    const StreamId id = accept_queue_.front();
    accept_queue_.pop_front();
    if (streams_.contains(id)) return id;  // skip streams already gone
  }
  return std::nullopt;
}

void StreamMux::on_packet(const StreamPacket& packet, core::TimePoint now) {
  if (auto it = streams_.find(packet.stream_id); it != streams_.end()) {
    it->second.on_packet(packet, now);
    return;
  }
  on_unknown(packet, now);
}

void StreamMux::on_unknown(const StreamPacket& packet, core::TimePoint now) {
  if (packet.has(kStreamRst)) return;  // never answer a RST
  if (!packet.has(kStreamSyn)) {
    ++stats_.unknown;
    return refuse(packet.stream_id);
  }
  if (!is_peer_id(packet.stream_id) || streams_.size() >= config_.max_streams) {
    ++stats_.refused;
    return refuse(packet.stream_id);
  }
  auto stream = Stream::accept(packet, config_.stream, now);
  if (!stream) return;
  streams_.emplace(packet.stream_id, std::move(*stream));
  accept_queue_.push_back(packet.stream_id);
  ++stats_.accepted;
}

void StreamMux::refuse(StreamId id) {
  if (resets_.size() < kMaxPendingResets) resets_.push_back(id);
}

std::optional<StreamPacket> StreamMux::poll_transmit(core::TimePoint now) {
  if (!resets_.empty()) {
    StreamPacket rst;
    rst.stream_id = resets_.front();
    rst.flags = kStreamRst;
    rst.timestamp = 1;  // no clock of ours is involved: any non-zero value
    resets_.pop_front();
    ++stats_.resets_sent;
    return rst;
  }
  auto packet = poll_streams(now);
  if (!packet) reap();
  return packet;
}

// One packet from the first stream at or after the cursor that has one; the cursor moves past it.
std::optional<StreamPacket> StreamMux::poll_streams(core::TimePoint now) {
  auto start = streams_.lower_bound(cursor_);
  for (std::size_t n = 0; n < streams_.size(); ++n, ++start) {
    if (start == streams_.end()) start = streams_.begin();
    if (auto packet = start->second.poll_transmit(now)) {
      cursor_ = start->first + 1;
      return packet;
    }
  }
  return std::nullopt;
}

std::optional<core::TimePoint> StreamMux::next_deadline() const {
  std::optional<core::TimePoint> best;
  for (const auto& [id, stream] : streams_) {
    auto t = stream.next_deadline();
    if (t && (!best || *t < *best)) best = t;
  }
  return best;
}

void StreamMux::on_timeout(core::TimePoint now) {
  for (auto& [id, stream] : streams_) {
    auto t = stream.next_deadline();
    if (!t || *t > now) continue;
    const auto rtos = stream.rtos();
    stream.on_timeout(now);
    stats_.rtos += stream.rtos() - rtos;
  }
}

void StreamMux::on_path_changed(core::TimePoint now) {
  for (auto& [id, stream] : streams_) stream.on_path_changed(now);
}

bool StreamMux::stalled() const {
  return std::any_of(streams_.begin(), streams_.end(), [](const auto& e) { return e.second.stalled(); });
}

void StreamMux::reap() {
  std::erase_if(streams_, [this](const auto& entry) {
    const Stream& s = entry.second;
    const bool gone = s.is_closed() && (s.reset_reason() != ResetReason::kNone || s.readable() == 0);
    if (gone) ++stats_.reaped;
    return gone;
  });
}

}  // namespace hop::tunnels
