#include "hop/core/crypto.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "hop/core/errors.h"

namespace hop::core::crypto {
namespace {

// sodium_init is idempotent and thread-safe; a failure here means the platform cannot provide
// randomness, which no caller can recover from.
void ensure_sodium() {
  static const bool ready = [] { return sodium_init() >= 0; }();
  if (!ready) std::abort();
}

static_assert(sizeof(crypto_generichash_state) <= 384, "Blake2b::state_ too small");
static_assert(crypto_aead_chacha20poly1305_IETF_ABYTES == kTagSize);
static_assert(crypto_sign_SEEDBYTES == kKeySize);

crypto_generichash_state* as_state(std::uint8_t* p) {
  return reinterpret_cast<crypto_generichash_state*>(p);
}

struct ExpandedSigningKey {
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  ~ExpandedSigningKey() { sodium_memzero(sk, sizeof sk); }
};

}  // namespace

void secure_wipe(MutableByteView data) { sodium_memzero(data.data(), data.size()); }

void random_bytes(MutableByteView out) {
  ensure_sodium();
  randombytes_buf(out.data(), out.size());
}

std::uint64_t random_u64() {
  std::uint64_t v;
  random_bytes({reinterpret_cast<std::uint8_t*>(&v), sizeof v});
  return v;
}

std::uint32_t random_uniform(std::uint32_t upper) {
  ensure_sodium();
  return randombytes_uniform(upper);
}

X25519Keypair X25519Keypair::generate() {
  Key32 secret;
  random_bytes(secret);
  auto pair = from_secret(secret);
  secure_wipe(secret);
  return pair;
}

X25519Keypair X25519Keypair::from_secret(const Key32& secret) {
  ensure_sodium();
  X25519Keypair pair;
  pair.secret = SecretKey(secret);
  crypto_scalarmult_base(pair.public_key.data(), secret.data());
  return pair;
}

Result<SecretKey> x25519(const SecretKey& ours, const Key32& theirs) {
  ensure_sodium();
  SecretKey shared;
  if (crypto_scalarmult(shared.mutable_bytes().data(), ours.bytes().data(), theirs.data()) != 0) {
    return make_error(Errc::kCrypto, "X25519 with a low-order public key");
  }
  return shared;
}

SigningKeypair SigningKeypair::generate() {
  Key32 seed;
  random_bytes(seed);
  auto pair = from_seed(seed);
  secure_wipe(seed);
  return pair;
}

SigningKeypair SigningKeypair::from_seed(const Key32& seed) {
  ensure_sodium();
  SigningKeypair pair;
  pair.seed = SecretKey(seed);
  ExpandedSigningKey expanded;
  crypto_sign_seed_keypair(pair.public_key.data(), expanded.sk, seed.data());
  return pair;
}

Signature sign(const SigningKeypair& key, ByteView message) {
  ensure_sodium();
  ExpandedSigningKey expanded;
  Key32 public_key;
  crypto_sign_seed_keypair(public_key.data(), expanded.sk, key.seed.bytes().data());
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), expanded.sk);
  return sig;
}

bool verify(const Key32& public_key, ByteView message, const Signature& signature) {
  ensure_sodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

std::array<std::uint8_t, 12> noise_nonce(std::uint64_t counter) {
  std::array<std::uint8_t, 12> nonce{};
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
  return nonce;
}

void aead_seal(const Key32& key, std::uint64_t nonce, ByteView ad, ByteView plaintext,
               MutableByteView out) {
  ensure_sodium();
  if (out.size() != plaintext.size() + kTagSize) std::abort();  // programming error
  auto n = noise_nonce(nonce);
  unsigned long long out_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &out_len, plaintext.data(),
                                            plaintext.size(), ad.data(), ad.size(), nullptr,
                                            n.data(), key.data());
}

bool aead_open(const Key32& key, std::uint64_t nonce, ByteView ad, ByteView ciphertext,
               MutableByteView out) {
  ensure_sodium();
  if (ciphertext.size() < kTagSize || out.size() != ciphertext.size() - kTagSize) return false;
  auto n = noise_nonce(nonce);
  unsigned long long out_len = 0;
  return crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr,
                                                   ciphertext.data(), ciphertext.size(), ad.data(),
                                                   ad.size(), n.data(), key.data()) == 0;
}

Blake2b::Blake2b(std::size_t out_len) : out_len_(out_len) {
  ensure_sodium();
  crypto_generichash_init(as_state(state_), nullptr, 0, out_len_);
}

Blake2b::~Blake2b() { sodium_memzero(state_, sizeof state_); }

Blake2b& Blake2b::update(ByteView data) {
  crypto_generichash_update(as_state(state_), data.data(), data.size());
  return *this;
}

