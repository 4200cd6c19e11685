#include "hop/proxy/routing_db.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hop/core/sqlite.h"
#include "hop/proxy/errors.h"

namespace hop::proxy {
namespace {

namespace fs = std::filesystem;
using core::sqlite::Database;
using core::sqlite::Statement;
using Reason = std::optional<std::string>;  // why a field is invalid; nullopt when it is fine

constexpr std::size_t kMaxNameChars = 64;     // id, app, region
constexpr std::size_t kShownBytes = 64;       // of a value quoted in a message
constexpr std::size_t kDestinationChars = 52;  // base32 of a 32-byte hash, no padding
constexpr std::string_view kContinents[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
constexpr std::string_view kDamagedAdvice =
    "the file was left untouched: if it should be a routing.db, restore it from a backup or recreate it"
    " (docs/routing_db.md)";

// One value as SQLite stored it: dynamic typing lets any column hold any type.
struct Cell {
  std::string type;  // typeof(): "text", "integer", "real", "blob" or "null"
  std::string text;
  std::int64_t integer = 0;
};
using Cells = std::vector<Cell>;

// A column of a table and how its value is checked into a row of type Row.
template <class Row>
struct Column {
  std::string_view name;
  Reason (*apply)(const Cell&, Row&);
};

// 'text' for a message: at most kShownBytes bytes, other than printable ASCII as \xNN.
std::string quote(std::string_view text) {
  std::string out = "'";
  for (const char ch : text.substr(0, kShownBytes)) {
    const auto c = static_cast<unsigned char>(ch);
    char escaped[5];
    std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
    out += c >= 0x20 && c < 0x7f ? std::string(1, ch) : std::string(escaped);
  }
  return out + (text.size() > kShownBytes ? "...'" : "'");
}

std::string label(std::string_view column) { return std::string(column); }

// ---- field checks: each returns why the cell is invalid, or stores it and returns nullopt ----

Reason text_of(std::string_view column, const Cell& cell, std::string& out) {
  if (cell.type == "null") return label(column) + " is NULL";
  if (cell.type == "blob") return label(column) + " is a blob, not text";
  if (cell.type != "text") return label(column) + " " + cell.text + " is " + cell.type + ", not text";
  if (cell.text.size() > kMaxFieldBytes) {
    return label(column) + " is " + std::to_string(cell.text.size()) + " bytes long (at most " +
           std::to_string(kMaxFieldBytes) + ")";
  }
  out = cell.text;
  return std::nullopt;
}

Reason integer_of(std::string_view column, const Cell& cell, std::int64_t min, std::int64_t max,
                  std::int64_t& out) {
  if (cell.type == "null") return label(column) + " is NULL";
  if (cell.type == "blob") return label(column) + " is a blob, not an integer";
  if (cell.type == "text") return label(column) + " " + quote(cell.text) + " is not an integer";
  if (cell.type != "integer") return label(column) + " " + cell.text + " is not an integer";
  const std::string shown = label(column) + " " + std::to_string(cell.integer);
  if (cell.integer < min) return shown + " is below " + std::to_string(min);
  if (cell.integer > max) return shown + " is above " + std::to_string(max);
  out = cell.integer;
  return std::nullopt;
}

Reason count_of(std::string_view column, const Cell& cell, std::int64_t max, std::uint32_t& out) {
  std::int64_t value = 0;
  if (auto reason = integer_of(column, cell, 1, max, value)) return reason;
  out = static_cast<std::uint32_t>(value);
  return std::nullopt;
}

Reason flag_of(std::string_view column, const Cell& cell, bool& out) {
  std::int64_t value = 0;
  if (cell.type == "integer" && cell.integer != 0 && cell.integer != 1) {
    return label(column) + " " + std::to_string(cell.integer) + " is not 0 or 1";
  }
  if (auto reason = integer_of(column, cell, 0, 1, value)) return reason;
  out = value == 1;
  return std::nullopt;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

enum class Fold { kKeep, kLower, kUpper };
char fold(char c, Fold how) {
  if (how == Fold::kLower && c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  if (how == Fold::kUpper && c >= 'a' && c <= 'z') return static_cast<char>(c - 'a' + 'A');
  return c;
}

// Text with ASCII letters folded as `how` says.
Reason folded_text_of(std::string_view column, const Cell& cell, Fold how, std::string& out) {
  if (auto reason = text_of(column, cell, out)) return reason;
  for (char& c : out) c = fold(c, how);
  return std::nullopt;
}

struct NameRule {
  Fold fold = Fold::kKeep;
  bool may_be_empty = false;
};
constexpr NameRule kId{Fold::kKeep, false}, kApp{Fold::kKeep, true}, kRegion{Fold::kLower, true};

// 1-64 (or 0-64 if may_be_empty) characters of [A-Za-z0-9._-], after folding.
Reason name_of(std::string_view column, const Cell& cell, NameRule rule, std::string& out) {
  const Fold how = rule.fold;
  if (auto reason = folded_text_of(column, cell, how, out)) return reason;
  if (out.empty()) return rule.may_be_empty ? Reason{} : label(column) + " is empty";
  if (out.size() > kMaxNameChars) {
    return label(column) + " " + quote(out) + " is longer than " + std::to_string(kMaxNameChars) + " characters";
  }
  if (!std::all_of(out.begin(), out.end(), is_name_char)) {
    const char* set = how == Fold::kLower ? "[a-z0-9._-]" : "[A-Za-z0-9._-]";
    return label(column) + " " + quote(out) + " has a character outside " + set;
  }
  return std::nullopt;
}

Reason country_of(const Cell& cell, std::string& out) {
  if (auto reason = folded_text_of("country", cell, Fold::kUpper, out)) return reason;
  const auto is_letter = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (out.empty() || (out.size() == 2 && is_letter(out[0]) && is_letter(out[1]))) return std::nullopt;
  return "country " + quote(out) + " is not two letters (ISO 3166-1 alpha-2, such as DE)";
}

Reason continent_of(const Cell& cell, std::string& out) {
  if (auto reason = folded_text_of("continent", cell, Fold::kUpper, out)) return reason;
  if (out.empty() || std::find(std::begin(kContinents), std::end(kContinents), out) != std::end(kContinents)) {
    return std::nullopt;
  }
  return "continent " + quote(out) + " is not one of AF AN AS EU NA OC SA";
}

bool is_base32(char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); }

Reason destination_of(std::string_view text, BackendTarget& out) {
  const auto name = text.substr(0, text.size() - 4);  // without ".hop"
  if (name.size() != kDestinationChars || !std::all_of(name.begin(), name.end(), is_base32)) {
    return "target " + quote(text) + " is not a destination name (52 characters of [a-z2-7], then .hop)";
  }
  out.kind = BackendTarget::Kind::kDestination;
  out.destination = std::string(text);
  return std::nullopt;
}

bool looks_like_hostname(std::string_view host) {
  const auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  return std::any_of(host.begin(), host.end(), is_letter) &&
         std::all_of(host.begin(), host.end(), [](char c) { return is_name_char(c) && c != '_'; });
}

bool is_address_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

Reason host_of(std::string_view shown, std::string_view host, IpAddress& out) {
  // The character check also keeps a NUL byte away from parse_ip, which would stop reading there.
  if (std::all_of(host.begin(), host.end(), is_address_char)) {
    if (auto address = parse_ip(host)) {
      out = *address;
      return std::nullopt;
    }
  }
  if (looks_like_hostname(host)) {
    return label(shown) + ": the host must be an IP address literal, not a hostname (no DNS lookups are made)";
  }
  return label(shown) + ": host " + quote(host) + " is not an IP address";
}

Reason port_of(std::string_view shown, std::string_view digits, std::uint16_t& out) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || digits.size() > 5) {
    return label(shown) + ": port " + quote(digits) + " is not a number";
  }
  if (value < 1 || value > 65535) return label(shown) + ": port " + std::to_string(value) + " is not in 1-65535";
  out = static_cast<std::uint16_t>(value);
  return std::nullopt;
}

// "a.b.c.d:port" or "[v6]:port".
Reason direct_of(std::string_view text, BackendTarget& out) {
  const std::string shown = "target " + quote(text);
  std::string_view host = text;
  std::optional<std::string_view> port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return shown + " has no closing ]";
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return shown + " has text after ] that is not :port";
    if (rest.size() > 1) port = rest.substr(1);
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return shown + ": write an IPv6 address as [address]:port";
    if (colon + 1 < text.size()) port = text.substr(colon + 1);
  }
  if (auto reason = host_of(shown, host, out.address)) return reason;
  if (!port) return shown + " has no port";
  out.kind = BackendTarget::Kind::kDirect;
  return port_of(shown, *port, out.port);
}

Reason target_of(const Cell& cell, Backend& b) {
  if (auto reason = text_of("target", cell, b.target_text)) return reason;
  const std::string_view text = b.target_text;
  if (text.empty()) return "target is empty";
  return text.ends_with(".hop") ? destination_of(text, b.target) : direct_of(text, b.target);
}

Reason prefix_of(const Cell& cell, GeoOverride& o) {
  std::string text;
  if (auto reason = text_of("cidr", cell, text)) return reason;
  if (text.empty()) return "cidr is empty";
  const auto is_prefix_char = [](char c) { return is_address_char(c) || c == '/'; };
  if (!std::all_of(text.begin(), text.end(), is_prefix_char)) {
    return "cidr " + quote(text) + " has a character that cannot be in a CIDR prefix";
  }
  auto prefix = parse_prefix(text);
  if (!prefix) return "cidr " + prefix.error().context;
  o.prefix = *prefix;
  return std::nullopt;
}

// The columns in the order they are selected; `deleted` must stay last (add_backend reads it first).
constexpr Column<Backend> kBackendColumns[] = {
    {"id", [](const Cell& c, Backend& b) { return name_of("id", c, kId, b.id); }},
    {"app", [](const Cell& c, Backend& b) { return name_of("app", c, kApp, b.app); }},
    {"region", [](const Cell& c, Backend& b) { return name_of("region", c, kRegion, b.region); }},
    {"country", [](const Cell& c, Backend& b) { return country_of(c, b.country); }},
    {"continent", [](const Cell& c, Backend& b) { return continent_of(c, b.continent); }},
    {"target", target_of},
    {"weight", [](const Cell& c, Backend& b) { return count_of("weight", c, 1000, b.weight); }},
    {"soft_limit", [](const Cell& c, Backend& b) { return count_of("soft_limit", c, UINT32_MAX, b.soft_limit); }},
    {"hard_limit", [](const Cell& c, Backend& b) { return count_of("hard_limit", c, UINT32_MAX, b.hard_limit); }},
    {"healthy", [](const Cell& c, Backend& b) { return flag_of("healthy", c, b.healthy); }},
    {"deleted", [](const Cell& c, Backend&) { bool deleted = false; return flag_of("deleted", c, deleted); }},
};

constexpr Column<GeoOverride> kOverrideColumns[] = {
    {"cidr", prefix_of},
    {"country", [](const Cell& c, GeoOverride& o) { return country_of(c, o.country); }},
    {"continent", [](const Cell& c, GeoOverride& o) { return continent_of(c, o.continent); }},
    {"region", [](const Cell& c, GeoOverride& o) { return name_of("region", c, kRegion, o.region); }},
};

// Every column's check applied; all reasons joined, so an operator can fix a row in one go.
template <class Row, std::size_t N>
Reason apply_all(const Column<Row> (&columns)[N], const Cells& cells, Row& row) {
  Reason all;
  for (std::size_t i = 0; i < N; ++i) {
    if (auto reason = columns[i].apply(cells[i], row)) all = all ? *all + "; " + *reason : *reason;
  }
  return all;
}

Reason cross_check(const Backend& b) {
  if (b.hard_limit >= b.soft_limit) return std::nullopt;
  return "hard_limit " + std::to_string(b.hard_limit) + " is below soft_limit " + std::to_string(b.soft_limit);
}

Reason cross_check(const GeoOverride& o) {
  if (!o.country.empty() || !o.continent.empty() || !o.region.empty()) return std::nullopt;
  return "sets none of country, continent, region";
}

std::string key_of(const Cell& cell) { return cell.type == "text" ? cell.text.substr(0, kMaxFieldBytes) : ""; }

// ---- errors: each names the file, the problem and what to do ----

core::Error fail(const fs::path& path, const std::string& problem) {
  return core::make_error(Errc::kRoutingDb, "routing.db file " + path.string() + " " + problem);
}

core::Error sqlite_failure(const fs::path& path, const Database& db, int rc, const std::string& doing) {
  const std::string why = "(" + doing + ": " + db.error() + ")";
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return fail(path, "is not a SQLite database or is damaged " + why + "; " + std::string(kDamagedAdvice));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return fail(path, "stayed locked by another connection " + why +
                            "; finish the open write transaction (an SQL shell left in BEGIN?)");
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY:
      return fail(path, "cannot be opened " + why +
                            "; check that its directory exists and that the proxy's user may read the file and"
                            " write the directory (for the -wal and -shm files)");
    default:
      return fail(path, "cannot be used " + why + "; check the disk and the file's permissions");
  }
}

