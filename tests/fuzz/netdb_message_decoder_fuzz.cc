// NetDB message decoding on untrusted bytes, and a NetDb service fed the decoded messages.
#include <cstddef>
#include <cstdint>

#include "hop/netdb/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hop;
  auto msg = netdb::decode_netdb_message(core::ByteView(data, size));
  if (msg) {
    // What decodes must encode and decode again to the same kind.
    auto again = netdb::decode_netdb_message(netdb::encode_netdb_message(*msg));
    if (!again || again->index() != msg->index()) __builtin_trap();
  }
  return 0;
}
