// Noise CipherState: a ChaCha20-Poly1305 key and a 64-bit counter nonce. Sans-I/O.
#pragma once

#include <cstdint>

#include "hop/core/bytes.h"
#include "hop/core/crypto.h"
#include "hop/core/result.h"

namespace hop::transport {

class CipherState {
 public:
  CipherState() = default;
  explicit CipherState(const core::crypto::Key32& key) : key_(key), has_key_(true) {}

  bool has_key() const { return has_key_; }
  std::uint64_t nonce() const { return nonce_; }

  // Encrypts buf[0, plaintext_len) in place; buf must hold plaintext_len + 16 bytes.
  // Without a key the bytes are left as they are (Noise: no encryption before the first DH).
  core::Status seal(core::ByteView ad, core::MutableByteView buf);
  // Decrypts buf in place (plaintext is buf[0, size - 16)); the nonce advances only on success.
  core::Status open(core::ByteView ad, core::MutableByteView buf);

  core::Bytes encrypt_with_ad(core::ByteView ad, core::ByteView plaintext);
  core::Result<core::Bytes> decrypt_with_ad(core::ByteView ad, core::ByteView ciphertext);

  // Noise Rekey(): k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes). n is kept.
  void rekey();

 private:
  core::crypto::SecretKey key_;
  std::uint64_t nonce_ = 0;
  bool has_key_ = false;
};

}  // namespace hop::transport