// Per connection. Someone else's schema may hold views or triggers: run none of their functions.
std::string connection_setup_sql() {
  return "PRAGMA busy_timeout = " + std::to_string(kRoutingDbBusyTimeout.count()) + "; PRAGMA trusted_schema = OFF;";
}

// ---- the loader: one connection, one read transaction ----

class Loader {
 public:
  explicit Loader(const fs::path& path) : path_(path) {}
  core::Result<LoadedRouting> run();

 private:
  core::Error fail(const std::string& problem) const { return proxy::fail(path_, problem); }
  core::Error sqlite_failure(int rc, const std::string& doing) const {
    return proxy::sqlite_failure(path_, db_, rc, doing);
  }
  core::Status open();
  template <class Row, std::size_t N>
  core::Status check_table(std::string_view table, const Column<Row> (&columns)[N]);
  template <class Row, std::size_t N, class OnRow>
  core::Status read_rows(std::string_view table, const Column<Row> (&columns)[N], std::size_t limit, OnRow on_row);
  void add_backend(const Cells& cells);
  void add_override(const Cells& cells);
  void skip(std::string_view table, const Cell& key, std::string reason) {
    out_.skipped.push_back({std::string(table), key_of(key), std::move(reason)});
  }

  fs::path path_;
  Database db_;
  LoadedRouting out_;
};

