// Error codes of the tunnels module.
#pragma once

#include <system_error>

namespace hop::tunnels {

enum class Errc {
  kMalformed = 1,  // untrusted bytes that do not parse (a block, a cell, a record)
  kNotForUs,       // a build request with no slot for this router
  kBadRecord,      // our slot does not open or decode
  kIntegrity,      // a cell failed its end-to-end tag
  kReplay,         // a cell's sequence number was seen or is too old
  kTooLarge,       // a message over kMaxTunnelMessage
  kNoRoute,        // no usable hops, tunnel or peer
  kLimit,          // a configured limit is reached (streams per destination pair, ...)
};

const std::error_category& tunnels_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), tunnels_category()}; }

}  // namespace hop::tunnels

template <>
struct std::is_error_code_enum<hop::tunnels::Errc> : std::true_type {};
