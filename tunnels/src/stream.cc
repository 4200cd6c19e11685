#include "hop/tunnels/stream.h"

#include <algorithm>
#include <chrono>

#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

bool is_due(const std::optional<core::TimePoint>& deadline, core::TimePoint now) {
  return deadline && *deadline <= now;
}

void take_min(std::optional<core::TimePoint>& best, const std::optional<core::TimePoint>& t) {
  if (t && (!best || *t < *best)) best = t;
}

}  // namespace

Stream::Stream(StreamId id, const StreamConfig& config, Role role, core::TimePoint now)
    : id_(id),
      config_(config),
      role_(role),
      state_(role == Role::kOpener ? State::kSynSent : State::kEstablished),
      epoch_(now),
      sender_(config),
      // The opener sends an initial window before it hears the acceptor's: buffer at least that.
      receiver_(std::max(config.receive_buffer, config.initial_window_packets * config.max_payload)),
      last_receive_(now),
      last_keepalive_(now) {}

Stream Stream::open(StreamId id, const StreamConfig& config, core::TimePoint now) {
  Stream stream(id, config, Role::kOpener, now);
  stream.syn_pending_ = true;
  stream.update_timers(now);
  return stream;
}

core::Result<Stream> Stream::accept(const StreamPacket& syn, const StreamConfig& config, core::TimePoint now) {
  if (!syn.has(kStreamSyn) || syn.has(kStreamRst)) {
    return core::make_error(Errc::kMalformed, "stream accept: not a SYN");
  }
  Stream stream(syn.stream_id, config, Role::kAcceptor, now);
  stream.on_packet(syn, now);
  return stream;
}

// ---- application calls ----

std::size_t Stream::write(core::ByteView data, core::TimePoint now) {
  if (state_ == State::kReset || state_ == State::kClosed) return 0;
  const std::size_t taken = sender_.write(data);
  update_timers(now);
  return taken;
}

core::Bytes Stream::read(std::size_t max) {
  core::Bytes out = receiver_.read(max);
  if (!out.empty() && state_ != State::kReset && is_window_update_due()) {
    ack_owed_ = true;
    ack_immediate_ = true;
  }
  return out;
}

void Stream::shutdown_write(core::TimePoint now) {
  if (state_ == State::kReset || state_ == State::kClosed) return;
  sender_.close();
  update_timers(now);
}

void Stream::reset(core::TimePoint now) {
  if (state_ == State::kReset || state_ == State::kClosed) return;
  abort(ResetReason::kLocal);
  update_timers(now);
}

void Stream::abort(ResetReason reason) {
  state_ = State::kReset;
  reset_reason_ = reason;
  rst_pending_ = reason != ResetReason::kPeer;
}

bool Stream::read_closed() const { return state_ == State::kReset || receiver_.is_eof(); }
bool Stream::write_closed() const { return state_ == State::kReset || sender_.is_closed(); }
bool Stream::is_closed() const {
  return (state_ == State::kReset || state_ == State::kClosed) && !rst_pending_;
}

// ---- packets in ----

void Stream::on_packet(const StreamPacket& packet, core::TimePoint now) {
  if (state_ == State::kReset || state_ == State::kClosed || packet.stream_id != id_) return;
  ++packets_received_;
  last_receive_ = now;
  if (packet.has(kStreamRst)) {
    if (!finished_at_) abort(ResetReason::kPeer);  // after both FINs a RST can lose nothing
    update_timers(now);
    return;
  }
  if (state_ == State::kSynSent && packet.has(kStreamAck)) {
    state_ = State::kEstablished;
    syn_pending_ = false;
    syn_outstanding_ = false;
  }
  if (packet.has(kStreamAck)) on_ack(packet, now);
  sender_.on_peer_window(packet.ack, packet.window);
  if (!packet.payload.empty() || packet.has(kStreamFin)) on_data(packet, now);
  if (packet.has(kStreamSyn) || packet.has(kStreamAckNow)) {
    note_timestamp(packet.timestamp);
    owe_ack(true, now);
  }
  if (!sender_.has_outstanding()) timeouts_in_a_row_ = 0;  // an answer to a probe or keepalive
  if (!finished_at_ && sender_.fin_acked() && receiver_.is_complete()) finished_at_ = now;
  update_timers(now);
}

