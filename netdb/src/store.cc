#include "hop/netdb/store.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>

#include "hop/netdb/constants.h"
#include "hop/netdb/errors.h"
#include "hop/netdb/profile_codec.h"
#include "hop/core/sqlite.h"
#include "wall_ms.h"

namespace hop::netdb {
namespace {

using core::sqlite::Database;
using core::sqlite::Statement;

constexpr int kOpenFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

// Per connection; the busy timeout lets an operator's sqlite3 shell hold a lock briefly, and an
// untrusted schema (someone else's file) may not run functions from views or triggers.
std::string connection_setup_sql() {
  const auto busy_ms = std::chrono::duration_cast<std::chrono::milliseconds>(kStoreBusyTimeout).count();
  return "PRAGMA busy_timeout = " + std::to_string(busy_ms) + "; PRAGMA trusted_schema = OFF;";
}

std::string create_schema_sql() {
  return "BEGIN IMMEDIATE;"
         "PRAGMA application_id = " + std::to_string(static_cast<std::int32_t>(kStoreApplicationId)) + ";"
         "CREATE TABLE routers(hash BLOB PRIMARY KEY NOT NULL CHECK(length(hash) = 32),"
         " wire BLOB NOT NULL, published_ms INTEGER NOT NULL) WITHOUT ROWID;"
         "CREATE TABLE profiles(hash BLOB PRIMARY KEY NOT NULL CHECK(length(hash) = 32),"
         " data BLOB NOT NULL) WITHOUT ROWID;"
         "CREATE TABLE bans(hash BLOB PRIMARY KEY NOT NULL CHECK(length(hash) = 32),"
         " reason TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL) WITHOUT ROWID;"
         "PRAGMA user_version = " + std::to_string(kStoreSchemaVersion) + ";"
         "COMMIT;";
}

// What the operator can do about a refused file (it is never changed by us).
constexpr std::string_view kDamagedAdvice =
    "move it aside to start with an empty NetDB (peers are relearned from the seeds), or restore a backup";
constexpr std::string_view kForeignAdvice =
    "it may belong to another program: use another data directory, or move the file aside";
constexpr std::string_view kNewerAdvice = "run a newer hopline, or move the file aside";

std::string hex32(std::int64_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(static_cast<std::uint32_t>(v)));
  return buf;
}

std::optional<core::RouterHash> hash_from(core::ByteView blob) {
  core::RouterHash h;
  if (blob.size() != h.bytes.size()) return std::nullopt;
  std::copy(blob.begin(), blob.end(), h.bytes.begin());
  return h;
}

// Steps a statement that returns no rows, then resets it; SQLITE_OK on success.
int run(Statement& s) {
  const int rc = s.step();
  s.reset();
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// Calls on_row(s) for each row, then resets; SQLITE_OK on success.
template <class OnRow>
int for_each_row(Statement& s, OnRow on_row) {
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) on_row(s);
  s.reset();
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

}  // namespace

struct NetDbStore::Impl {
  std::filesystem::path file;
  Database db;  // declared before the statements: finalized after them
  Statement put_router, remove_router, load_routers;
  Statement put_profile, load_profiles;
  Statement put_ban, remove_ban, load_bans;
  Statement begin, commit, rollback;

  // "NetDB file F <problem>" with the error code a problem of this kind has.
  core::Error open_error(int rc, const std::string& doing) const;
  core::Error refuse(const std::string& problem, std::string_view advice = kDamagedAdvice) const;
  core::Error runtime_error(int rc, const std::string& doing) const;
  core::Status setup();
  core::Status check_or_create();
  core::Status check_identity(std::int64_t application_id, std::int64_t version, std::int64_t tables);
  core::Status check_integrity();
  core::Status create_schema();
  core::Status enable_wal();
  core::Status prepare_all();
};

core::Error NetDbStore::Impl::open_error(int rc, const std::string& doing) const {
  const std::string f = "NetDB file " + file.string();
  const std::string why = " (" + doing + ": " + db.error() + ")";
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return refuse("is not a SQLite database or is damaged" + why);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return core::make_error(Errc::kStore, f + " is locked by another process" + why +
                                                "; stop the other hopline node that uses it");
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return core::make_error(Errc::kStore, f + " cannot be opened or written" + why +
                                                "; check that its directory exists and that the node's"
                                                " user may read and write the file and the directory");
    default:
      return core::make_error(Errc::kStore, f + " cannot be used" + why +
                                                "; check the disk (space, errors) and the file's permissions");
  }
}

