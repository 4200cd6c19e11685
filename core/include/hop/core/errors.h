// Error codes of the core module (category "hop.core").
#pragma once

#include <system_error>

namespace hop::core {

enum class Errc {
  kInvalidArgument = 1,  // malformed input from a user or a file
  kCorrupt,              // stored data fails its integrity checks
  kInsecurePermissions,  // a secret file is readable by others
  kIo,                   // an OS-level read/write failed
  kCrypto,               // a cryptographic operation failed (bad key, failed AEAD)
  kNotFound,
};

const std::error_category& core_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), core_category()}; }

}  // namespace hop::core

template <>
struct std::is_error_code_enum<hop::core::Errc> : std::true_type {};
