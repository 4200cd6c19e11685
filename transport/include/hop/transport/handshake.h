// The Hopline link handshake: Noise XK with the prologue "hopline/link/v1" || network id, each
// message behind a 2-byte length, and the identities (Ed25519 key + certificate) exchanged in the
// encrypted payloads of messages 2 and 3. Sans-I/O; see docs/protocol.md.
#pragma once

#include <cstdint>
#include <optional>

#include "hop/core/identity.h"
#include "hop/transport/noise_xk.h"

namespace hop::transport {

struct HandshakeOutcome {
  core::PublicIdentity peer;
  core::RouterHash peer_hash;
  TransportKeys keys;
};

class LinkHandshake {
 public:
  // `expected_peer`, when known (from a RouterInfo), must match the responder's router hash.
  static LinkHandshake initiator(const core::Identity& local, std::uint32_t network_id,
                                 const core::crypto::Key32& remote_static,
                                 std::optional<core::RouterHash> expected_peer = std::nullopt);
  static LinkHandshake responder(const core::Identity& local, std::uint32_t network_id);

  // Initiator only: appends message 1 to `out`.
  core::Status start(core::Bytes& out);
  // Consumes the bytes of at most one handshake message from the front of `data` and returns how
  // many it used (0 when the message is incomplete). Appends our reply, if any, to `out`.
  // A wrong length prefix fails before the message body is read.
  core::Result<std::size_t> consume(core::ByteView data, core::Bytes& out);
  bool is_complete() const { return noise_.is_complete(); }
  // After completion: the peer and the transport keys (moved out; call once).
  core::Result<HandshakeOutcome> finish();

  // For tests: fixes the ephemeral key.
  NoiseXk& noise() { return noise_; }

 private:
  LinkHandshake(const core::Identity& local, NoiseXk noise, std::optional<core::RouterHash> expected)
      : local_(local), noise_(std::move(noise)), expected_peer_(expected) {}
  core::Status write_next(core::Bytes& out);
  core::Status accept_identity(core::ByteView payload);

  const core::Identity& local_;
  NoiseXk noise_;
  std::optional<core::RouterHash> expected_peer_;
  std::optional<core::PublicIdentity> peer_;
};

// Prologue bytes for a network id.
core::Bytes link_prologue(std::uint32_t network_id);

}  // namespace hop::transport
