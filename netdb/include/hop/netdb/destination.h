// A destination: a service identity reachable through its inbound tunnels. An Ed25519 key signs
// its LeaseSets; an X25519 key receives end-to-end sessions. Its name is the destination hash,
// printed as "<52 base32 characters>.hop". docs/netdb.md, "LeaseSets and destinations".
// Thread-compatible: immutable after creation.
#pragma once

#include <compare>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "hop/core/crypto.h"
#include "hop/core/result.h"

namespace hop::netdb {

// Printable destination hashes are 52 base32 characters; an address adds ".hop".
inline constexpr std::size_t kDestinationHashChars = 52;
inline constexpr std::string_view kAddressSuffix = ".hop";

// BLAKE2b-256("hopline-destination-v1" || signing_key || encryption_key). The label keeps it
// apart from router hashes, which hash the same kind of keys without one.
struct DestinationHash {
  core::crypto::Key32 bytes{};

  static DestinationHash of(const core::crypto::Key32& signing_key, const core::crypto::Key32& encryption_key);
  std::string to_string() const;     // 52 lowercase base32 characters
  std::string address() const;       // to_string() + ".hop"
  std::string short_string() const;  // first 8 base32 characters, for logs

  auto operator<=>(const DestinationHash&) const = default;
};

// Accepts exactly what DestinationHash::address() prints: 52 characters of [a-z2-7] whose last
// one carries no stray bits, then ".hop". Anything else (upper case, padding, spaces, a router
// hash without the suffix) is refused with kInvalidArgument and the reason.
core::Result<DestinationHash> parse_address(std::string_view text);

// The public half, as a LeaseSet carries it.
struct DestinationKeys {
  core::crypto::Key32 signing_key{};     // Ed25519
  core::crypto::Key32 encryption_key{};  // X25519

  DestinationHash hash() const { return DestinationHash::of(signing_key, encryption_key); }
  bool operator==(const DestinationKeys&) const = default;
};

class Destination {
 public:
  static Destination generate();
  static Destination from_secrets(const core::crypto::Key32& signing_seed,
                                  const core::crypto::Key32& encryption_secret);

  // Loads a destination key file (magic "HOPDST01", otherwise the layout of identity.key).
  // Refuses a file readable by group or others, of the wrong size, another magic (a node's
  // identity.key included) or a bad checksum; the error says what to do. Never modifies it.
  static core::Result<Destination> load(const std::filesystem::path& path);
  // Writes the key file atomically with mode 0600.
  core::Status save(const std::filesystem::path& path) const;

  const DestinationKeys& public_keys() const { return public_; }
  const DestinationHash& hash() const { return hash_; }
  std::string address() const { return hash_.address(); }
  const core::crypto::X25519Keypair& encryption_keypair() const { return encryption_; }
  core::crypto::Signature sign(core::ByteView message) const { return core::crypto::sign(signing_, message); }

 private:
  Destination(core::crypto::SigningKeypair signing, core::crypto::X25519Keypair encryption);

  core::crypto::SigningKeypair signing_;
  core::crypto::X25519Keypair encryption_;
  DestinationKeys public_;
  DestinationHash hash_;
};

}  // namespace hop::netdb

template <>
struct std::hash<hop::netdb::DestinationHash> {
  std::size_t operator()(const hop::netdb::DestinationHash& h) const noexcept {
    std::size_t v;
    std::memcpy(&v, h.bytes.data(), sizeof v);  // already uniformly distributed
    return v;
  }
};
