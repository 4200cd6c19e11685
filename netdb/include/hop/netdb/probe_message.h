// Bandwidth-probe messages (docs/protocol.md, "Bandwidth probe"). A kMessage block that starts
// with kProbeService. Raw bytes rather than Protobuf: the data message is mostly filler, and a
// fixed layout keeps it cheap to build and to check.
//
//   byte 0      kProbeService
//   byte 1      kind: 1 data, 2 ack
//   bytes 2-9   probe id (u64, big-endian)
//   data:  byte 10 = 1 on the last message of a probe, else 0; then filler (ignored)
//   ack:   bytes 10-17 = bytes of data received for this probe (u64, big-endian); nothing after
#pragma once

#include <cstdint>
#include <variant>

#include "hop/core/bytes.h"
#include "hop/core/result.h"

namespace hop::netdb {

inline constexpr std::uint8_t kProbeService = 2;
// Filler per data message: well under the link's block limit, big enough that headers are noise.
inline constexpr std::size_t kProbeChunk = 16 * 1024;
inline constexpr std::size_t kProbeHeaderSize = 11;
inline constexpr std::size_t kProbeAckSize = 18;

struct ProbeData {
  std::uint64_t probe_id = 0;
  bool last = false;
  std::size_t size = 0;  // the whole block's size, as counted by the receiver
};
struct ProbeAck {
  std::uint64_t probe_id = 0;
  std::uint64_t bytes = 0;
};
using ProbeMessage = std::variant<ProbeData, ProbeAck>;

// A data block of kProbeHeaderSize + filler bytes (filler is zeros; the link encrypts it).
core::Bytes encode_probe_data(std::uint64_t probe_id, bool last, std::size_t filler);
core::Bytes encode_probe_ack(const ProbeAck& ack);
// Refuses a wrong service byte, an unknown kind, a short block, trailing bytes after an ack,
// and a data block over kProbeHeaderSize + kProbeChunk bytes.
core::Result<ProbeMessage> decode_probe_message(core::ByteView block);

}  // namespace hop::netdb
