// The frame decoder on untrusted bytes. Mode 0: raw wire bytes (length prefixes, failed
// authentication). Mode 1: the input is sealed first with the shared key, so the block parser and
// the control decoder behind authentication get fuzzed too.
#include <cstddef>
#include <cstdint>

#include "hop/transport/frame.h"
#include "hop/transport/link_control.h"

namespace {

struct Sink final : hop::transport::BlockSink {
  hop::core::Status on_block(hop::transport::BlockType type, hop::core::ByteView body) override {
    if (type == hop::transport::BlockType::kControl) (void)hop::transport::decode_link_control(body);
    bytes += body.size();
    return {};
  }
  std::size_t bytes = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hop;
  if (size == 0) return 0;
  core::crypto::Key32 key{};
  key[0] = 7;
  transport::FrameReader reader{transport::CipherState(key)};
  Sink sink;
  core::Bytes wire;
  if (data[0] % 2 == 0) {
    wire.assign(data + 1, data + size);
  } else {
    // Seal the rest as one frame's plaintext (at most the frame limit).
    const std::size_t len = std::min(size - 1, transport::kMaxFramePlaintext);
    wire.resize(2 + len + transport::kAeadTagSize);
    core::put_u16(wire.data(), static_cast<std::uint16_t>(len + transport::kAeadTagSize));
    std::copy(data + 1, data + 1 + len, wire.begin() + 2);
    transport::CipherState sealer(key);
    if (!sealer.seal({}, core::MutableByteView(wire.data() + 2, len + transport::kAeadTagSize))) return 0;
  }
  auto used = reader.consume(wire, sink);
  if (used && *used > wire.size()) __builtin_trap();
  return 0;
}
