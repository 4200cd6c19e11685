#include "hop/core/identity.h"

#include <cstring>

#include "hop/core/encoding.h"
#include "hop/core/errors.h"
#include "hop/core/key_file.h"

namespace hop::core {
namespace {

static_assert(Identity::kFileSize == kKeyFileSize);

constexpr KeyFileKind kIdentityKeyFile{
    .magic = "HOPKEY01",
    .what = "identity",
    .format = "Hopline key file",
    .missing_hint = " (create one with: hopline keygen --out DIR)",
    .corrupt_hint = " (restore it from a backup, or create a new identity with 'hopline keygen', which changes"
                    " the router hash)",
};
constexpr std::string_view kCertificateLabel = "hopline-identity-v1";

Bytes certificate_message(const crypto::Key32& static_key) {
  Bytes msg;
  msg.reserve(kCertificateLabel.size() + static_key.size());
  append(msg, as_bytes(kCertificateLabel));
  append(msg, static_key);
  return msg;
}

}  // namespace

std::string RouterHash::to_string() const { return to_base32(bytes); }

std::string RouterHash::short_string() const { return to_string().substr(0, 8); }

Result<RouterHash> RouterHash::parse(std::string_view text) {
  auto raw = from_base32(text);
  if (!raw || raw->size() != crypto::kKeySize) {
    return make_error(Errc::kInvalidArgument,
                      "router hash must be 52 base32 characters, got '" + std::string(text) + "'");
  }
  RouterHash h;
  std::memcpy(h.bytes.data(), raw->data(), h.bytes.size());
  return h;
}

RouterHash RouterHash::of(const crypto::Key32& signing_public, const crypto::Key32& static_public) {
  RouterHash h;
  crypto::Blake2b(crypto::kKeySize).update(signing_public).update(static_public).finish(h.bytes);
  return h;
}

bool PublicIdentity::verify() const {
  return crypto::verify(signing_key, certificate_message(static_key), certificate);
}

Identity::Identity(crypto::SigningKeypair signing, crypto::X25519Keypair statik)
    : signing_(std::move(signing)), static_(std::move(statik)) {
  public_.signing_key = signing_.public_key;
  public_.static_key = static_.public_key;
  public_.certificate = crypto::sign(signing_, certificate_message(static_.public_key));
  hash_ = public_.hash();
}

Identity Identity::generate() {
  return Identity(crypto::SigningKeypair::generate(), crypto::X25519Keypair::generate());
}

Identity Identity::from_secrets(const crypto::Key32& signing_seed,
                                const crypto::Key32& static_secret) {
  return Identity(crypto::SigningKeypair::from_seed(signing_seed),
                  crypto::X25519Keypair::from_secret(static_secret));
}

Result<Identity> Identity::load(const std::filesystem::path& path) {
  auto secrets = load_key_file(path, kIdentityKeyFile);
  if (!secrets) return secrets.error();
  return from_secrets(secrets->signing_seed.bytes(), secrets->x25519_secret.bytes());
}

Status Identity::save(const std::filesystem::path& path) const {
  return save_key_file(path, kIdentityKeyFile, {signing_.seed, static_.secret});
}

}  // namespace hop::core
