// Many streams between one pair of destinations (docs/streams.md, "Multiplexing"): routes packets
// by stream id, opens and accepts streams, refuses unknown ids with RST, bounds the number of
// streams, and sends fairly (one packet per stream per turn). Sans-I/O like Stream.
// Thread affinity: one thread (the destination's strand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "hop/core/result.h"
#include "hop/core/runtime.h"
#include "hop/tunnels/stream.h"

namespace hop::tunnels {

// Which ids this side opens, so the two sides never pick the same one. The wiring gives kOdd to
// the destination with the lower hash.
enum class MuxSide { kOdd, kEven };

// Streams beyond this are refused: each may buffer send_buffer + receive_buffer bytes.
inline constexpr std::size_t kDefaultMaxStreams = 256;
// RSTs waiting to go out; more unknown packets are dropped without an answer (no amplification).
inline constexpr std::size_t kMaxPendingResets = 64;

struct StreamMuxConfig {
  StreamConfig stream;
  std::size_t max_streams = kDefaultMaxStreams;
};

struct StreamMuxStats {
  std::uint64_t opened = 0;
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;       // SYNs over max_streams or with our parity
  std::uint64_t unknown = 0;       // non-SYN packets for no stream
  std::uint64_t resets_sent = 0;
  std::uint64_t reaped = 0;        // closed streams removed
  std::uint64_t rtos = 0;          // retransmission timeouts of all streams: the path may be broken
};

class StreamMux {
 public:
  StreamMux(const StreamMuxConfig& config, MuxSide side);

  // A new stream (SYN on its first packet). Errc::kNoRoute when max_streams are open.
  core::Result<StreamId> open(core::TimePoint now);
  // The stream, or nullptr. Valid until poll_transmit() next returns nullopt: then streams that
  // are closed (reset, or finished with nothing left to read) are removed.
  Stream* find(StreamId id);
  // The next stream the peer opened, oldest first.
  std::optional<StreamId> accept();

  void on_packet(const StreamPacket& packet, core::TimePoint now);
  std::optional<StreamPacket> poll_transmit(core::TimePoint now);
  std::optional<core::TimePoint> next_deadline() const;
  void on_timeout(core::TimePoint now);
  // Stream::on_path_changed for every stream.
  void on_path_changed(core::TimePoint now);
  // Some stream is stalled (Stream::stalled).
  bool stalled() const;

  std::size_t size() const { return streams_.size(); }
  const StreamMuxStats& stats() const { return stats_; }

 private:
  bool is_peer_id(StreamId id) const;
  void on_unknown(const StreamPacket& packet, core::TimePoint now);
  void refuse(StreamId id);
  std::optional<StreamPacket> poll_streams(core::TimePoint now);
  void reap();

  StreamMuxConfig config_;
  MuxSide side_;
  StreamId next_id_;
  std::map<StreamId, Stream> streams_;
  std::deque<StreamId> accept_queue_;
  std::deque<StreamId> resets_;  // ids to answer with RST
  StreamId cursor_ = 0;          // round robin: the next poll starts at this id
  StreamMuxStats stats_;
};

}  // namespace hop::tunnels
