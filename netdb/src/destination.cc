#include "hop/netdb/destination.h"

#include <algorithm>

#include "hop/core/encoding.h"
#include "hop/core/errors.h"
#include "hop/core/key_file.h"

namespace hop::netdb {
namespace {

constexpr std::string_view kHashLabel = "hopline-destination-v1";

constexpr core::KeyFileKind kDestinationKeyFile{
    .magic = "HOPDST01",
    .what = "destination key",
    .format = "Hopline destination key file",
    .missing_hint = " (check the path; a new key would give the service a new .hop address)",
    .corrupt_hint = " (restore it from a backup; a new key would give the service a new .hop address)",
};

bool is_address_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); }

core::Error not_an_address(std::string_view text, std::string_view why) {
  std::string shown(text.substr(0, 80));
  if (text.size() > shown.size()) shown += "...";
  return core::make_error(core::Errc::kInvalidArgument,
                          "'" + shown + "' is not a destination address (" + std::string(why) +
                              "; expected 52 characters of [a-z2-7], then .hop)");
}

}  // namespace

DestinationHash DestinationHash::of(const core::crypto::Key32& signing_key,
                                    const core::crypto::Key32& encryption_key) {
  DestinationHash h;
  core::crypto::Blake2b(core::crypto::kKeySize)
      .update(core::as_bytes(kHashLabel))
      .update(signing_key)
      .update(encryption_key)
      .finish(h.bytes);
  return h;
}

std::string DestinationHash::to_string() const { return core::to_base32(bytes); }

std::string DestinationHash::address() const { return to_string() + std::string(kAddressSuffix); }

std::string DestinationHash::short_string() const { return to_string().substr(0, 8); }

core::Result<DestinationHash> parse_address(std::string_view text) {
  if (text.size() != kDestinationHashChars + kAddressSuffix.size() || !text.ends_with(kAddressSuffix)) {
    return not_an_address(text, "wrong length or no .hop suffix");
  }
  const std::string_view name = text.substr(0, kDestinationHashChars);
  for (char c : name) {
    if (!is_address_char(c)) return not_an_address(text, "a character outside [a-z2-7]");
  }
  // from_base32 refuses non-zero trailing bits, so each hash has exactly one address.
  auto raw = core::from_base32(name);
  if (!raw || raw->size() != core::crypto::kKeySize) return not_an_address(text, "stray bits in the last character");
  DestinationHash h;
  std::copy(raw->begin(), raw->end(), h.bytes.begin());
  return h;
}

Destination::Destination(core::crypto::SigningKeypair signing, core::crypto::X25519Keypair encryption)
    : signing_(std::move(signing)), encryption_(std::move(encryption)) {
  public_.signing_key = signing_.public_key;
  public_.encryption_key = encryption_.public_key;
  hash_ = public_.hash();
}

Destination Destination::generate() {
  return Destination(core::crypto::SigningKeypair::generate(), core::crypto::X25519Keypair::generate());
}

Destination Destination::from_secrets(const core::crypto::Key32& signing_seed,
                                      const core::crypto::Key32& encryption_secret) {
  return Destination(core::crypto::SigningKeypair::from_seed(signing_seed),
                     core::crypto::X25519Keypair::from_secret(encryption_secret));
}

core::Result<Destination> Destination::load(const std::filesystem::path& path) {
  auto secrets = core::load_key_file(path, kDestinationKeyFile);
  if (!secrets) return secrets.error();
  return from_secrets(secrets->signing_seed.bytes(), secrets->x25519_secret.bytes());
}

core::Status Destination::save(const std::filesystem::path& path) const {
  return core::save_key_file(path, kDestinationKeyFile, {signing_.seed, encryption_.secret});
}

}  // namespace hop::netdb