core::Error NetDbStore::Impl::refuse(const std::string& problem, std::string_view advice) const {
  return core::make_error(Errc::kCorruptStore, "NetDB file " + file.string() + " " + problem +
                                                   "; the file was left untouched: " + std::string(advice));
}

core::Error NetDbStore::Impl::runtime_error(int rc, const std::string& doing) const {
  const int primary = rc & 0xff;
  const Errc code = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB ? Errc::kCorruptStore : Errc::kStore;
  return core::make_error(code, "NetDB file " + file.string() + ": " + doing + ": " + db.error());
}

core::Status NetDbStore::Impl::setup() {
  if (const int rc = db.open(file, kOpenFlags); rc != SQLITE_OK) return open_error(rc, "opening it");
  if (db.is_read_only()) {
    return core::make_error(Errc::kStore, "NetDB file " + file.string() +
                                              " is read-only for this user; give the node's user write"
                                              " permission on the file and its directory");
  }
  if (const int rc = db.exec(connection_setup_sql().c_str()); rc != SQLITE_OK) return open_error(rc, "setting it up");
  return check_or_create();
}

// Reads only the header and the schema table before deciding anything, so a file that is not
// ours is refused before a single byte of it is written.
core::Status NetDbStore::Impl::check_or_create() {
  std::int64_t application_id = 0, version = 0, tables = 0;
  int rc = db.query_int("PRAGMA application_id", application_id);
  if (rc == SQLITE_OK) rc = db.query_int("PRAGMA user_version", version);
  if (rc == SQLITE_OK) rc = db.query_int("SELECT count(*) FROM sqlite_schema", tables);
  if (rc != SQLITE_OK) return open_error(rc, "reading its header");
  if (application_id == 0 && version == 0 && tables == 0) {  // new, empty, or a creation cut short
    if (auto st = enable_wal(); !st) return st;
    return create_schema();
  }
  if (auto st = check_identity(application_id, version, tables); !st) return st;
  if (auto st = check_integrity(); !st) return st;
  return enable_wal();
}

core::Status NetDbStore::Impl::check_identity(std::int64_t application_id, std::int64_t version,
                                              std::int64_t tables) {
  if (application_id != static_cast<std::int32_t>(kStoreApplicationId)) {
    return refuse("is a SQLite database of another application (application_id " + hex32(application_id) +
                      ", tables: " + std::to_string(tables) + "), not a Hopline NetDB (application_id " +
                      hex32(kStoreApplicationId) + ")",
                  kForeignAdvice);
  }
  if (version > static_cast<std::int64_t>(kStoreSchemaVersion)) {
    return refuse("has schema version " + std::to_string(version) + ", newer than this hopline understands (" +
                      std::to_string(kStoreSchemaVersion) + ")",
                  kNewerAdvice);
  }
  if (version < 1) return refuse("has no schema version (an interrupted creation, or damage)");
  return {};
}

core::Status NetDbStore::Impl::check_integrity() {
  std::string verdict;
  if (const int rc = db.query_text("PRAGMA quick_check(1)", verdict); rc != SQLITE_OK) {
    return open_error(rc, "checking its integrity");
  }
  if (verdict != "ok") return refuse("is damaged (integrity check: " + verdict + ")");
  return {};
}

