// The only entry points to libsodium. Every other module calls these, never sodium directly.
// All functions are thread-safe; libsodium is initialised on first use.
#pragma once

#include <array>
#include <cstdint>

#include "hop/core/bytes.h"
#include "hop/core/result.h"

namespace hop::core::crypto {

inline constexpr std::size_t kKeySize = 32;       // X25519 keys, ChaCha20 keys, Ed25519 public keys
inline constexpr std::size_t kSignatureSize = 64;  // Ed25519
inline constexpr std::size_t kTagSize = 16;        // Poly1305
inline constexpr std::size_t kHashSize = 64;       // BLAKE2b-512, Noise HASHLEN
inline constexpr std::size_t kBlake2bBlockSize = 128;

using Key32 = std::array<std::uint8_t, kKeySize>;
using Hash64 = std::array<std::uint8_t, kHashSize>;
using Signature = std::array<std::uint8_t, kSignatureSize>;

// Overwrites memory so that the compiler cannot elide it.
void secure_wipe(MutableByteView data);

// A 32-byte secret that is wiped when destroyed or overwritten.
class SecretKey {
 public:
  SecretKey() { bytes_.fill(0); }
  explicit SecretKey(const Key32& bytes) : bytes_(bytes) {}
  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  ~SecretKey() { secure_wipe(bytes_); }

  const Key32& bytes() const { return bytes_; }
  Key32& mutable_bytes() { return bytes_; }

 private:
  Key32 bytes_;
};

void random_bytes(MutableByteView out);
std::uint64_t random_u64();
// Uniform in [0, upper) without modulo bias; upper must be > 0.
std::uint32_t random_uniform(std::uint32_t upper);

// --- X25519 ---
struct X25519Keypair {
  SecretKey secret;
  Key32 public_key;

  static X25519Keypair generate();
  static X25519Keypair from_secret(const Key32& secret);
};
// Diffie-Hellman; fails on a low-order peer key (all-zero shared secret).
Result<SecretKey> x25519(const SecretKey& ours, const Key32& theirs);

// --- Ed25519 ---
struct SigningKeypair {
  SecretKey seed;  // the 32-byte seed; the expanded key is derived on use
  Key32 public_key;

  static SigningKeypair generate();
  static SigningKeypair from_seed(const Key32& seed);
};
Signature sign(const SigningKeypair& key, ByteView message);
bool verify(const Key32& public_key, ByteView message, const Signature& signature);

// --- ChaCha20-Poly1305 (IETF, 96-bit nonce) ---
// Nonce as Noise builds it: 32 zero bits then the 64-bit counter little-endian.
std::array<std::uint8_t, 12> noise_nonce(std::uint64_t counter);

// Encrypts `plaintext` into `out` (size plaintext.size() + kTagSize). `out` may alias plaintext.
void aead_seal(const Key32& key, std::uint64_t nonce, ByteView ad, ByteView plaintext,
               MutableByteView out);
// Decrypts `ciphertext` into `out` (size ciphertext.size() - kTagSize); false if the tag fails.
// `out` may alias ciphertext.
[[nodiscard]] bool aead_open(const Key32& key, std::uint64_t nonce, ByteView ad,
                             ByteView ciphertext, MutableByteView out);

// --- ChaCha20 (IETF, 96-bit nonce), unauthenticated: tunnel layers only ---
using Nonce12 = std::array<std::uint8_t, 12>;
// XORs `data` in place with the ChaCha20 keystream of (key, nonce), starting at block `counter`.
void chacha20_xor(const Key32& key, const Nonce12& nonce, MutableByteView data, std::uint32_t counter = 0);

// --- SipHash-2-4: a fast PRF for short inputs (the tunnel nonce permutation's round function) ---
using Key16 = std::array<std::uint8_t, 16>;
std::uint64_t siphash24(const Key16& key, ByteView data);

// --- BLAKE2b ---
// Incremental BLAKE2b with an output of 1..64 bytes (unkeyed).
class Blake2b {
 public:
  explicit Blake2b(std::size_t out_len = kHashSize);
  ~Blake2b();
  Blake2b(const Blake2b&) = delete;
  Blake2b& operator=(const Blake2b&) = delete;
  Blake2b& update(ByteView data);
  void finish(MutableByteView out);  // out.size() == out_len

 private:
  alignas(64) std::uint8_t state_[384];  // crypto_generichash_state, opaque here
  std::size_t out_len_;
};

Hash64 blake2b_512(ByteView data);
// Keyed BLAKE2b (key 16..64 bytes) with an output of out.size() (1..64) bytes.
void blake2b_keyed(ByteView key, ByteView data, MutableByteView out);
Key32 blake2b_256(ByteView data);

// HMAC (RFC 2104) over BLAKE2b-512, as Noise defines HMAC-HASH.
Hash64 hmac_blake2b(ByteView key, ByteView data);

// Noise HKDF(chaining_key, input_key_material, n) with n = 2 or 3 outputs of HASHLEN bytes.
struct HkdfOutputs {
  Hash64 first;
  Hash64 second;
  Hash64 third;  // only filled when three outputs were asked for
};
HkdfOutputs noise_hkdf(ByteView chaining_key, ByteView input_key_material, int outputs);

}  // namespace hop::core::crypto