core::Status Loader::open() {
  std::error_code ec;
  const auto status = fs::status(path_, ec);
  if (status.type() == fs::file_type::not_found) {
    return fail("does not exist; create it with `hopline proxy init-db PATH` (or the SQL in docs/routing_db.md) or fix the path");
  }
  if (status.type() == fs::file_type::directory) return fail("is a directory; point the proxy at the routing.db file");
  if (const int rc = db_.open(path_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX); rc != SQLITE_OK) {
    return sqlite_failure(rc, "opening it");
  }
  const std::string setup = connection_setup_sql() + " PRAGMA query_only = ON;";
  if (const int rc = db_.exec(setup.c_str()); rc != SQLITE_OK) return sqlite_failure(rc, "setting up the connection");
  return {};
}

template <class Row, std::size_t N>
core::Status Loader::check_table(std::string_view table, const Column<Row> (&columns)[N]) {
  Statement query;
  if (const int rc = db_.prepare("SELECT type FROM sqlite_schema WHERE name = ?1 COLLATE NOCASE", query); rc) {
    return sqlite_failure(rc, "reading its schema");
  }
  query.bind(1, table);
  int rc = query.step();
  if (rc == SQLITE_DONE) return fail("has no table " + std::string(table) + "; docs/routing_db.md has the schema");
  if (rc != SQLITE_ROW) return sqlite_failure(rc, "reading its schema");
  if (query.column_text(0) != "table") return fail("has a " + query.column_text(0) + " " + std::string(table) + ", not a table");
  std::set<std::string> present;
  if ((rc = db_.prepare("SELECT lower(name) FROM pragma_table_info(?1)", query)) != SQLITE_OK) {
    return sqlite_failure(rc, "reading the columns of " + std::string(table));
  }
  query.bind(1, table);
  while ((rc = query.step()) == SQLITE_ROW) present.insert(query.column_text(0));
  if (rc != SQLITE_DONE) return sqlite_failure(rc, "reading the columns of " + std::string(table));
  for (const auto& column : columns) {
    if (!present.contains(std::string(column.name))) {
      return fail("has no column " + std::string(column.name) + " in table " + std::string(table) +
                  "; add it (docs/routing_db.md has the schema)");
    }
  }
  return {};
}

