// Error codes of the netdb module (category "hop.netdb").
#pragma once

#include <system_error>

namespace hop::netdb {

enum class Errc {
  kRefused = 1,   // an untrusted record failed verification (the context names the Refusal)
  kStore,         // the SQLite store failed
  kCorruptStore,  // the database file is damaged or not ours; never deleted
  kNotFound,
};

const std::error_category& netdb_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), netdb_category()}; }

}  // namespace hop::netdb

template <>
struct std::is_error_code_enum<hop::netdb::Errc> : std::true_type {};
