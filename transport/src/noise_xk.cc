#include "hop/transport/noise_xk.h"

#include <algorithm>
#include <cstring>

#include "hop/transport/constants.h"
#include "hop/transport/errors.h"

namespace hop::transport {
namespace crypto = core::crypto;
using core::Bytes;
using core::ByteView;

NoiseXk::NoiseXk(bool initiator, const crypto::X25519Keypair& local_static, ByteView prologue)
    : initiator_(initiator), local_static_(local_static) {
  // InitializeSymmetric: the name fits in HASHLEN, so h = name padded with zeros; ck = h.
  static_assert(kNoiseProtocolName.size() <= crypto::kHashSize);
  std::copy(kNoiseProtocolName.begin(), kNoiseProtocolName.end(), h_.begin());
  ck_ = h_;
  mix_hash(prologue);
}

NoiseXk::~NoiseXk() {
  crypto::secure_wipe(ck_);
  crypto::secure_wipe(h_);
}

NoiseXk NoiseXk::initiator(const crypto::X25519Keypair& local_static,
                           const crypto::Key32& remote_static, ByteView prologue) {
  NoiseXk n(true, local_static, prologue);
  n.remote_static_ = remote_static;
  n.mix_hash(remote_static);  // pre-message: <- s
  return n;
}

NoiseXk NoiseXk::responder(const crypto::X25519Keypair& local_static, ByteView prologue) {
  NoiseXk n(false, local_static, prologue);
  n.mix_hash(local_static.public_key);  // pre-message: <- s
  return n;
}

void NoiseXk::mix_hash(ByteView data) {
  crypto::Blake2b(crypto::kHashSize).update(h_).update(data).finish(h_);
}

void NoiseXk::mix_key(ByteView input_key_material) {
  auto out = crypto::noise_hkdf(ck_, input_key_material, 2);
  ck_ = out.first;
  crypto::Key32 k;
  std::memcpy(k.data(), out.second.data(), k.size());
  cipher_ = CipherState(k);
  crypto::secure_wipe(k);
  crypto::secure_wipe(out.first);
  crypto::secure_wipe(out.second);
}

core::Status NoiseXk::mix_dh(const crypto::SecretKey& ours, const crypto::Key32& theirs) {
  auto shared = crypto::x25519(ours, theirs);
  if (!shared) return core::make_error(Errc::kHandshakeFailed, "low-order public key");
  mix_key(shared->bytes());
  return {};
}

void NoiseXk::encrypt_and_hash(ByteView plaintext, Bytes& out) {
  Bytes ct = cipher_.encrypt_with_ad(h_, plaintext);
  mix_hash(ct);
  core::append(out, ct);
}

core::Result<Bytes> NoiseXk::decrypt_and_hash(ByteView ciphertext) {
  auto pt = cipher_.decrypt_with_ad(h_, ciphertext);
  if (!pt) return core::make_error(Errc::kHandshakeFailed, "handshake message " + std::to_string(step_ + 1));
  mix_hash(ciphertext);
  return pt;
}

core::Result<Bytes> NoiseXk::write_message(ByteView payload) {
  const bool my_turn = !failed_ && step_ < 3 && ((step_ % 2 == 0) == initiator_);
  if (!my_turn) return core::make_error(Errc::kMalformed, "not our turn to write a handshake message");
  Bytes out;
  if (step_ == 0 || step_ == 1) {
    // -> e, es   /   <- e, ee
    if (!ephemeral_) ephemeral_ = crypto::X25519Keypair::generate();
    mix_hash(ephemeral_->public_key);
    core::append(out, ephemeral_->public_key);
    const crypto::Key32& theirs = step_ == 0 ? *remote_static_ : *remote_ephemeral_;
    if (auto st = mix_dh(ephemeral_->secret, theirs); !st) {
      failed_ = true;
      return st.error();
    }
  } else {
    // -> s, se
    encrypt_and_hash(local_static_.public_key, out);
    if (auto st = mix_dh(local_static_.secret, *remote_ephemeral_); !st) {
      failed_ = true;
      return st.error();
    }
  }
  encrypt_and_hash(payload, out);
  ++step_;
  return out;
}

core::Result<Bytes> NoiseXk::read_message(ByteView message) {
  const bool their_turn = !failed_ && step_ < 3 && ((step_ % 2 == 0) != initiator_);
  if (!their_turn) return core::make_error(Errc::kMalformed, "not expecting a handshake message");
  failed_ = true;  // cleared on success
  ByteView rest = message;
  if (step_ == 0 || step_ == 1) {
    // e, es (responder reads)   /   e, ee (initiator reads)
    if (rest.size() < crypto::kKeySize + crypto::kTagSize) {
      return core::make_error(Errc::kBadLength, "handshake message too short");
    }
    crypto::Key32 re;
    std::memcpy(re.data(), rest.data(), re.size());
    remote_ephemeral_ = re;
    mix_hash(re);
    rest = rest.subspan(re.size());
    const crypto::SecretKey& ours = step_ == 0 ? local_static_.secret : ephemeral_->secret;
    if (auto st = mix_dh(ours, re); !st) return st.error();
  } else {
    // s, se
    constexpr std::size_t kSealedKey = crypto::kKeySize + crypto::kTagSize;
    if (rest.size() < kSealedKey + crypto::kTagSize) {
      return core::make_error(Errc::kBadLength, "handshake message too short");
    }
    auto rs = decrypt_and_hash(rest.first(kSealedKey));
    if (!rs) return rs.error();
    crypto::Key32 key;
    std::memcpy(key.data(), rs->data(), key.size());
    remote_static_ = key;
    rest = rest.subspan(kSealedKey);
    if (auto st = mix_dh(ephemeral_->secret, key); !st) return st.error();
  }
  auto payload = decrypt_and_hash(rest);
  if (!payload) return payload.error();
  failed_ = false;
  ++step_;
  return payload;
}

core::Result<TransportKeys> NoiseXk::split() {
  if (!is_complete()) return core::make_error(Errc::kMalformed, "split before the handshake completed");
  auto out = crypto::noise_hkdf(ck_, {}, 2);
  crypto::Key32 k1;
  crypto::Key32 k2;
  std::memcpy(k1.data(), out.first.data(), k1.size());
  std::memcpy(k2.data(), out.second.data(), k2.size());
  TransportKeys keys;
  keys.send = CipherState(initiator_ ? k1 : k2);
  keys.receive = CipherState(initiator_ ? k2 : k1);
  crypto::secure_wipe(k1);
  crypto::secure_wipe(k2);
  crypto::secure_wipe(out.first);
  crypto::secure_wipe(out.second);
  return keys;
}

}  // namespace hop::transport