// Calls on_row(cells) for at most `limit` rows; one more row is reported as the limit.
template <class Row, std::size_t N, class OnRow>
core::Status Loader::read_rows(std::string_view table, const Column<Row> (&columns)[N], std::size_t limit,
                               OnRow on_row) {
  std::string sql = "SELECT ";
  for (const auto& column : columns) sql += "typeof(\"" + label(column.name) + "\"), \"" + label(column.name) + "\",";
  sql.back() = ' ';
  sql += "FROM \"" + std::string(table) + "\" LIMIT " + std::to_string(limit + 1);
  Statement query;
  if (const int rc = db_.prepare(sql, query); rc != SQLITE_OK) return sqlite_failure(rc, "reading " + std::string(table));
  Cells cells(N);
  std::size_t rows = 0;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) {
    if (++rows > limit) {
      out_.skipped.push_back({std::string(table), "", "more than " + std::to_string(limit) +
                                                          " rows: the rows after the first " + std::to_string(limit) +
                                                          " were not read"});
      break;
    }
    for (int i = 0; i < static_cast<int>(N); ++i) {
      cells[i] = {query.column_text(2 * i), query.column_text(2 * i + 1), query.column_int64(2 * i + 1)};
    }
    on_row(cells);
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_failure(rc, "reading " + std::string(table));
  return {};
}

