// Link control (Protobuf) decoding on untrusted bytes.
#include <cstddef>
#include <cstdint>

#include "hop/transport/link_control.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto msg = hop::transport::decode_link_control(hop::core::ByteView(data, size));
  if (msg) {
    auto again = hop::transport::decode_link_control(hop::transport::encode_link_control(*msg));
    if (!again || again->index() != msg->index()) __builtin_trap();
  }
  return 0;
}