core::Status NetDbStore::Impl::create_schema() {
  if (const int rc = db.exec(create_schema_sql().c_str()); rc != SQLITE_OK) {
    const core::Error error = open_error(rc, "creating its tables");
    db.exec("ROLLBACK");
    return error;
  }
  return {};
}

core::Status NetDbStore::Impl::enable_wal() {
  std::string mode;
  if (const int rc = db.query_text("PRAGMA journal_mode = WAL", mode); rc != SQLITE_OK) {
    return open_error(rc, "switching it to WAL mode");
  }
  if (mode != "wal") return open_error(SQLITE_ERROR, "switching it to WAL mode (it stayed in " + mode + " mode)");
  // In WAL mode NORMAL cannot corrupt the file; a power loss may only lose the last commits.
  if (const int rc = db.exec("PRAGMA synchronous = NORMAL"); rc != SQLITE_OK) return open_error(rc, "setting it up");
  return {};
}

core::Status NetDbStore::Impl::prepare_all() {
  const std::pair<Statement*, std::string_view> statements[] = {
      {&put_router, "INSERT OR REPLACE INTO routers(hash, wire, published_ms) VALUES(?1, ?2, ?3)"},
      {&remove_router, "DELETE FROM routers WHERE hash = ?1"},
      {&load_routers, "SELECT hash, wire FROM routers"},
      {&put_profile, "INSERT OR REPLACE INTO profiles(hash, data) VALUES(?1, ?2)"},
      {&load_profiles, "SELECT hash, data FROM profiles"},
      {&put_ban, "INSERT OR REPLACE INTO bans(hash, reason, start_ms, end_ms) VALUES(?1, ?2, ?3, ?4)"},
      {&remove_ban, "DELETE FROM bans WHERE hash = ?1"},
      {&load_bans, "SELECT hash, reason, start_ms, end_ms FROM bans"},
      {&begin, "BEGIN IMMEDIATE"},
      {&commit, "COMMIT"},
      {&rollback, "ROLLBACK"},
  };
  for (const auto& [stmt, sql] : statements) {
    if (db.prepare(sql, *stmt) != SQLITE_OK) return refuse("lacks part of the NetDB schema (" + db.error() + ")");
  }
  return {};
}

NetDbStore::NetDbStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NetDbStore::~NetDbStore() = default;
NetDbStore::NetDbStore(NetDbStore&&) noexcept = default;
NetDbStore& NetDbStore::operator=(NetDbStore&&) noexcept = default;

core::Result<NetDbStore> NetDbStore::open(const std::filesystem::path& file) {
  auto impl = std::make_unique<Impl>();
  impl->file = file;
  if (auto st = impl->setup(); !st) return st.error();
  if (auto st = impl->prepare_all(); !st) return st.error();
  return NetDbStore(std::move(impl));
}

const std::filesystem::path& NetDbStore::file() const { return impl_->file; }

core::Status NetDbStore::put_router(const core::RouterHash& hash, core::ByteView wire, core::WallTime published) {
  Statement& s = impl_->put_router;
  s.bind(1, core::ByteView(hash.bytes));
  s.bind(2, wire);
  s.bind(3, to_wall_ms(published));
  if (const int rc = run(s); rc != SQLITE_OK) return impl_->runtime_error(rc, "storing a RouterInfo");
  return {};
}

core::Status NetDbStore::remove_router(const core::RouterHash& hash) {
  impl_->remove_router.bind(1, core::ByteView(hash.bytes));
  if (const int rc = run(impl_->remove_router); rc != SQLITE_OK) {
    return impl_->runtime_error(rc, "removing a RouterInfo");
  }
  return {};
}

