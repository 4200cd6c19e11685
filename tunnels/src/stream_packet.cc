#include "hop/tunnels/stream_packet.h"

#include <string>

#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

core::Error malformed(const char* why) { return core::make_error(Errc::kMalformed, std::string("stream packet: ") + why); }

core::Status validate_flags(const StreamPacket& p) {
  if ((p.flags & ~kStreamKnownFlags) != 0) return malformed("unknown flag");
  if (p.has(kStreamRst) && (p.flags & (kStreamSyn | kStreamFin | kStreamAckNow)) != 0) {
    return malformed("RST with SYN, FIN or ACK_NOW");
  }
  if (p.has(kStreamRst) && (!p.payload.empty() || !p.sacks.empty())) return malformed("RST with payload or sacks");
  if (!p.has(kStreamAck) && (p.ack != 0 || p.timestamp_echo != 0 || !p.sacks.empty())) {
    return malformed("ack fields without ACK");
  }
  return {};
}

core::Status validate_sacks(const StreamPacket& p) {
  if (p.sacks.size() > kMaxSackRanges) return malformed("too many sack ranges");
  std::uint64_t floor = p.ack;  // each range starts strictly above the previous end (or the ack)
  for (const SackRange& range : p.sacks) {
    if (range.begin <= floor) return malformed("sack ranges out of order, overlapping or at the ack");
    if (range.end <= range.begin) return malformed("empty sack range");
    if (range.end > kMaxStreamOffset) return malformed("sack range past the offset limit");
    floor = range.end;
  }
  return {};
}

void put_header(const StreamPacket& p, core::Bytes& out) {
  out.resize(kStreamHeaderSize);
  std::uint8_t* h = out.data();
  h[0] = kStreamVersion;
  h[1] = p.flags;
  core::put_u32(h + 2, p.stream_id);
  core::put_u64(h + 6, p.seq);
  core::put_u64(h + 14, p.ack);
  core::put_u32(h + 22, p.window);
  core::put_u32(h + 26, p.timestamp);
  core::put_u32(h + 30, p.timestamp_echo);
  h[34] = static_cast<std::uint8_t>(p.sacks.size());
  core::put_u16(h + 35, static_cast<std::uint16_t>(p.payload.size()));
}

StreamPacket get_header(const std::uint8_t* h) {
  StreamPacket p;
  p.flags = h[1];
  p.stream_id = core::get_u32(h + 2);
  p.seq = core::get_u64(h + 6);
  p.ack = core::get_u64(h + 14);
  p.window = core::get_u32(h + 22);
  p.timestamp = core::get_u32(h + 26);
  p.timestamp_echo = core::get_u32(h + 30);
  return p;
}

}  // namespace

core::Status validate_stream_packet(const StreamPacket& p) {
  if (p.payload.size() > kMaxStreamPayload) return core::make_error(Errc::kTooLarge, "stream packet payload");
  if (auto flags = validate_flags(p); !flags) return flags;
  if (p.timestamp == 0) return malformed("zero timestamp");
  if (p.ack > kMaxStreamOffset || p.seq >= kMaxStreamOffset ||
      kMaxStreamOffset - p.seq < p.payload.size() + 1) {
    return malformed("offset past the limit");
  }
  return validate_sacks(p);
}

core::Result<core::Bytes> encode_stream_packet(const StreamPacket& p) {
  if (auto valid = validate_stream_packet(p); !valid) return valid.error();
  core::Bytes out;
  out.reserve(kStreamHeaderSize + p.sacks.size() * kSackRangeSize + p.payload.size());
  put_header(p, out);
  for (const SackRange& range : p.sacks) {
    std::uint8_t r[kSackRangeSize];
    core::put_u64(r, range.begin);
    core::put_u64(r + 8, range.end);
    out.insert(out.end(), r, r + kSackRangeSize);
  }
  core::append(out, p.payload);
  return out;
}

core::Result<StreamPacket> decode_stream_packet(core::ByteView bytes) {
  if (bytes.size() > kMaxStreamPacket) return core::make_error(Errc::kTooLarge, "stream packet");
  if (bytes.size() < kStreamHeaderSize) return malformed("shorter than the header");
  if (bytes[0] != kStreamVersion) return malformed("unknown version");
  const std::size_t sack_count = bytes[34];
  const std::size_t payload_size = core::get_u16(bytes.data() + 35);
  if (sack_count > kMaxSackRanges) return malformed("too many sack ranges");
  if (kStreamHeaderSize + sack_count * kSackRangeSize + payload_size != bytes.size()) {
    return malformed("lengths do not add up");
  }
  StreamPacket p = get_header(bytes.data());
  const std::uint8_t* r = bytes.data() + kStreamHeaderSize;
  for (std::size_t i = 0; i < sack_count; ++i, r += kSackRangeSize) {
    p.sacks.push_back({core::get_u64(r), core::get_u64(r + 8)});
  }
  p.payload.assign(r, bytes.data() + bytes.size());
  if (auto valid = validate_stream_packet(p); !valid) return valid.error();
  return p;
}

}  // namespace hop::tunnels