void Loader::add_backend(const Cells& cells) {
  const Cell& deleted = cells.back();
  if (deleted.type == "integer" && deleted.integer == 1) return;  // left out silently, by design
  Backend b;
  Reason reason = apply_all(kBackendColumns, cells, b);
  if (!reason) reason = cross_check(b);
  if (reason) return skip("backends", cells[0], *reason);
  out_.table.backends.push_back(std::move(b));
}

void Loader::add_override(const Cells& cells) {
  GeoOverride o;
  Reason reason = apply_all(kOverrideColumns, cells, o);
  if (!reason) reason = cross_check(o);
  if (reason) return skip("geo_overrides", cells[0], *reason);
  out_.table.overrides.push_back(std::move(o));
}

const std::string& sort_key(const Backend& b) { return b.id; }
auto sort_key(const GeoOverride& o) { return std::pair(o.prefix.bits, o.prefix.base.bytes); }
SkippedRow duplicate(const Backend& b) { return {"backends", b.id, "duplicate id: an earlier row has it"}; }
SkippedRow duplicate(const GeoOverride& o) {
  return {"geo_overrides", to_string(o.prefix), "duplicate prefix: an earlier row has it"};
}

// Sorts by key; of rows with equal keys only the first in file order is kept, the rest reported.
template <class Row>
void sort_unique(std::vector<Row>& rows, std::vector<SkippedRow>& skipped) {
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return sort_key(a) < sort_key(b); });
  std::vector<Row> kept;
  kept.reserve(rows.size());
  for (auto& row : rows) {
    if (!kept.empty() && sort_key(kept.back()) == sort_key(row)) {
      skipped.push_back(duplicate(row));
    } else {
      kept.push_back(std::move(row));
    }
  }
  rows = std::move(kept);
}

