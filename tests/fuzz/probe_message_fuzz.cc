// Bandwidth-probe messages on untrusted bytes: decoding never crashes, and what it accepts
// encodes back to a block that decodes the same.
#include <cstddef>
#include <cstdint>

#include "hop/netdb/probe_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hop;
  auto msg = netdb::decode_probe_message(core::ByteView(data, size));
  if (!msg) return 0;
  core::Bytes again;
  if (const auto* d = std::get_if<netdb::ProbeData>(&*msg)) {
    if (d->size != size || size < netdb::kProbeHeaderSize) __builtin_trap();
    again = netdb::encode_probe_data(d->probe_id, d->last, size - netdb::kProbeHeaderSize);
  } else {
    again = netdb::encode_probe_ack(std::get<netdb::ProbeAck>(*msg));
  }
  auto back = netdb::decode_probe_message(again);
  if (!back || back->index() != msg->index()) __builtin_trap();
  return 0;
}