void Stream::on_ack(const StreamPacket& packet, core::TimePoint now) {
  std::optional<core::Duration> sample;
  if (packet.timestamp_echo != 0) {
    const std::uint32_t micros = timestamp(now) - packet.timestamp_echo;  // mod 2^32
    sample = std::chrono::microseconds(micros);
  }
  if (sender_.on_ack(packet, sample, now) > 0) {
    timeouts_in_a_row_ = 0;
    timers_.retransmit.reset();  // progress: update_timers() restarts it from now
  }
}

void Stream::on_data(const StreamPacket& packet, core::TimePoint now) {
  const DataOutcome outcome = receiver_.on_data(packet.seq, packet.payload, packet.has(kStreamFin));
  note_timestamp(packet.timestamp);
  // RFC 5681 4.2: ack out-of-order, duplicate and hole-filling data at once; in-order data
  // every kAckEveryPackets packets or after ack_delay.
  owe_ack(outcome != DataOutcome::kInOrder || receiver_.has_gaps() || packet.has(kStreamFin), now);
}

void Stream::owe_ack(bool immediate, core::TimePoint now) {
  if (!ack_owed_) first_unacked_at_ = now;
  ack_owed_ = true;
  ack_immediate_ = ack_immediate_ || immediate;
  ++unacked_packets_;
}

// Echo the newest timestamp (serial arithmetic), so a reordered old packet does not inflate RTT.
void Stream::note_timestamp(std::uint32_t ts) {
  if (ts_recent_ == 0 || static_cast<std::int32_t>(ts - ts_recent_) > 0) ts_recent_ = ts;
}

// ---- packets out ----

std::optional<StreamPacket> Stream::poll_transmit(core::TimePoint now) {
  std::optional<StreamPacket> out;
  if (rst_pending_) {
    rst_pending_ = false;
    out = base_packet(now);
    out->flags = (out->flags & kStreamAck) | kStreamRst;
    out->sacks.clear();
  } else if (state_ == State::kReset || state_ == State::kClosed) {
    return std::nullopt;
  } else if (auto segment = sender_.next_segment(now)) {
    out = data_packet(std::move(*segment), now);
  } else if (syn_pending_ || probe_pending_ || is_ack_due()) {
    out = base_packet(now);
    if (probe_pending_) out->flags |= kStreamAckNow;
    syn_outstanding_ = syn_outstanding_ || syn_pending_;
    syn_pending_ = false;
    probe_pending_ = false;
  }
  if (out) update_timers(now);
  return out;
}

bool Stream::is_ack_due() const {
  return ack_owed_ && (ack_immediate_ || unacked_packets_ >= kAckEveryPackets);
}

bool Stream::is_window_update_due() const {
  const std::uint64_t right = receiver_.ack() + receiver_.window();
  const bool was_closed = advertised_right_ <= receiver_.ack() + config_.max_payload;
  return right > advertised_right_ &&
         (was_closed || right - advertised_right_ >= config_.receive_buffer / kWindowUpdateDivisor);
}

StreamPacket Stream::base_packet(core::TimePoint now) {
  StreamPacket p;
  p.stream_id = id_;
  p.timestamp = timestamp(now);
  p.window = receiver_.window();
  if (state_ == State::kSynSent) p.flags |= kStreamSyn;
  if (role_ == Role::kAcceptor || state_ != State::kSynSent) {
    p.flags |= kStreamAck;
    p.ack = receiver_.ack();
    p.sacks = receiver_.sacks();
    p.timestamp_echo = ts_recent_;
    advertised_right_ = std::max(advertised_right_, p.ack + p.window);
    ack_owed_ = false;
    ack_immediate_ = false;
    unacked_packets_ = 0;
  }
  return p;
}

StreamPacket Stream::data_packet(OutgoingSegment segment, core::TimePoint now) {
  StreamPacket p = base_packet(now);
  p.seq = segment.offset;
  p.payload = std::move(segment.payload);
  if (segment.fin) p.flags |= kStreamFin;
  syn_pending_ = false;  // this packet carries the SYN flag as well
  return p;
}

std::uint32_t Stream::timestamp(core::TimePoint now) const {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - epoch_).count();
  const auto ts = static_cast<std::uint32_t>(micros + 1);
  return ts == 0 ? 1 : ts;
}

