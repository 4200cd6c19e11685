#include "hop/transport/errors.h"

#include <string>

namespace hop::transport {
namespace {

class TransportCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "hop.transport"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::kHandshakeFailed:
        return "handshake failed to authenticate (wrong static key or network id)";
      case Errc::kBadIdentity: return "peer identity certificate does not match its static key";
      case Errc::kUnexpectedPeer: return "peer is not the router we dialed";
      case Errc::kBadLength: return "length prefix out of range";
      case Errc::kDecryptFailed: return "frame failed authentication (tampered or replayed)";
      case Errc::kMalformed: return "malformed frame or block";
      case Errc::kNonceExhausted: return "nonce space exhausted";
      case Errc::kTimeout: return "timed out";
      case Errc::kLinkLimit: return "link limit reached";
      case Errc::kNoLink: return "no link to peer";
      case Errc::kBackpressure: return "send queue full";
      case Errc::kClosed: return "link closed";
      case Errc::kSelfDial: return "refusing to link to ourselves";
      case Errc::kNetwork: return "network error";
    }
    return "unknown transport error";
  }
};

}  // namespace

const std::error_category& transport_category() {
  static const TransportCategory category;
  return category;
}

}  // namespace hop::transport
