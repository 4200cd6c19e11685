// The key file format shared by node identities and destinations: an 8-byte magic, two 32-byte
// secrets and a checksum, written atomically with mode 0600 (docs/protocol.md, "Identity key file").
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

#include "hop/core/crypto.h"
#include "hop/core/result.h"

namespace hop::core {

// What a key file holds and how its errors name it. All views point at static strings.
struct KeyFileKind {
  std::string_view magic;         // exactly kKeyFileMagicSize ASCII bytes, e.g. "HOPKEY01"
  std::string_view what;          // "identity": errors say "identity file PATH ..." and "loading identity"
  std::string_view format;        // "Hopline key file": a foreign file "is not a <format>"
  std::string_view missing_hint;  // appended when the file cannot be read, e.g. how to create one
  std::string_view corrupt_hint;  // appended when the file is foreign or damaged
};

inline constexpr std::size_t kKeyFileMagicSize = 8;
inline constexpr std::size_t kKeyFileSize = kKeyFileMagicSize + 32 + 32 + 32;  // magic, secrets, checksum

// The two secrets of a key file: an Ed25519 seed and an X25519 secret key (unclamped).
struct KeyFileSecrets {
  crypto::SecretKey signing_seed;
  crypto::SecretKey x25519_secret;
};

// Reads a key file of `kind`. Refuses, with what to do: a file readable or writable by group or
// others, a size other than kKeyFileSize, another magic, a bad checksum. Never modifies the file.
Result<KeyFileSecrets> load_key_file(const std::filesystem::path& path, const KeyFileKind& kind);
// Writes a key file of `kind` atomically with mode exactly 0600 (atomic_write_file).
Status save_key_file(const std::filesystem::path& path, const KeyFileKind& kind, const KeyFileSecrets& secrets);

}  // namespace hop::core
