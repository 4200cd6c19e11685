// A node's identity: an Ed25519 signing key and an X25519 static key. Its router hash is
// BLAKE2b-256(ed25519_public || x25519_public). Thread-compatible (immutable after creation).
#pragma once

#include <compare>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "hop/core/crypto.h"
#include "hop/core/result.h"

namespace hop::core {

// 32-byte router hash; printable as 52 base32 characters.
struct RouterHash {
  crypto::Key32 bytes{};

  std::string to_string() const;
  std::string short_string() const;  // first 8 base32 characters, for logs
  static Result<RouterHash> parse(std::string_view text);
  static RouterHash of(const crypto::Key32& signing_public, const crypto::Key32& static_public);

  auto operator<=>(const RouterHash&) const = default;
};

struct RouterHashHasher {
  std::size_t operator()(const RouterHash& h) const noexcept {
    std::size_t v;
    std::memcpy(&v, h.bytes.data(), sizeof v);  // already uniformly distributed
    return v;
  }
};

// The public half of an identity plus its identity certificate: the Ed25519 signature over
// "hopline-identity-v1" || static_key, which binds the static key to the signing key.
struct PublicIdentity {
  crypto::Key32 signing_key{};
  crypto::Key32 static_key{};
  crypto::Signature certificate{};

  RouterHash hash() const { return RouterHash::of(signing_key, static_key); }
  bool verify() const;
};

class Identity {
 public:
  static constexpr std::size_t kFileSize = 8 + 32 + 32 + 32;  // magic, seeds, checksum

  static Identity generate();
  static Identity from_secrets(const crypto::Key32& signing_seed, const crypto::Key32& static_secret);

  // Loads a key file. Refuses one readable by group or others, of the wrong size, with a bad
  // magic or checksum; the error says what to do.
  static Result<Identity> load(const std::filesystem::path& path);
  // Writes the key file atomically with mode 0600.
  Status save(const std::filesystem::path& path) const;

  const RouterHash& hash() const { return hash_; }
  const crypto::X25519Keypair& static_keypair() const { return static_; }
  const crypto::SigningKeypair& signing_keypair() const { return signing_; }
  const PublicIdentity& public_identity() const { return public_; }
  crypto::Signature sign(ByteView message) const { return crypto::sign(signing_, message); }

 private:
  Identity(crypto::SigningKeypair signing, crypto::X25519Keypair statik);

  crypto::SigningKeypair signing_;
  crypto::X25519Keypair static_;
  PublicIdentity public_;
  RouterHash hash_;
};

}  // namespace hop::core

template <>
struct std::hash<hop::core::RouterHash> : hop::core::RouterHashHasher {};
