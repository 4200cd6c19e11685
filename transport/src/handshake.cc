#include "hop/transport/handshake.h"

#include <cstring>

#include "hop/transport/constants.h"
#include "hop/transport/errors.h"

namespace hop::transport {
namespace {

constexpr std::size_t kMessageSizes[3] = {kHandshake1Size, kHandshake2Size, kHandshake3Size};

core::Bytes identity_payload(const core::PublicIdentity& id) {
  core::Bytes out(id.signing_key.begin(), id.signing_key.end());
  core::append(out, id.certificate);
  return out;
}

}  // namespace

core::Bytes link_prologue(std::uint32_t network_id) {
  core::Bytes p(kPrologueLabel.begin(), kPrologueLabel.end());
  p.resize(p.size() + 4);
  core::put_u32(p.data() + kPrologueLabel.size(), network_id);
  return p;
}

LinkHandshake LinkHandshake::initiator(const core::Identity& local, std::uint32_t network_id,
                                       const core::crypto::Key32& remote_static,
                                       std::optional<core::RouterHash> expected_peer) {
  return LinkHandshake(local,
                       NoiseXk::initiator(local.static_keypair(), remote_static,
                                          link_prologue(network_id)),
                       expected_peer);
}

LinkHandshake LinkHandshake::responder(const core::Identity& local, std::uint32_t network_id) {
  return LinkHandshake(local, NoiseXk::responder(local.static_keypair(), link_prologue(network_id)),
                       std::nullopt);
}

core::Status LinkHandshake::start(core::Bytes& out) {
  if (!noise_.is_initiator() || noise_.step() != 0) {
    return core::make_error(Errc::kMalformed, "start() is for a fresh initiator");
  }
  return write_next(out);
}

core::Status LinkHandshake::write_next(core::Bytes& out) {
  // Message 1 carries nothing; messages 2 and 3 carry the writer's identity.
  core::Bytes payload;
  if (noise_.step() > 0) payload = identity_payload(local_.public_identity());
  auto msg = noise_.write_message(payload);
  if (!msg) return msg.error();
  const std::size_t at = out.size();
  out.resize(at + kLengthPrefixSize);
  core::put_u16(out.data() + at, static_cast<std::uint16_t>(msg->size()));
  core::append(out, *msg);
  return {};
}

core::Status LinkHandshake::accept_identity(core::ByteView payload) {
  if (payload.size() != kIdentityPayloadSize) {
    return core::make_error(Errc::kMalformed, "identity payload of " + std::to_string(payload.size()) + " bytes");
  }
  core::PublicIdentity id;
  std::memcpy(id.signing_key.data(), payload.data(), 32);
  std::memcpy(id.certificate.data(), payload.data() + 32, 64);
  id.static_key = *noise_.remote_static();
  if (!id.verify()) return core::make_error(Errc::kBadIdentity);
  if (expected_peer_ && id.hash() != *expected_peer_) {
    return core::make_error(Errc::kUnexpectedPeer, "got " + id.hash().short_string() +
                                                       ", expected " + expected_peer_->short_string());
  }
  peer_ = id;
  return {};
}

core::Result<std::size_t> LinkHandshake::consume(core::ByteView data, core::Bytes& out) {
  if (noise_.is_complete()) return std::size_t{0};
  const int step = noise_.step();
  const bool our_turn = (step % 2 == 0) == noise_.is_initiator();
  if (our_turn) return core::make_error(Errc::kMalformed, "peer spoke out of turn");
  if (data.size() < kLengthPrefixSize) return std::size_t{0};
  const std::size_t len = core::get_u16(data.data());
  if (len != kMessageSizes[step]) {
    return core::make_error(Errc::kBadLength, "handshake message " + std::to_string(step + 1) +
                                                  " of " + std::to_string(len) + " bytes");
  }
  if (data.size() < kLengthPrefixSize + len) return std::size_t{0};
  auto payload = noise_.read_message(data.subspan(kLengthPrefixSize, len));
  if (!payload) return payload.error();
  if (step == 0 && !payload->empty()) return core::make_error(Errc::kMalformed, "message 1 payload");
  if (step > 0) {
    if (auto st = accept_identity(*payload); !st) return st.error();
  }
  if (!noise_.is_complete()) {
    if (auto st = write_next(out); !st) return st.error();
  }
  return kLengthPrefixSize + len;
}

core::Result<HandshakeOutcome> LinkHandshake::finish() {
  auto keys = noise_.split();
  if (!keys) return keys.error();
  if (!peer_) return core::make_error(Errc::kMalformed, "no peer identity");
  return HandshakeOutcome{*peer_, peer_->hash(), std::move(*keys)};
}

}  // namespace hop::transport
