// Error codes of the transport module (category "hop.transport").
#pragma once

#include <system_error>

namespace hop::transport {

enum class Errc {
  kHandshakeFailed = 1,  // a handshake message failed to authenticate (wrong key or network id)
  kBadIdentity,          // the peer's identity certificate does not match its static key
  kUnexpectedPeer,       // the peer's router hash is not the one we dialed
  kBadLength,            // a length prefix outside the allowed range
  kDecryptFailed,        // a frame failed AEAD: tampered, replayed or reordered
  kMalformed,            // a frame or block that does not parse
  kNonceExhausted,       // 2^64-1 frames sent; the link must be replaced
  kTimeout,
  kLinkLimit,            // the soft or hard link limit refuses this link
  kNoLink,
  kBackpressure,         // the link's send queue is full
  kClosed,
  kSelfDial,
  kNetwork,              // socket-level failure
};

const std::error_category& transport_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), transport_category()}; }

}  // namespace hop::transport

template <>
struct std::is_error_code_enum<hop::transport::Errc> : std::true_type {};
