// Seed-line parsing (host:port:static-key) on untrusted text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hop/transport/link_layer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto contact = hop::transport::PeerContact::parse(text);
  if (contact) {
    // What parses prints back to something that parses to the same contact.
    auto again = hop::transport::PeerContact::parse(contact->to_string());
    if (!again || again->host != contact->host || again->port != contact->port ||
        again->static_key != contact->static_key) {
      __builtin_trap();
    }
  }
  (void)hop::transport::parse_host_port(text, true);
  return 0;
}
