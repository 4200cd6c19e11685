// RAII owners of a SQLite connection and its prepared statements, with the few calls
// the stores make. Used by the stores of netdb and proxy; their public headers never show sqlite3 types.
// Thread affinity: the thread of the store that owns them.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "hop/core/bytes.h"

namespace hop::core::sqlite {

class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    std::swap(stmt_, other.stmt_);
    return *this;
  }

  // Bound values are not copied: they must outlive the step() calls before reset().
  void bind(int index, core::ByteView blob);
  void bind(int index, std::int64_t value);
  void bind(int index, std::string_view text);
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  // Ready for the next use: no pending row, no bindings.
  void reset();
  core::ByteView column_blob(int column) const;
  std::int64_t column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string column_text(int column) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  Database() = default;
  ~Database() { sqlite3_close_v2(db_); }
  Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Database& operator=(Database&& other) noexcept {
    std::swap(db_, other.db_);
    return *this;
  }

  // Opens `path` with sqlite3_open_v2 `flags`; returns its result code. On failure error()
  // still explains it.
  int open(const std::filesystem::path& path, int flags);
  // Runs SQL that returns no rows.
  int exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }
  int prepare(std::string_view sql, Statement& out);
  // The first column of the first row of `sql` as an integer, or an error code (rc != SQLITE_OK).
  int query_int(const char* sql, std::int64_t& out);
  // The first column of the first row of `sql` as text.
  int query_text(const char* sql, std::string& out);
  bool is_read_only() const { return sqlite3_db_readonly(db_, "main") == 1; }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // SQLite's message for the last failure, with the OS error if there was one.
  std::string error() const;

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace hop::core::sqlite
