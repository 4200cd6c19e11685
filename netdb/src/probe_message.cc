#include "hop/netdb/probe_message.h"

#include "hop/netdb/errors.h"

namespace hop::netdb {
namespace {

constexpr std::uint8_t kKindData = 1;
constexpr std::uint8_t kKindAck = 2;

void put_u64(core::Bytes& out, std::uint64_t v) {
  out.resize(out.size() + 8);
  core::put_u64(out.data() + out.size() - 8, v);
}

core::Error malformed(const std::string& what) {
  return core::make_error(Errc::kRefused, "malformed probe message: " + what);
}

core::Bytes header(std::uint8_t kind, std::uint64_t probe_id, std::size_t reserve) {
  core::Bytes out;
  out.reserve(reserve);
  out.push_back(kProbeService);
  out.push_back(kind);
  put_u64(out, probe_id);
  return out;
}

}  // namespace

core::Bytes encode_probe_data(std::uint64_t probe_id, bool last, std::size_t filler) {
  core::Bytes out = header(kKindData, probe_id, kProbeHeaderSize + filler);
  out.push_back(last ? 1 : 0);
  out.resize(kProbeHeaderSize + filler, 0);
  return out;
}

core::Bytes encode_probe_ack(const ProbeAck& ack) {
  core::Bytes out = header(kKindAck, ack.probe_id, kProbeAckSize);
  put_u64(out, ack.bytes);
  return out;
}

core::Result<ProbeMessage> decode_probe_message(core::ByteView block) {
  if (block.size() < 10) return malformed("shorter than its header");
  if (block[0] != kProbeService) return malformed("not a probe message");
  const std::uint64_t id = core::get_u64(block.data() + 2);
  switch (block[1]) {
    case kKindData:
      if (block.size() < kProbeHeaderSize) return malformed("data without its last flag");
      if (block.size() > kProbeHeaderSize + kProbeChunk) return malformed("data block too large");
      if (block[10] > 1) return malformed("last flag is not 0 or 1");
      return ProbeMessage{ProbeData{id, block[10] == 1, block.size()}};
    case kKindAck:
      if (block.size() != kProbeAckSize) return malformed("ack of the wrong size");
      return ProbeMessage{ProbeAck{id, core::get_u64(block.data() + 10)}};
    default:
      return malformed("unknown kind " + std::to_string(block[1]));
  }
}

}  // namespace hop::netdb
