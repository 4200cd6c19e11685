#include "hop/core/key_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "hop/core/errors.h"
#include "hop/core/files.h"

namespace hop::core {
namespace {

constexpr std::size_t kChecksumOffset = kKeyFileSize - crypto::kKeySize;

std::string file_name(const KeyFileKind& kind, const std::filesystem::path& path) {
  return std::string(kind.what) + " file " + path.string();
}

// Secrets must not be readable by anyone else: refuse before reading a byte of them.
Status check_private(const std::filesystem::path& path, const KeyFileKind& kind) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(std::error_code(errno, std::generic_category()),
                      file_name(kind, path) + " cannot be read" + std::string(kind.missing_hint));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(Errc::kInsecurePermissions,
                      file_name(kind, path) + " has mode " + mode +
                          " and is readable by other users; run: chmod 600 " + path.string());
  }
  return {};
}

}  // namespace

Result<KeyFileSecrets> load_key_file(const std::filesystem::path& path, const KeyFileKind& kind) {
  if (Status st = check_private(path, kind); !st) return st.error();
  auto data = read_file(path, kKeyFileSize);
  if (!data) return data.error().wrap("loading " + std::string(kind.what));
  if (data->size() != kKeyFileSize || kind.magic.size() != kKeyFileMagicSize ||
      std::memcmp(data->data(), kind.magic.data(), kKeyFileMagicSize) != 0) {
    crypto::secure_wipe(*data);
    return make_error(Errc::kCorrupt, file_name(kind, path) + " is not a " + std::string(kind.format) +
                                          std::string(kind.corrupt_hint));
  }
  const crypto::Key32 expected = crypto::blake2b_256(ByteView(data->data(), kChecksumOffset));
  if (std::memcmp(expected.data(), data->data() + kChecksumOffset, crypto::kKeySize) != 0) {
    crypto::secure_wipe(*data);
    return make_error(Errc::kCorrupt, file_name(kind, path) + " fails its checksum" + std::string(kind.corrupt_hint));
  }
  KeyFileSecrets secrets;
  std::memcpy(secrets.signing_seed.mutable_bytes().data(), data->data() + kKeyFileMagicSize, crypto::kKeySize);
  std::memcpy(secrets.x25519_secret.mutable_bytes().data(), data->data() + kKeyFileMagicSize + crypto::kKeySize,
              crypto::kKeySize);
  crypto::secure_wipe(*data);
  return secrets;
}

Status save_key_file(const std::filesystem::path& path, const KeyFileKind& kind, const KeyFileSecrets& secrets) {
  if (kind.magic.size() != kKeyFileMagicSize) {
    return make_error(Errc::kInvalidArgument, "key file magic must be 8 bytes");
  }
  Bytes data(kind.magic.begin(), kind.magic.end());
  append(data, secrets.signing_seed.bytes());
  append(data, secrets.x25519_secret.bytes());
  const crypto::Key32 sum = crypto::blake2b_256(data);
  append(data, sum);
  Status st = atomic_write_file(path, data, 0600);
  crypto::secure_wipe(data);
  if (!st) return st.error().wrap("saving " + std::string(kind.what));
  return {};
}

}  // namespace hop::core
