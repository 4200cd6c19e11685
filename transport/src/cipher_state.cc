#include "hop/transport/cipher_state.h"

#include <array>
#include <cstring>
#include <limits>

#include "hop/transport/errors.h"

namespace hop::transport {
namespace crypto = core::crypto;

namespace {
constexpr std::uint64_t kReservedNonce = std::numeric_limits<std::uint64_t>::max();
}

core::Status CipherState::seal(core::ByteView ad, core::MutableByteView buf) {
  if (!has_key_) return {};
  if (nonce_ == kReservedNonce) return core::make_error(Errc::kNonceExhausted);
  const std::size_t plaintext_len = buf.size() - crypto::kTagSize;
  crypto::aead_seal(key_.bytes(), nonce_, ad, buf.first(plaintext_len), buf);
  ++nonce_;
  return {};
}

core::Status CipherState::open(core::ByteView ad, core::MutableByteView buf) {
  if (!has_key_) return {};
  if (nonce_ == kReservedNonce) return core::make_error(Errc::kNonceExhausted);
  if (buf.size() < crypto::kTagSize) return core::make_error(Errc::kMalformed, "ciphertext shorter than its tag");
  if (!crypto::aead_open(key_.bytes(), nonce_, ad, buf, buf.first(buf.size() - crypto::kTagSize))) {
    return core::make_error(Errc::kDecryptFailed);
  }
  ++nonce_;
  return {};
}

core::Bytes CipherState::encrypt_with_ad(core::ByteView ad, core::ByteView plaintext) {
  core::Bytes out(plaintext.begin(), plaintext.end());
  if (!has_key_) return out;
  out.resize(plaintext.size() + crypto::kTagSize);
  (void)seal(ad, out);  // only fails at nonce 2^64-1, which a handshake never reaches
  return out;
}

core::Result<core::Bytes> CipherState::decrypt_with_ad(core::ByteView ad,
                                                      core::ByteView ciphertext) {
  core::Bytes out(ciphertext.begin(), ciphertext.end());
  if (!has_key_) return out;
  if (auto st = open(ad, out); !st) return st.error();
  out.resize(out.size() - crypto::kTagSize);
  return out;
}

void CipherState::rekey() {
  std::array<std::uint8_t, crypto::kKeySize + crypto::kTagSize> buf{};
  crypto::aead_seal(key_.bytes(), kReservedNonce, {},
                    core::ByteView(buf.data(), crypto::kKeySize), buf);
  std::memcpy(key_.mutable_bytes().data(), buf.data(), crypto::kKeySize);
  crypto::secure_wipe(buf);
}

}  // namespace hop::transport