core::Result<std::vector<StoredRouter>> NetDbStore::load_routers(std::size_t* skipped) {
  std::vector<StoredRouter> routers;
  std::size_t bad = 0;
  const int rc = for_each_row(impl_->load_routers, [&](const Statement& s) {
    const auto hash = hash_from(s.column_blob(0));
    const auto wire = s.column_blob(1);
    if (!hash || wire.size() > kMaxRouterInfoSize) {
      ++bad;
      return;
    }
    routers.push_back({*hash, core::Bytes(wire.begin(), wire.end())});
  });
  if (rc != SQLITE_OK) return impl_->runtime_error(rc, "loading RouterInfos");
  if (skipped) *skipped = bad;
  return routers;
}

core::Status NetDbStore::put_profile(const core::RouterHash& hash, const PeerProfile& profile) {
  const core::Bytes data = encode_profile(profile);
  impl_->put_profile.bind(1, core::ByteView(hash.bytes));
  impl_->put_profile.bind(2, data);
  if (const int rc = run(impl_->put_profile); rc != SQLITE_OK) return impl_->runtime_error(rc, "storing a profile");
  return {};
}

core::Result<Profiles> NetDbStore::load_profiles(std::size_t* skipped) {
  Profiles profiles;
  std::size_t bad = 0;
  const int rc = for_each_row(impl_->load_profiles, [&](const Statement& s) {
    const auto hash = hash_from(s.column_blob(0));
    auto profile = decode_profile(s.column_blob(1));
    if (!hash || !profile) {
      ++bad;
      return;
    }
    profiles.insert_or_assign(*hash, std::move(*profile));
  });
  if (rc != SQLITE_OK) return impl_->runtime_error(rc, "loading profiles");
  if (skipped) *skipped = bad;
  return profiles;
}

core::Status NetDbStore::put_ban(const core::RouterHash& hash, const Ban& ban) {
  Statement& s = impl_->put_ban;
  s.bind(1, core::ByteView(hash.bytes));
  s.bind(2, std::string_view(ban.reason));
  s.bind(3, to_wall_ms(ban.start));
  s.bind(4, to_wall_ms(ban.end));
  if (const int rc = run(s); rc != SQLITE_OK) return impl_->runtime_error(rc, "storing a ban");
  return {};
}

core::Status NetDbStore::remove_ban(const core::RouterHash& hash) {
  impl_->remove_ban.bind(1, core::ByteView(hash.bytes));
  if (const int rc = run(impl_->remove_ban); rc != SQLITE_OK) return impl_->runtime_error(rc, "removing a ban");
  return {};
}

core::Result<BanList> NetDbStore::load_bans(std::size_t* skipped) {
  BanList bans;
  std::size_t bad = 0;
  const int rc = for_each_row(impl_->load_bans, [&](const Statement& s) {
    const auto hash = hash_from(s.column_blob(0));
    const std::int64_t start = s.column_int64(2), end = s.column_int64(3);
    if (!hash || !is_valid_wall_ms(start) || !is_valid_wall_ms(end)) {
      ++bad;
      return;
    }
    bans.ban(*hash, {s.column_text(1), from_wall_ms(start), from_wall_ms(end)});
  });
  if (rc != SQLITE_OK) return impl_->runtime_error(rc, "loading bans");
  if (skipped) *skipped = bad;
  return bans;
}

core::Status NetDbStore::transaction(const std::function<core::Status()>& batch) {
  if (impl_->db.in_transaction()) {
    return core::make_error(Errc::kStore, "NetDB file " + impl_->file.string() + ": nested transaction");
  }
  if (const int rc = run(impl_->begin); rc != SQLITE_OK) return impl_->runtime_error(rc, "beginning a transaction");
  core::Status status = batch();
  if (status.ok()) {
    const int rc = run(impl_->commit);
    if (rc == SQLITE_OK) return status;
    status = impl_->runtime_error(rc, "committing a transaction");
  }
  // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY); never leave it so.
  if (impl_->db.in_transaction()) (void)run(impl_->rollback);
  return status;
}

}  // namespace hop::netdb
