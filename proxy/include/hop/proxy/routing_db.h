// routing.db: the SQLite file an operator edits to say where the backends are and which client
// networks are placed where (docs/routing_db.md has the schema). init_routing_db() creates it,
// load_routing_db() reads it into a validated RoutingTable, RoutingDbWatcher says when to reload.
// The file is untrusted input: nothing in it can crash the proxy, and the loader never writes it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "hop/core/result.h"
#include "hop/proxy/routing_table.h"

namespace hop::proxy {

// "HopR": marks a file made by init_routing_db(); load_routing_db() does not require it, so
// operators may create the tables with their own tools.
inline constexpr std::int32_t kRoutingDbApplicationId = 0x486f7052;
inline constexpr std::int32_t kRoutingDbSchemaVersion = 1;  // PRAGMA user_version
// Far above any POP's backend count; bounds the memory an untrusted file can make us use.
inline constexpr std::size_t kMaxBackendRows = 4096;
// Room for a country-sized list of client networks, still a bounded load.
inline constexpr std::size_t kMaxOverrideRows = 65536;
// No valid field comes near this; longer text is a mistake (or an attack) and makes a row invalid.
inline constexpr std::size_t kMaxFieldBytes = 256;
// An operator's write transaction rarely holds a lock longer; a reload waits at most this long.
inline constexpr std::chrono::milliseconds kRoutingDbBusyTimeout{1000};

// Creates the routing.db schema (WAL mode, application_id, user_version 1) in a new file or in
// an empty SQLite database. A file with any table, a non-SQLite file or a directory is refused
// with Errc::kRoutingDb and left unchanged.
core::Status init_routing_db(const std::filesystem::path& path);

// Reads both tables in one read transaction (a consistent snapshot while an operator writes),
// through a read-only connection. Invalid rows are left out and listed in `skipped`. A missing,
// unreadable or damaged file, or a missing table or column, is Errc::kRoutingDb naming the
// file. table.version is 0: the caller numbers its loads.
core::Result<LoadedRouting> load_routing_db(const std::filesystem::path& path);

// Cheap change detection for hot reload: poll changed() (every ~250 ms), and load_routing_db()
// when it says true. Holds a read-only connection (PRAGMA data_version sees other connections'
// commits) and stats the path (a file replaced by rename, rewritten, deleted or recreated).
// Never fails: a missing or broken file is just another state. Thread affinity: one thread.
class RoutingDbWatcher {
 public:
  explicit RoutingDbWatcher(std::filesystem::path path);
  ~RoutingDbWatcher();
  RoutingDbWatcher(RoutingDbWatcher&&) noexcept;
  RoutingDbWatcher& operator=(RoutingDbWatcher&&) noexcept;

  // True on the first call and whenever the file may have changed since the last call (a commit,
  // a replacement, the file vanishing or coming back). Each change is reported once: if the
  // load it triggers fails, the caller retries on its own.
  bool changed();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hop::proxy
