#include "hop/core/sqlite.h"

#include <system_error>

namespace hop::core::sqlite {

void Statement::bind(int index, core::ByteView blob) {
  // A null pointer would bind NULL, not an empty blob.
  static constexpr std::uint8_t kEmpty = 0;
  const void* data = blob.empty() ? &kEmpty : blob.data();
  sqlite3_bind_blob64(stmt_, index, data, blob.size(), SQLITE_STATIC);
}

void Statement::bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }

void Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

core::ByteView Statement::column_blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  return data == nullptr ? core::ByteView{} : core::ByteView(data, size);
}

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  return text == nullptr ? std::string{} : std::string(reinterpret_cast<const char*>(text), size);
}

int Database::open(const std::filesystem::path& path, int flags) {
  sqlite3_close_v2(db_);
  db_ = nullptr;
  // Even a failed open returns a handle (for its message); the destructor closes it.
  return sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
}

int Database::prepare(std::string_view sql, Statement& out) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                    &stmt, nullptr);
  out = Statement(stmt);
  return rc;
}

int Database::query_int(const char* sql, std::int64_t& out) {
  Statement stmt;
  if (const int rc = prepare(sql, stmt); rc != SQLITE_OK) return rc;
  const int rc = stmt.step();
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
  out = stmt.column_int64(0);
  return SQLITE_OK;
}

int Database::query_text(const char* sql, std::string& out) {
  Statement stmt;
  if (const int rc = prepare(sql, stmt); rc != SQLITE_OK) return rc;
  const int rc = stmt.step();
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
  out = stmt.column_text(0);
  return SQLITE_OK;
}

std::string Database::error() const {
  if (db_ == nullptr) return "out of memory";
  std::string message = sqlite3_errmsg(db_);
  if (const int os_error = sqlite3_system_errno(db_); os_error != 0) {
    message += " (" + std::generic_category().message(os_error) + ")";
  }
  return message;
}

}  // namespace hop::core::sqlite