void Blake2b::finish(MutableByteView out) {
  if (out.size() != out_len_) std::abort();  // programming error
  crypto_generichash_final(as_state(state_), out.data(), out.size());
}

Hash64 blake2b_512(ByteView data) {
  Hash64 out;
  Blake2b(kHashSize).update(data).finish(out);
  return out;
}

Key32 blake2b_256(ByteView data) {
  Key32 out;
  Blake2b(kKeySize).update(data).finish(out);
  return out;
}

Hash64 hmac_blake2b(ByteView key, ByteView data) {
  // Keys longer than the block are hashed first (RFC 2104); Noise only uses 64-byte keys.
  std::array<std::uint8_t, kBlake2bBlockSize> block{};
  if (key.size() > block.size()) {
    Hash64 hashed = blake2b_512(key);
    std::memcpy(block.data(), hashed.data(), hashed.size());
  } else {
    std::memcpy(block.data(), key.data(), key.size());
  }
  std::array<std::uint8_t, kBlake2bBlockSize> pad;
  for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = block[i] ^ 0x36;
  Hash64 inner;
  Blake2b(kHashSize).update(pad).update(data).finish(inner);
  for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = block[i] ^ 0x5c;
  Hash64 outer;
  Blake2b(kHashSize).update(pad).update(inner).finish(outer);
  secure_wipe(block);
  secure_wipe(pad);
  secure_wipe(inner);
  return outer;
}

HkdfOutputs noise_hkdf(ByteView chaining_key, ByteView input_key_material, int outputs) {
  HkdfOutputs out{};
  Hash64 temp_key = hmac_blake2b(chaining_key, input_key_material);
  const std::uint8_t one = 0x01;
  out.first = hmac_blake2b(temp_key, {&one, 1});
  std::array<std::uint8_t, kHashSize + 1> buf;
  std::memcpy(buf.data(), out.first.data(), kHashSize);
  buf[kHashSize] = 0x02;
  out.second = hmac_blake2b(temp_key, buf);
  if (outputs == 3) {
    std::memcpy(buf.data(), out.second.data(), kHashSize);
    buf[kHashSize] = 0x03;
    out.third = hmac_blake2b(temp_key, buf);
  }
  secure_wipe(temp_key);
  secure_wipe(buf);
  return out;
}

void chacha20_xor(const Key32& key, const Nonce12& nonce, MutableByteView data, std::uint32_t counter) {
  ensure_sodium();
  // libsodium runs 8 blocks at once (AVX2) over whole 512-byte stretches but one block at a time
  // over the rest, so 1008 bytes (a cell body) take about twice as long as 1024. The tail goes
  // through a stack buffer padded to a whole stretch: the same bytes, on the fast path.
  constexpr std::size_t kBlock = 64;
  constexpr std::size_t kStretch = 8 * kBlock;
  const std::size_t head = data.size() - data.size() % kStretch;
  if (head > 0) crypto_stream_chacha20_ietf_xor_ic(data.data(), data.data(), head, nonce.data(), counter, key.data());
  const std::size_t rest = data.size() - head;
  if (rest == 0) return;
  if (rest < 2 * kBlock) {  // a short tail: the buffer would cost more than it saves
    crypto_stream_chacha20_ietf_xor_ic(data.data() + head, data.data() + head, rest, nonce.data(),
                                       counter + static_cast<std::uint32_t>(head / kBlock), key.data());
    return;
  }
  alignas(64) std::uint8_t tail[kStretch] = {};
  std::memcpy(tail, data.data() + head, rest);
  crypto_stream_chacha20_ietf_xor_ic(tail, tail, kStretch, nonce.data(), counter + static_cast<std::uint32_t>(head / kBlock),
                                     key.data());
  std::memcpy(data.data() + head, tail, rest);
  sodium_memzero(tail, sizeof tail);
}

static_assert(crypto_shorthash_siphash24_KEYBYTES == 16 && crypto_shorthash_siphash24_BYTES == 8);

std::uint64_t siphash24(const Key16& key, ByteView data) {
  ensure_sodium();
  unsigned char out[8];
  crypto_shorthash_siphash24(out, data.data(), data.size(), key.data());
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | out[i];  // little-endian, as the reference prints it
  return v;
}

void blake2b_keyed(ByteView key, ByteView data, MutableByteView out) {
  ensure_sodium();
  if (key.size() < crypto_generichash_KEYBYTES_MIN || key.size() > crypto_generichash_KEYBYTES_MAX ||
      out.size() < crypto_generichash_BYTES_MIN || out.size() > crypto_generichash_BYTES_MAX) {
    std::abort();  // a programming error: sizes are constants at every call site
  }
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), key.data(), key.size());
}

}  // namespace hop::core::crypto
