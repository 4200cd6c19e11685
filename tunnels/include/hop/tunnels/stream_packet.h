// Stream packets (docs/streams.md, "Packet format"): the unit a Hopline stream sends inside one
// tunnel message. Pure codec: encode our own packets, decode untrusted bytes with a hard size limit.
// Thread affinity: none (free functions on values).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hop/core/bytes.h"
#include "hop/core/result.h"
#include "hop/tunnels/constants.h"

namespace hop::tunnels {

using StreamId = std::uint32_t;

// Flag bits (byte 1). Any other bit set is malformed.
inline constexpr std::uint8_t kStreamSyn = 0x01;     // opener's packets until the peer answered
inline constexpr std::uint8_t kStreamAck = 0x02;     // ack, sacks and timestamp_echo are valid
inline constexpr std::uint8_t kStreamFin = 0x04;     // no byte after seq + payload: end of this direction
inline constexpr std::uint8_t kStreamRst = 0x08;     // abort both directions at once
inline constexpr std::uint8_t kStreamAckNow = 0x10;  // probe: the receiver acks at once
inline constexpr std::uint8_t kStreamKnownFlags = 0x1f;

inline constexpr std::uint8_t kStreamVersion = 1;
// version 1, flags 1, stream_id 4, seq 8, ack 8, window 4, timestamp 4, echo 4, sack count 1,
// payload length 2.
inline constexpr std::size_t kStreamHeaderSize = 37;
// Eight ranges describe eight holes at once: more than one window loses in practice.
inline constexpr std::size_t kMaxSackRanges = 8;
inline constexpr std::size_t kSackRangeSize = 16;  // begin u64, end u64
inline constexpr std::size_t kMaxStreamHeader = kStreamHeaderSize + kMaxSackRanges * kSackRangeSize;
// A packet is one tunnel message at most.
inline constexpr std::size_t kMaxStreamPacket = kMaxTunnelMessage;
inline constexpr std::size_t kMaxStreamPayload = kMaxStreamPacket - kMaxStreamHeader;
// Offsets stay below 2^62, so offset + length + 1 never overflows anywhere (2^62 bytes: never).
inline constexpr std::uint64_t kMaxStreamOffset = std::uint64_t{1} << 62;

// Default payload: a full packet fills 4 cells. One lost cell loses its whole message, so few
// cells per packet keep loss low (1 % cell loss -> 4 % packet loss, against 47 % for 63 cells),
// while 4 cells keep the header and ack overhead under 5 %. Room is left for the envelope the
// wiring adds (delivery instructions 37, service and kind 2, end-to-end seal about 48).
inline constexpr std::size_t kStreamCellsPerPacket = 4;
inline constexpr std::size_t kStreamEnvelopeReserve = 96;
inline constexpr std::size_t kDefaultStreamPayload = 3584;
static_assert(kMaxStreamHeader + kDefaultStreamPayload + kStreamEnvelopeReserve <=
              kStreamCellsPerPacket * kMaxFragmentData);

// A received byte range [begin, end) above the cumulative ack.
struct SackRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  bool operator==(const SackRange&) const = default;
};

struct StreamPacket {
  StreamId stream_id = 0;
  std::uint8_t flags = 0;
  std::uint64_t seq = 0;             // offset of the first payload byte (or of the FIN)
  std::uint64_t ack = 0;             // next offset expected from the peer (a FIN counts as one)
  std::uint32_t window = 0;          // bytes the sender can still buffer from `ack` on
  std::uint32_t timestamp = 0;       // sender's clock, microseconds mod 2^32, never 0
  std::uint32_t timestamp_echo = 0;  // the peer's latest timestamp; 0 = none
  std::vector<SackRange> sacks;      // ascending, disjoint, not touching, all above `ack`
  core::Bytes payload;

  bool has(std::uint8_t flag) const { return (flags & flag) != 0; }
  // Stream offset just past this packet: payload end, plus one for a FIN.
  std::uint64_t end() const { return seq + payload.size() + (has(kStreamFin) ? 1 : 0); }
  bool operator==(const StreamPacket&) const = default;
};

// Errc::kMalformed (with the reason as context) for anything docs/streams.md forbids.
core::Status validate_stream_packet(const StreamPacket& packet);
// The wire bytes; the same errors as validate_stream_packet, plus kTooLarge.
core::Result<core::Bytes> encode_stream_packet(const StreamPacket& packet);
// Untrusted bytes: kTooLarge past kMaxStreamPacket, kMalformed for anything else wrong.
core::Result<StreamPacket> decode_stream_packet(core::ByteView bytes);

}  // namespace hop::tunnels
