// decode_stream_packet on untrusted bytes: never crashes; what it accepts re-encodes to the same
// bytes, and those decode to the same packet.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "hop/tunnels/stream_packet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hop::core::ByteView input(data, size);
  auto packet = hop::tunnels::decode_stream_packet(input);
  if (!packet.ok()) return 0;
  if (packet->payload.size() > hop::tunnels::kMaxStreamPayload) __builtin_trap();
  auto bytes = hop::tunnels::encode_stream_packet(*packet);
  if (!bytes.ok()) __builtin_trap();
  if (bytes->size() != size || !std::equal(bytes->begin(), bytes->end(), data)) __builtin_trap();
  auto again = hop::tunnels::decode_stream_packet(*bytes);
  if (!again.ok() || !(*again == *packet)) __builtin_trap();
  return 0;
}