core::Result<LoadedRouting> Loader::run() {
  if (auto st = open(); !st) return st.error();
  // One read transaction: both tables come from the same snapshot, even while someone commits.
  if (const int rc = db_.exec("BEGIN"); rc != SQLITE_OK) return sqlite_failure(rc, "starting a read transaction");
  if (auto st = check_table("backends", kBackendColumns); !st) return st.error();
  if (auto st = check_table("geo_overrides", kOverrideColumns); !st) return st.error();
  auto st = read_rows("backends", kBackendColumns, kMaxBackendRows, [&](const Cells& c) { add_backend(c); });
  if (!st) return st.error();
  st = read_rows("geo_overrides", kOverrideColumns, kMaxOverrideRows, [&](const Cells& c) { add_override(c); });
  if (!st) return st.error();
  if (const int rc = db_.exec("COMMIT"); rc != SQLITE_OK) return sqlite_failure(rc, "ending the read transaction");
  auto& table = out_.table;
  sort_unique(table.backends, out_.skipped);
  sort_unique(table.overrides, out_.skipped);
  // Most specific first (RoutingTable::overrides); ties in address order, for a stable table.
  std::stable_sort(table.overrides.begin(), table.overrides.end(),
                   [](const GeoOverride& a, const GeoOverride& b) { return a.prefix.bits > b.prefix.bits; });
  table.version = 0;
  return std::move(out_);
}

// ---- init ----

std::string schema_sql() {
  return "CREATE TABLE backends(id TEXT PRIMARY KEY NOT NULL, app TEXT NOT NULL DEFAULT '',"
         " region TEXT NOT NULL DEFAULT '', country TEXT NOT NULL DEFAULT '', continent TEXT NOT NULL DEFAULT '',"
         " target TEXT NOT NULL, weight INTEGER NOT NULL DEFAULT 1, soft_limit INTEGER NOT NULL,"
         " hard_limit INTEGER NOT NULL, healthy INTEGER NOT NULL DEFAULT 1, deleted INTEGER NOT NULL DEFAULT 0);"
         "CREATE TABLE geo_overrides(cidr TEXT PRIMARY KEY NOT NULL, country TEXT NOT NULL DEFAULT '',"
         " continent TEXT NOT NULL DEFAULT '', region TEXT NOT NULL DEFAULT '');"
         "PRAGMA application_id = " + std::to_string(kRoutingDbApplicationId) + ";"
         "PRAGMA user_version = " + std::to_string(kRoutingDbSchemaVersion) + ";";
}

// Refuses a file that holds anything: init never adds to, or writes over, someone's data.
core::Status check_empty(const fs::path& path, Database& db) {
  std::int64_t application_id = 0, version = 0, objects = 0, ours = 0;
  int rc = db.query_int("PRAGMA application_id", application_id);
  if (rc == SQLITE_OK) rc = db.query_int("PRAGMA user_version", version);
  if (rc == SQLITE_OK) rc = db.query_int("SELECT count(*) FROM sqlite_schema", objects);
  if (rc == SQLITE_OK) {
    rc = db.query_int("SELECT count(*) FROM sqlite_schema WHERE lower(name) IN ('backends', 'geo_overrides')", ours);
  }
  if (rc != SQLITE_OK) return sqlite_failure(path, db, rc, "reading its header");
  const std::string kept = "; it was left unchanged: use another path, or move the file aside first";
  if (application_id == kRoutingDbApplicationId || ours > 0) return fail(path, "already has a routing.db schema" + kept);
  if (objects > 0) return fail(path, "is not empty: it has " + std::to_string(objects) + " tables or indexes" + kept);
  if (application_id != 0 || version != 0) {
    return fail(path, "belongs to another application (application_id " + std::to_string(application_id) +
                          ", user_version " + std::to_string(version) + ")" + kept);
  }
  return {};
}

