// Where a node keeps its files inside its data directory (docs/operations.md, "Data directory").
#pragma once

#include <filesystem>

namespace hop::router {

inline std::filesystem::path identity_file(const std::filesystem::path& data_dir) {
  return data_dir / "identity.key";
}
// The SQLite NetDB (routers, profiles, bans); see docs/netdb.md.
inline std::filesystem::path netdb_file(const std::filesystem::path& data_dir) {
  return data_dir / "netdb.sqlite";
}

}  // namespace hop::router
