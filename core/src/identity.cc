#include "hop/core/identity.h"

#include <sys/stat.h>

#include <cstring>

#include "hop/core/encoding.h"
#include "hop/core/errors.h"
#include "hop/core/files.h"

namespace hop::core {
namespace {

constexpr std::string_view kFileMagic = "HOPKEY01";
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
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(std::error_code(errno, std::generic_category()),
                      "identity file " + path.string() +
                          " cannot be read (create one with: hopline keygen --out DIR)");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(Errc::kInsecurePermissions,
                      "identity file " + path.string() + " has mode " + mode +
                          " and is readable by other users; run: chmod 600 " + path.string());
  }
  auto data = read_file(path, kFileSize);
  if (!data) return data.error().wrap("loading identity");
  const std::string corrupt_hint =
      " (restore it from a backup, or create a new identity with 'hopline keygen', which changes"
      " the router hash)";
  if (data->size() != kFileSize ||
      std::memcmp(data->data(), kFileMagic.data(), kFileMagic.size()) != 0) {
    return make_error(Errc::kCorrupt,
                      "identity file " + path.string() + " is not a Hopline key file" + corrupt_hint);
  }
  const ByteView body(data->data(), kFileSize - 32);
  const crypto::Key32 expected = crypto::blake2b_256(body);
  if (std::memcmp(expected.data(), data->data() + kFileSize - 32, 32) != 0) {
    crypto::secure_wipe(*data);
    return make_error(Errc::kCorrupt,
                      "identity file " + path.string() + " fails its checksum" + corrupt_hint);
  }
  crypto::Key32 seed;
  crypto::Key32 secret;
  std::memcpy(seed.data(), data->data() + 8, 32);
  std::memcpy(secret.data(), data->data() + 40, 32);
  Identity id = from_secrets(seed, secret);
  crypto::secure_wipe(seed);
  crypto::secure_wipe(secret);
  crypto::secure_wipe(*data);
  return id;
}

Status Identity::save(const std::filesystem::path& path) const {
  Bytes data(kFileMagic.begin(), kFileMagic.end());
  append(data, signing_.seed.bytes());
  append(data, static_.secret.bytes());
  const crypto::Key32 sum = crypto::blake2b_256(data);
  append(data, sum);
  Status st = atomic_write_file(path, data, 0600);
  crypto::secure_wipe(data);
  if (!st) return st.error().wrap("saving identity");
  return {};
}

}  // namespace hop::core
