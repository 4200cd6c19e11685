// A responder link fed untrusted bytes in socket-like chunks: it must never crash, never read past
// what it was given, and never report an established link it did not authenticate.
#include <cstddef>
#include <cstdint>

#include "hop/transport/link_connection.h"

namespace {

struct NullHandler final : hop::transport::LinkConnection::Handler {
  void on_established() override { established = true; }
  void on_block(hop::transport::BlockType, hop::core::ByteView) override {}
  bool established = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hop;
  static const core::Identity identity = core::Identity::generate();
  transport::LinkSettings settings;
  auto link = transport::LinkConnection::inbound(identity, settings, core::TimePoint{});
  NullHandler handler;
  // The first byte picks a chunk size, so partial messages are exercised as a socket would.
  const std::size_t chunk = size > 0 ? 1 + data[0] % 64 : 1;
  core::Bytes buffer;
  for (std::size_t pos = size > 0 ? 1 : 0; pos < size; pos += chunk) {
    const std::size_t n = std::min(chunk, size - pos);
    buffer.insert(buffer.end(), data + pos, data + pos + n);
    auto used = link.on_receive(buffer, core::TimePoint{}, handler);
    if (!used) break;
    if (*used > buffer.size()) __builtin_trap();
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*used));
    core::Bytes out;
    link.take_output(out);
  }
  // Completing XK needs the initiator's static key and a certificate: random input cannot.
  if (handler.established) __builtin_trap();
  return 0;
}
