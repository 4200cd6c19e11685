// The receiving half of a stream (docs/streams.md, "Receiving"): reassembly of out-of-order
// data within the advertised window, the cumulative ack and SACK ranges, the FIN, and the bytes
// waiting for the application. Nothing is delivered twice, nothing past the window is kept.
// Thread affinity: belongs to one stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "hop/core/bytes.h"
#include "hop/tunnels/stream_packet.h"

namespace hop::tunnels {

// What one packet's data did.
enum class DataOutcome {
  kInOrder,     // advanced the cumulative ack
  kOutOfOrder,  // kept above a hole (or filled part of one)
  kDuplicate,   // nothing new: every byte was here already
  kRejected,    // nothing kept: past the window, or contradicts the FIN
};

struct ReceiverStats {
  std::uint64_t bytes_received = 0;  // new bytes kept
  std::uint64_t duplicate_bytes = 0;
  std::uint64_t beyond_window_bytes = 0;
  std::uint64_t protocol_errors = 0;  // a FIN moved, or data past the FIN
};

class StreamReceiver {
 public:
  explicit StreamReceiver(std::size_t buffer_limit);

  DataOutcome on_data(std::uint64_t seq, core::ByteView payload, bool fin);
  // Up to `max` in-order bytes for the application.
  core::Bytes read(std::size_t max);

  std::size_t readable() const { return ready_.size(); }
  // Next offset expected (a received FIN counts as one once everything before it arrived).
  std::uint64_t ack() const;
  // Free buffer from ack() on; the right edge ack() + window() never moves back.
  std::uint32_t window() const;
  // At most kMaxSackRanges: the range holding the latest arrival first (RFC 2018), then the
  // lowest; returned ascending.
  std::vector<SackRange> sacks() const;
  // Data above a hole is held (the next ack carries sacks).
  bool has_gaps() const { return !above_.empty(); }
  bool fin_received() const { return fin_.has_value(); }
  // Every byte up to the FIN arrived.
  bool is_complete() const { return fin_ && next_ == *fin_; }
  // ... and the application read it all.
  bool is_eof() const { return is_complete() && ready_.empty(); }
  const ReceiverStats& stats() const { return stats_; }

 private:
  std::uint64_t right_edge() const { return next_ - ready_.size() + limit_; }
  bool accept_fin(std::uint64_t fin_offset);
  std::size_t insert(std::uint64_t begin, std::uint64_t end, std::uint64_t seq, core::ByteView payload);
  void drain();

  std::size_t limit_;
  std::uint64_t next_ = 0;            // every byte below arrived
  std::deque<std::uint8_t> ready_;    // in order, not yet read: [next_ - size, next_)
  std::map<std::uint64_t, core::Bytes> above_;  // disjoint pieces above next_
  std::optional<std::uint64_t> fin_;  // offset of the FIN
  std::uint64_t latest_ = 0;          // offset of the latest out-of-order arrival
  ReceiverStats stats_;
};

}  // namespace hop::tunnels