core::Status enable_wal(const fs::path& path, Database& db) {
  std::string mode;
  if (const int rc = db.query_text("PRAGMA journal_mode = WAL", mode); rc != SQLITE_OK) {
    return sqlite_failure(path, db, rc, "switching it to WAL mode");
  }
  if (mode != "wal") return fail(path, "stayed in journal mode " + mode + " instead of WAL; is it on a network file system?");
  return {};
}

}  // namespace

core::Status init_routing_db(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fail(path, "is a directory; give the path of the file to create");
  Database db;
  int rc = db.open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
  if (rc == SQLITE_OK) rc = db.exec(connection_setup_sql().c_str());
  if (rc != SQLITE_OK) return sqlite_failure(path, db, rc, "opening it");
  // The check and the creation in one write transaction: nobody can slip a table in between.
  if ((rc = db.exec("BEGIN IMMEDIATE")) != SQLITE_OK) return sqlite_failure(path, db, rc, "starting a transaction");
  if (auto st = check_empty(path, db); !st) return st;  // closing the connection rolls back
  if ((rc = db.exec(schema_sql().c_str())) != SQLITE_OK) return sqlite_failure(path, db, rc, "creating the tables");
  if ((rc = db.exec("COMMIT")) != SQLITE_OK) return sqlite_failure(path, db, rc, "committing the tables");
  return enable_wal(path, db);
}

core::Result<LoadedRouting> load_routing_db(const fs::path& path) { return Loader(path).run(); }

// ---- the watcher ----

namespace {

// What stat() says about the path: a change means the file was replaced, rewritten or checkpointed.
struct FileStamp {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

std::optional<FileStamp> stamp_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileStamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec};
}

}  // namespace

struct RoutingDbWatcher::Impl {
  fs::path path;
  Database db;
  bool connected = false;
  bool first = true;
  std::optional<FileStamp> stamp;       // at the last call; nullopt: the path did not exist
  std::optional<std::int64_t> version;  // data_version at the last call; nullopt: no working connection

  void disconnect() {
    db = Database{};  // the swapped-out handle closes with the temporary
    connected = false;
  }
  std::optional<std::int64_t> read_version();
};

std::optional<std::int64_t> RoutingDbWatcher::Impl::read_version() {
  if (!connected) {
    connected = db.open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX) == SQLITE_OK &&
                db.exec(connection_setup_sql().c_str()) == SQLITE_OK;
  }
  std::int64_t value = 0;
  if (connected && db.query_int("PRAGMA data_version", value) == SQLITE_OK) return value;
  disconnect();
  return std::nullopt;
}

RoutingDbWatcher::RoutingDbWatcher(fs::path path) : impl_(std::make_unique<Impl>()) { impl_->path = std::move(path); }
RoutingDbWatcher::~RoutingDbWatcher() = default;
RoutingDbWatcher::RoutingDbWatcher(RoutingDbWatcher&&) noexcept = default;
RoutingDbWatcher& RoutingDbWatcher::operator=(RoutingDbWatcher&&) noexcept = default;

bool RoutingDbWatcher::changed() {
  Impl& w = *impl_;
  const auto stamp = stamp_of(w.path);
  bool changed = w.first || stamp != w.stamp;
  w.first = false;
  w.stamp = stamp;
  // A replaced file needs a fresh connection: the old one still reads the old inode.
  if (changed) w.disconnect();
  const auto version = stamp ? w.read_version() : std::nullopt;
  // data_version is per connection, so values compare only within one; the connection failing
  // or coming back counts as a change.
  changed = changed || version != w.version;
  w.version = version;
  return changed;
}

}  // namespace hop::proxy