// ---- timers ----

void Stream::update_timers(core::TimePoint now) {
  if (state_ == State::kReset || state_ == State::kClosed) {
    timers_ = {};
    return;
  }
  const bool outstanding = sender_.has_outstanding() || syn_outstanding_;
  if (!outstanding) timers_.retransmit.reset();
  if (outstanding && !timers_.retransmit) timers_.retransmit = now + sender_.rtt().rto();

  if (!ack_owed_ || ack_immediate_) timers_.delayed_ack.reset();  // an immediate ack needs no timer
  if (ack_owed_ && !ack_immediate_ && !timers_.delayed_ack) timers_.delayed_ack = first_unacked_at_ + config_.ack_delay;

  if (!sender_.is_window_blocked()) {
    timers_.persist.reset();
    persist_backoff_ = 0;
  } else if (!timers_.persist) {
    const core::Duration rto = sender_.rtt().rto() * (1u << std::min(persist_backoff_, 16u));
    timers_.persist = now + std::min(rto, config_.max_rto);
  }

  timers_.keepalive.reset();
  if (state_ == State::kEstablished && !finished_at_ && config_.keepalive_interval > core::Duration::zero()) {
    timers_.keepalive = std::max(last_receive_, last_keepalive_) + config_.keepalive_interval;
  }
  timers_.idle.reset();
  if (config_.idle_timeout > core::Duration::zero()) timers_.idle = last_receive_ + config_.idle_timeout;
  timers_.linger.reset();
  if (finished_at_) timers_.linger = *finished_at_ + std::max<core::Duration>(kMinLinger, 3 * sender_.rtt().rto());
}

std::optional<core::TimePoint> Stream::next_deadline() const {
  std::optional<core::TimePoint> best;
  for (const auto& t : {timers_.retransmit, timers_.delayed_ack, timers_.persist, timers_.keepalive,
                        timers_.idle, timers_.linger}) {
    take_min(best, t);
  }
  return best;
}

void Stream::on_timeout(core::TimePoint now) {
  if (state_ == State::kReset || state_ == State::kClosed) return;
  if (is_due(timers_.retransmit, now)) on_retransmit_timeout();
  if (is_due(timers_.persist, now)) on_persist_timeout();
  if (is_due(timers_.keepalive, now)) {
    probe_pending_ = true;
    last_keepalive_ = now;
  }
  if (is_due(timers_.delayed_ack, now)) ack_immediate_ = true;
  if (is_due(timers_.idle, now)) abort(ResetReason::kIdle);
  if (is_due(timers_.linger, now) && state_ != State::kReset) state_ = State::kClosed;
  update_timers(now);
}

void Stream::on_path_changed(core::TimePoint now) {
  if (state_ == State::kReset || state_ == State::kClosed) return;
  if (!sender_.has_outstanding() && !syn_outstanding_) return;
  sender_.on_path_changed();
  if (state_ == State::kSynSent) syn_pending_ = true;
  timers_.retransmit.reset();
  update_timers(now);
}

void Stream::on_retransmit_timeout() {
  timers_.retransmit.reset();
  if (++timeouts_in_a_row_ > config_.max_retransmits) return abort(ResetReason::kTimeout);
  sender_.on_rto();
  if (state_ == State::kSynSent && !sender_.has_outstanding()) syn_pending_ = true;
}

void Stream::on_persist_timeout() {
  timers_.persist.reset();
  if (++timeouts_in_a_row_ > config_.max_retransmits) return abort(ResetReason::kTimeout);
  ++persist_backoff_;
  probe_pending_ = true;
}

StreamStats Stream::stats() const {
  StreamStats s;
  s.sender = sender_.stats();
  s.receiver = receiver_.stats();
  s.packets_received = packets_received_;
  s.srtt = sender_.rtt().srtt();
  s.rttvar = sender_.rtt().rttvar();
  s.min_rtt = sender_.rtt().min_rtt();
  s.rto = sender_.rtt().rto();
  s.cwnd = sender_.congestion().cwnd();
  s.bandwidth = sender_.congestion().bandwidth();
  s.loss_episodes = sender_.congestion().loss_episodes();
  return s;
}

}  // namespace hop::tunnels
