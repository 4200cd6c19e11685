#include "hop/proxy/routing_db.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hop/core/sqlite.h"
#include "hop/proxy/errors.h"
#include "support/temp_dir.h"

namespace hop::proxy {
namespace {

namespace fs = std::filesystem;
using core::sqlite::Database;
using hop::test::TempDir;

const std::string kDestination = std::string(52, 'a').replace(10, 6, "234567") + ".hop";

// A connection as an operator's tool has it: read-write, WAL if the file is WAL.
class Sql {
 public:
  explicit Sql(const fs::path& file) {
    EXPECT_EQ(db_.open(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE), SQLITE_OK) << db_.error();
    EXPECT_EQ(db_.exec("PRAGMA busy_timeout = 5000"), SQLITE_OK);
  }
  void run(const std::string& sql) { EXPECT_EQ(db_.exec(sql.c_str()), SQLITE_OK) << sql << ": " << db_.error(); }
  std::int64_t integer(const char* sql) {
    std::int64_t out = -1;
    EXPECT_EQ(db_.query_int(sql, out), SQLITE_OK) << sql << ": " << db_.error();
    return out;
  }
  std::string text(const char* sql) {
    std::string out;
    EXPECT_EQ(db_.query_text(sql, out), SQLITE_OK) << sql << ": " << db_.error();
    return out;
  }

 private:
  Database db_;
};

void run_sql(const fs::path& file, const std::string& sql) { Sql(file).run(sql); }

// A backends row as SQL literals; every field valid unless a test changes it.
struct Row {
  std::string id = "'b'";
  std::string app = "''";
  std::string region = "''";
  std::string country = "''";
  std::string continent = "''";
  std::string target = "'10.0.0.1:80'";
  std::string weight = "1";
  std::string soft_limit = "10";
  std::string hard_limit = "20";
  std::string healthy = "1";
  std::string deleted = "0";
};

std::string insert(const Row& r) {
  return "INSERT INTO backends(id, app, region, country, continent, target, weight, soft_limit, hard_limit,"
         " healthy, deleted) VALUES(" + r.id + "," + r.app + "," + r.region + "," + r.country + "," + r.continent +
         "," + r.target + "," + r.weight + "," + r.soft_limit + "," + r.hard_limit + "," + r.healthy + "," +
         r.deleted + ");";
}

std::string insert_override(const std::string& cidr, const std::string& country, const std::string& continent,
                            const std::string& region) {
  return "INSERT INTO geo_overrides(cidr, country, continent, region) VALUES(" + cidr + "," + country + "," +
         continent + "," + region + ");";
}

fs::path new_db(const TempDir& dir, const std::string& name = "routing.db") {
  const fs::path file = dir.path() / name;
  const auto st = init_routing_db(file);
  EXPECT_TRUE(st.ok()) << st.error().message();
  return file;
}

LoadedRouting load_ok(const fs::path& file) {
  auto loaded = load_routing_db(file);
  if (!loaded) {
    ADD_FAILURE() << loaded.error().message();
    return {};
  }
  return std::move(*loaded);
}

// The reasons given for rows of `table` with `key`, in order.
std::vector<std::string> reasons(const LoadedRouting& loaded, const std::string& table, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& s : loaded.skipped) {
    if (s.table == table && s.key == key) out.push_back(s.reason);
  }
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

// The loader's error for `file`: Errc::kRoutingDb naming the file; `expected` is part of its message.
void expect_load_error(const fs::path& file, const std::string& expected) {
  auto loaded = load_routing_db(file);
  ASSERT_FALSE(loaded.ok()) << "loaded " << loaded->table.backends.size() << " backends";
  EXPECT_EQ(loaded.error().code, make_error_code(Errc::kRoutingDb));
  const std::string message = loaded.error().message();
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  EXPECT_NE(message.find(expected), std::string::npos) << message;
}

// ---- init ----

TEST(RoutingDbInit, CreatesWalSchemaThatLoadsEmpty) {
  TempDir dir;
  const fs::path file = new_db(dir);
  Sql sql(file);
  EXPECT_EQ(sql.integer("PRAGMA application_id"), kRoutingDbApplicationId);
  EXPECT_EQ(sql.integer("PRAGMA user_version"), kRoutingDbSchemaVersion);
  EXPECT_EQ(sql.text("PRAGMA journal_mode"), "wal");
  const LoadedRouting loaded = load_ok(file);
  EXPECT_TRUE(loaded.table.backends.empty());
  EXPECT_TRUE(loaded.table.overrides.empty());
  EXPECT_TRUE(loaded.skipped.empty());
  EXPECT_EQ(loaded.table.version, 0u);
}

TEST(RoutingDbInit, DefaultsFillOptionalColumns) {
  TempDir dir;
  const fs::path file = new_db(dir);
  run_sql(file, "INSERT INTO backends(id, target, soft_limit, hard_limit) VALUES('x', '10.0.0.1:80', 5, 5)");
  const LoadedRouting loaded = load_ok(file);
  ASSERT_EQ(loaded.table.backends.size(), 1u);
  const Backend& b = loaded.table.backends[0];
  EXPECT_EQ(b.app, "");
  EXPECT_EQ(b.weight, 1u);
  EXPECT_TRUE(b.healthy);
}

TEST(RoutingDbInit, AcceptsAnEmptySqliteDatabase) {
  TempDir dir;
  const fs::path file = dir.path() / "routing.db";
  run_sql(file, "CREATE TABLE t(x); DROP TABLE t;");
  ASSERT_GT(fs::file_size(file), 0u);
  const auto st = init_routing_db(file);
  EXPECT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(load_ok(file).skipped.empty());
}

TEST(RoutingDbInit, RefusesAFileWithOtherTablesAndKeepsItsData) {
  TempDir dir;
  const fs::path file = dir.path() / "customers.db";
  run_sql(file, "CREATE TABLE customers(name TEXT); INSERT INTO customers VALUES('alice');");
  const auto st = init_routing_db(file);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, make_error_code(Errc::kRoutingDb));
  EXPECT_NE(st.error().message().find("is not empty"), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find(file.string()), std::string::npos);
  Sql sql(file);
  EXPECT_EQ(sql.text("SELECT name FROM customers"), "alice");
  EXPECT_EQ(sql.integer("SELECT count(*) FROM sqlite_schema"), 1);
}

TEST(RoutingDbInit, RefusesAnExistingRoutingDb) {
  TempDir dir;
  const fs::path file = new_db(dir);
  run_sql(file, insert(Row{}));
  const auto st = init_routing_db(file);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("already has a routing.db schema"), std::string::npos) << st.error().message();
  EXPECT_EQ(load_ok(file).table.backends.size(), 1u);
}

TEST(RoutingDbInit, RefusesAnotherApplicationsEmptyDatabase) {
  TempDir dir;
  const fs::path file = dir.path() / "other.db";
  run_sql(file, "PRAGMA application_id = 1234;");
  const auto st = init_routing_db(file);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("another application"), std::string::npos) << st.error().message();
}

TEST(RoutingDbInit, RefusesGarbageAndDirectoriesUnchanged) {
  TempDir dir;
  const fs::path file = dir.path() / "garbage.db";
  const std::string garbage(8192, 'x');
  write_file(file, garbage);
  const auto st = init_routing_db(file);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("not a SQLite database"), std::string::npos) << st.error().message();
  EXPECT_EQ(read_file(file), garbage);
  const auto on_dir = init_routing_db(dir.path());
  ASSERT_FALSE(on_dir.ok());
  EXPECT_NE(on_dir.error().message().find("is a directory"), std::string::npos);
  EXPECT_FALSE(init_routing_db(dir.path() / "no-such-dir" / "routing.db").ok());
}

// ---- load: valid rows ----

TEST(RoutingDbLoad, ValidRowsOfEveryKindRoundTrip) {
  TempDir dir;
  const fs::path file = new_db(dir);
  run_sql(file, insert({.id = "'v4'", .app = "'shop'", .region = "'EU-West'", .country = "'de'",
                        .continent = "'eu'", .target = "'192.0.2.10:8080'", .weight = "1000",
                        .soft_limit = "1", .hard_limit = "1", .healthy = "0"}) +
                    insert({.id = "'V6.x_y-z'", .target = "'[2001:db8::5]:443'", .soft_limit = "100",
                            .hard_limit = "4294967295"}) +
                    insert({.id = "'dest'", .target = "'" + kDestination + "'"}) +
                    insert({.id = "'" + std::string(64, 'l') + "'", .target = "'[::ffff:10.1.2.3]:65535'"}));
  run_sql(file, insert_override("'10.0.0.0/8'", "'us'", "''", "''") +
                    insert_override("'10.1.0.0/16'", "''", "''", "'US-East'") +
                    insert_override("'2001:db8::/32'", "''", "'eu'", "''") +
                    insert_override("'192.0.2.1'", "'FR'", "'EU'", "'eu-west'"));
  const LoadedRouting loaded = load_ok(file);
  EXPECT_TRUE(loaded.skipped.empty()) << loaded.skipped[0].key << ": " << loaded.skipped[0].reason;
  const auto& backends = loaded.table.backends;
  ASSERT_EQ(backends.size(), 4u);
  // Sorted by id (byte order: upper case first).
  EXPECT_EQ(backends[0].id, "V6.x_y-z");
  EXPECT_EQ(backends[1].id, "dest");
  EXPECT_EQ(backends[2].id, std::string(64, 'l'));
  EXPECT_EQ(backends[3].id, "v4");

  const Backend& v4 = backends[3];
  EXPECT_EQ(v4.app, "shop");
  EXPECT_EQ(v4.region, "eu-west");
  EXPECT_EQ(v4.country, "DE");
  EXPECT_EQ(v4.continent, "EU");
  EXPECT_EQ(v4.target.kind, BackendTarget::Kind::kDirect);
  EXPECT_EQ(v4.target.address, *parse_ip("192.0.2.10"));
  EXPECT_EQ(v4.target.port, 8080);
  EXPECT_EQ(v4.target_text, "192.0.2.10:8080");
  EXPECT_EQ(v4.weight, 1000u);
  EXPECT_EQ(v4.soft_limit, 1u);
  EXPECT_EQ(v4.hard_limit, 1u);
  EXPECT_FALSE(v4.healthy);

  const Backend& v6 = backends[0];
  EXPECT_EQ(v6.target.address, *parse_ip("2001:db8::5"));
  EXPECT_EQ(v6.target.port, 443);
  EXPECT_EQ(v6.hard_limit, 4294967295u);
  EXPECT_TRUE(v6.healthy);
  EXPECT_EQ(backends[1].target.kind, BackendTarget::Kind::kDestination);
  EXPECT_EQ(backends[1].target.destination, kDestination);
  EXPECT_TRUE(backends[2].target.address.is_v4());
  EXPECT_EQ(backends[2].target.port, 65535);

  const auto& overrides = loaded.table.overrides;
  ASSERT_EQ(overrides.size(), 4u);  // most specific first
  EXPECT_EQ(to_string(overrides[0].prefix), "192.0.2.1/32");
  EXPECT_EQ(overrides[0].country, "FR");
  EXPECT_EQ(overrides[0].continent, "EU");
  EXPECT_EQ(overrides[0].region, "eu-west");
  EXPECT_EQ(to_string(overrides[1].prefix), "10.1.0.0/16");
  EXPECT_EQ(overrides[1].region, "us-east");
  EXPECT_EQ(to_string(overrides[2].prefix), "10.0.0.0/8");
  EXPECT_EQ(overrides[2].country, "US");
  EXPECT_EQ(to_string(overrides[3].prefix), "2001:db8::/32");
  EXPECT_EQ(overrides[3].continent, "EU");
  EXPECT_EQ(loaded.table.override_for(*parse_ip("10.1.2.3"))->region, "us-east");
  EXPECT_EQ(loaded.table.override_for(*parse_ip("10.2.2.3"))->country, "US");
  EXPECT_NE(loaded.table.find("dest"), nullptr);
}

TEST(RoutingDbLoad, DeletedRowsAreLeftOutSilently) {
  TempDir dir;
  const fs::path file = new_db(dir);
  run_sql(file, insert({.id = "'gone'", .deleted = "1"}) +
                    insert({.id = "'gone-and-broken'", .target = "'nowhere'", .weight = "0", .deleted = "1"}) +
                    insert({.id = "'kept'", .deleted = "0"}));
  const LoadedRouting loaded = load_ok(file);
  ASSERT_EQ(loaded.table.backends.size(), 1u);
  EXPECT_EQ(loaded.table.backends[0].id, "kept");
  EXPECT_TRUE(loaded.skipped.empty());
}

// ---- load: every validation rule ----

struct BadBackend {
  Row row;
  std::string key;
  std::string reason;
};

std::vector<BadBackend> bad_backends() {
  const std::string long_id(65, 'a');
  return {
      {{.id = "'bad id'"}, "bad id", "id 'bad id' has a character outside [A-Za-z0-9._-]"},
      {{.id = "''"}, "", "id is empty"},
      {{.id = "'" + long_id + "'"}, long_id, "id '" + std::string(64, 'a') + "...' is longer than 64 characters"},
      {{.id = "x'00'"}, "", "id is a blob, not text"},
      {{.id = "'nul' || char(0) || 'x'"}, std::string("nul\0x", 5), "id 'nul\\x00x' has a character outside [A-Za-z0-9._-]"},
      {{.id = "'app'", .app = "'a/b'"}, "app", "app 'a/b' has a character outside [A-Za-z0-9._-]"},
      {{.id = "'app-long'", .app = "'" + std::string(300, 'p') + "'"}, "app-long", "app is 300 bytes long (at most 256)"},
      {{.id = "'region'", .region = "'Eu West'"}, "region", "region 'eu west' has a character outside [a-z0-9._-]"},
      {{.id = "'country3'", .country = "'deu'"}, "country3", "country 'DEU' is not two letters (ISO 3166-1 alpha-2, such as DE)"},
      {{.id = "'country-digit'", .country = "'d1'"}, "country-digit", "country 'D1' is not two letters (ISO 3166-1 alpha-2, such as DE)"},
      {{.id = "'continent'", .continent = "'xx'"}, "continent", "continent 'XX' is not one of AF AN AS EU NA OC SA"},
      {{.id = "'no-port'", .target = "'10.0.0.1'"}, "no-port", "target '10.0.0.1' has no port"},
      {{.id = "'empty-port'", .target = "'10.0.0.1:'"}, "empty-port", "target '10.0.0.1:' has no port"},
      {{.id = "'hostname'", .target = "'db.example.com:5432'"}, "hostname",
       "target 'db.example.com:5432': the host must be an IP address literal, not a hostname (no DNS lookups are made)"},
      {{.id = "'bare-hostname'", .target = "'localhost'"}, "bare-hostname",
       "target 'localhost': the host must be an IP address literal, not a hostname (no DNS lookups are made)"},
      {{.id = "'port0'", .target = "'10.0.0.1:0'"}, "port0", "target '10.0.0.1:0': port 0 is not in 1-65535"},
      {{.id = "'port-big'", .target = "'10.0.0.1:65536'"}, "port-big", "target '10.0.0.1:65536': port 65536 is not in 1-65535"},
      {{.id = "'port-name'", .target = "'10.0.0.1:http'"}, "port-name", "target '10.0.0.1:http': port 'http' is not a number"},
      {{.id = "'port-sign'", .target = "'10.0.0.1:+80'"}, "port-sign", "target '10.0.0.1:+80': port '+80' is not a number"},
      {{.id = "'v6-bare'", .target = "'2001:db8::1:80'"}, "v6-bare", "target '2001:db8::1:80': write an IPv6 address as [address]:port"},
      {{.id = "'v6-no-port'", .target = "'[2001:db8::1]'"}, "v6-no-port", "target '[2001:db8::1]' has no port"},
      {{.id = "'v6-open'", .target = "'[2001:db8::1:80'"}, "v6-open", "target '[2001:db8::1:80' has no closing ]"},
      {{.id = "'v6-junk'", .target = "'[::1]x80'"}, "v6-junk", "target '[::1]x80' has text after ] that is not :port"},
      {{.id = "'v6-bad'", .target = "'[2001:db8::g]:80'"}, "v6-bad", "target '[2001:db8::g]:80': host '2001:db8::g' is not an IP address"},
      {{.id = "'v4-bad'", .target = "'300.1.1.1:80'"}, "v4-bad", "target '300.1.1.1:80': host '300.1.1.1' is not an IP address"},
      {{.id = "'dest-short'", .target = "'abc.hop'"}, "dest-short",
       "target 'abc.hop' is not a destination name (52 characters of [a-z2-7], then .hop)"},
      {{.id = "'dest-upper'", .target = "'" + std::string(52, 'A') + ".hop'"}, "dest-upper",
       "target '" + std::string(52, 'A') + ".hop' is not a destination name (52 characters of [a-z2-7], then .hop)"},
      {{.id = "'dest-digit'", .target = "'" + std::string(51, 'a') + "1.hop'"}, "dest-digit",
       "target '" + std::string(51, 'a') + "1.hop' is not a destination name (52 characters of [a-z2-7], then .hop)"},
      {{.id = "'target-empty'", .target = "''"}, "target-empty", "target is empty"},
      {{.id = "'target-blob'", .target = "x'00'"}, "target-blob", "target is a blob, not text"},
      {{.id = "'weight0'", .weight = "0"}, "weight0", "weight 0 is below 1"},
      {{.id = "'weight-big'", .weight = "1001"}, "weight-big", "weight 1001 is above 1000"},
      {{.id = "'weight-text'", .weight = "'abc'"}, "weight-text", "weight 'abc' is not an integer"},
      {{.id = "'weight-real'", .weight = "1.5"}, "weight-real", "weight 1.5 is not an integer"},
      {{.id = "'weight-blob'", .weight = "x'01'"}, "weight-blob", "weight is a blob, not an integer"},
      {{.id = "'weight-neg'", .weight = "-3"}, "weight-neg", "weight -3 is below 1"},
      {{.id = "'soft0'", .soft_limit = "0"}, "soft0", "soft_limit 0 is below 1"},
      {{.id = "'soft-huge'", .soft_limit = "4294967296", .hard_limit = "4294967296"}, "soft-huge",
       "soft_limit 4294967296 is above 4294967295; hard_limit 4294967296 is above 4294967295"},
      {{.id = "'hard-low'", .soft_limit = "10", .hard_limit = "5"}, "hard-low", "hard_limit 5 is below soft_limit 10"},
      {{.id = "'healthy2'", .healthy = "2"}, "healthy2", "healthy 2 is not 0 or 1"},
      {{.id = "'healthy-text'", .healthy = "'yes'"}, "healthy-text", "healthy 'yes' is not an integer"},
      {{.id = "'deleted2'", .deleted = "2"}, "deleted2", "deleted 2 is not 0 or 1"},
      {{.id = "'deleted-text'", .deleted = "'yes'"}, "deleted-text", "deleted 'yes' is not an integer"},
      {{.id = "'many'", .weight = "0", .healthy = "2"}, "many", "weight 0 is below 1; healthy 2 is not 0 or 1"},
  };
}

TEST(RoutingDbLoad, EveryBackendRuleSkipsItsRowWithAReason) {
  TempDir dir;
  const fs::path file = new_db(dir);
  const auto cases = bad_backends();
  std::string sql = insert({.id = "'good'"});
  for (const auto& c : cases) sql += insert(c.row);
  run_sql(file, sql);
  const LoadedRouting loaded = load_ok(file);
  ASSERT_EQ(loaded.table.backends.size(), 1u);
  EXPECT_EQ(loaded.table.backends[0].id, "good");
  EXPECT_EQ(loaded.skipped.size(), cases.size());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.row.id);
    const auto found = reasons(loaded, "backends", c.key);
    EXPECT_NE(std::find(found.begin(), found.end(), c.reason), found.end())
        << "expected: " << c.reason << "\n first found: " << (found.empty() ? "(none)" : found[0]);
  }
}

TEST(RoutingDbLoad, EveryOverrideRuleSkipsItsRowWithAReason) {
  TempDir dir;
  const fs::path file = new_db(dir);
  struct Case {
    std::string cidr, country, continent, region, key, reason;
  };
  const std::vector<Case> cases = {
      {"'10.1.0.0/8'", "'DE'", "''", "''", "10.1.0.0/8", "cidr '10.1.0.0/8': host bits are set below the prefix length"},
      {"'10.0.0.0/33'", "'DE'", "''", "''", "10.0.0.0/33", "cidr '10.0.0.0/33': prefix length must be 0-32"},
      {"'2001:db8::/129'", "'DE'", "''", "''", "2001:db8::/129", "cidr '2001:db8::/129': prefix length must be 0-128"},
      {"'10.0.0.0/'", "'DE'", "''", "''", "10.0.0.0/", "cidr '10.0.0.0/': prefix length must be 0-32"},
      {"'nonsense'", "'DE'", "''", "''", "nonsense", "cidr 'nonsense' has a character that cannot be in a CIDR prefix"},
      {"'10.0.0.0/8 '", "'DE'", "''", "''", "10.0.0.0/8 ", "cidr '10.0.0.0/8 ' has a character that cannot be in a CIDR prefix"},
      {"'abc/8'", "'DE'", "''", "''", "abc/8", "cidr 'abc/8': not an IP address or CIDR prefix"},
      {"''", "'DE'", "''", "''", "", "cidr is empty"},
      {"'192.0.2.0/24'", "''", "''", "''", "192.0.2.0/24", "sets none of country, continent, region"},
      {"'192.0.3.0/24'", "'DEU'", "''", "''", "192.0.3.0/24", "country 'DEU' is not two letters (ISO 3166-1 alpha-2, such as DE)"},
      {"'192.0.4.0/24'", "''", "'XX'", "''", "192.0.4.0/24", "continent 'XX' is not one of AF AN AS EU NA OC SA"},
      {"'192.0.5.0/24'", "''", "''", "'a b'", "192.0.5.0/24", "region 'a b' has a character outside [a-z0-9._-]"},
      {"'192.0.6.0/24'", "NULL", "''", "'x'", "192.0.6.0/24", "country is NULL"},
  };
  // An operator's table without NOT NULL, so NULL can be stored.
  run_sql(file, "DROP TABLE geo_overrides; CREATE TABLE geo_overrides(cidr TEXT, country TEXT, continent TEXT,"
                " region TEXT);");
  std::string sql = insert_override("'198.51.100.0/24'", "'NL'", "''", "''");
  for (const auto& c : cases) sql += insert_override(c.cidr, c.country, c.continent, c.region);
  run_sql(file, sql);
  const LoadedRouting loaded = load_ok(file);
  ASSERT_EQ(loaded.table.overrides.size(), 1u);
  EXPECT_EQ(loaded.table.overrides[0].country, "NL");
  EXPECT_EQ(loaded.skipped.size(), cases.size());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.cidr);
    const auto found = reasons(loaded, "geo_overrides", c.key);
    EXPECT_NE(std::find(found.begin(), found.end(), c.reason), found.end())
        << "expected: " << c.reason << "\n first found: " << (found.empty() ? "(none)" : found[0]);
  }
}

// Operators may create the tables themselves: no application_id, no types, no keys, rollback journal.
TEST(RoutingDbLoad, TablesMadeByAnOperatorLoadWithStrictTypesAndNoDuplicates) {
  TempDir dir;
  const fs::path file = dir.path() / "handmade.db";
  run_sql(file,
          "CREATE TABLE backends(id, app, region, country, continent, target, weight, soft_limit, hard_limit,"
          " healthy, deleted, comment);"
          "CREATE TABLE geo_overrides(cidr, country, continent, region);");
  run_sql(file, insert({.id = "'dup'", .target = "'10.0.0.1:1'"}) + insert({.id = "'dup'", .target = "'10.0.0.2:2'"}) +
                    insert({.id = "5"}) + insert({.id = "'null-weight'", .weight = "NULL"}) +
                    insert({.id = "'text-weight'", .weight = "'7'"}) + insert({.id = "'null-id'"}) +
                    insert({.id = "NULL"}));
  run_sql(file, insert_override("'10.0.0.0/8'", "'DE'", "''", "''") + insert_override("'10.0.0.0/8'", "'FR'", "''", "''") +
                    insert_override("'2001:db8::/32'", "'DE'", "''", "''") +
                    insert_override("'2001:0db8::/32'", "'FR'", "''", "''"));
  const LoadedRouting loaded = load_ok(file);
  ASSERT_EQ(loaded.table.backends.size(), 2u);
  EXPECT_EQ(loaded.table.backends[0].id, "dup");
  EXPECT_EQ(loaded.table.backends[0].target.port, 1);  // the first row wins
  EXPECT_EQ(loaded.table.backends[1].id, "null-id");
  EXPECT_EQ(reasons(loaded, "backends", "dup"), std::vector<std::string>{"duplicate id: an earlier row has it"});
  EXPECT_EQ(reasons(loaded, "backends", ""), (std::vector<std::string>{"id 5 is integer, not text", "id is NULL"}));
  EXPECT_EQ(reasons(loaded, "backends", "null-weight"), std::vector<std::string>{"weight is NULL"});
  EXPECT_EQ(reasons(loaded, "backends", "text-weight"), std::vector<std::string>{"weight '7' is not an integer"});
  ASSERT_EQ(loaded.table.overrides.size(), 2u);
  EXPECT_EQ(loaded.table.overrides[0].country, "DE");
  EXPECT_EQ(loaded.table.overrides[1].country, "DE");
  EXPECT_EQ(reasons(loaded, "geo_overrides", "10.0.0.0/8"),
            std::vector<std::string>{"duplicate prefix: an earlier row has it"});
  EXPECT_EQ(reasons(loaded, "geo_overrides", "2001:db8::/32"),
            std::vector<std::string>{"duplicate prefix: an earlier row has it"});
  EXPECT_EQ(loaded.skipped.size(), 7u);
}

TEST(RoutingDbLoad, TakesAtMostTheRowLimits) {
  TempDir dir;
  const fs::path file = new_db(dir);
  run_sql(file, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 4096)"
                " INSERT INTO backends(id, target, soft_limit, hard_limit)"
                " SELECT printf('b%05d', i), '10.0.0.1:80', 1, 1 FROM n;"
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 65536)"
                " INSERT INTO geo_overrides(cidr, country)"
                " SELECT printf('2001:db8:%x:%x::/64', i / 65536, i % 65536), 'DE' FROM n;");
  const LoadedRouting loaded = load_ok(file);
  EXPECT_EQ(loaded.table.backends.size(), kMaxBackendRows);
  EXPECT_EQ(loaded.table.overrides.size(), kMaxOverrideRows);
  EXPECT_EQ(reasons(loaded, "backends", ""),
            std::vector<std::string>{"more than 4096 rows: the rows after the first 4096 were not read"});
  EXPECT_EQ(reasons(loaded, "geo_overrides", ""),
            std::vector<std::string>{"more than 65536 rows: the rows after the first 65536 were not read"});
}

// ---- load: broken files ----

TEST(RoutingDbLoad, MissingTableOrColumnIsAnErrorNamingIt) {
  TempDir dir;
  const fs::path no_table = dir.path() / "no-table.db";
  run_sql(no_table, "CREATE TABLE backends(id, app, region, country, continent, target, weight, soft_limit,"
                    " hard_limit, healthy, deleted);");
  expect_load_error(no_table, "has no table geo_overrides");

  const fs::path no_column = dir.path() / "no-column.db";
  run_sql(no_column, "CREATE TABLE backends(id, app, region, country, continent, target, weight, hard_limit,"
                     " healthy, deleted); CREATE TABLE geo_overrides(cidr, country, continent, region);");
  expect_load_error(no_column, "has no column soft_limit in table backends");

  const fs::path view = dir.path() / "view.db";
  run_sql(view, "CREATE VIEW backends AS SELECT 1; CREATE TABLE geo_overrides(cidr, country, continent, region);");
  expect_load_error(view, "has a view backends, not a table");

  const fs::path empty = dir.path() / "empty.db";
  write_file(empty, "");
  expect_load_error(empty, "has no table backends");
}

TEST(RoutingDbLoad, MissingFileAndDirectoryAreErrors) {
  TempDir dir;
  expect_load_error(dir.path() / "absent.db", "does not exist");
  EXPECT_FALSE(fs::exists(dir.path() / "absent.db"));
  expect_load_error(dir.path(), "is a directory");
}

TEST(RoutingDbLoad, GarbageFileIsAnErrorAndStaysUntouched) {
  TempDir dir;
  const fs::path file = dir.path() / "routing.db";
  std::mt19937 rng(7);
  std::string garbage(16384, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  write_file(file, garbage);
  expect_load_error(file, "is not a SQLite database or is damaged");
  EXPECT_EQ(read_file(file), garbage);
}

TEST(RoutingDbLoad, TruncatedFileIsAnErrorAndStaysUntouched) {
  TempDir dir;
  const fs::path file = new_db(dir);
  {
    Sql sql(file);
    sql.run("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
            " INSERT INTO backends(id, target, soft_limit, hard_limit)"
            " SELECT printf('backend-%05d', i), '10.0.0.1:80', 1, 1 FROM n;"
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 300)"
            " INSERT INTO geo_overrides(cidr, country) SELECT printf('10.%d.%d.0/24', i / 256, i % 256), 'DE' FROM n;");
  }  // the last connection checkpoints the WAL into the file
  ASSERT_FALSE(fs::exists(file.string() + "-wal"));
  fs::resize_file(file, fs::file_size(file) / 2);
  const std::string truncated = read_file(file);
  expect_load_error(file, "is not a SQLite database or is damaged");
  EXPECT_EQ(read_file(file), truncated);
}

// ---- load: concurrency ----

TEST(RoutingDbLoad, SeesOnlyCommittedRowsWhileAnotherConnectionWrites) {
  TempDir dir;
  const fs::path file = new_db(dir);
  Sql writer(file);
  writer.run(insert({.id = "'one'"}));
  writer.run("BEGIN IMMEDIATE;" + insert({.id = "'two'"}));  // holds the write lock, uncommitted
  EXPECT_EQ(load_ok(file).table.backends.size(), 1u);
  writer.run("COMMIT");
  EXPECT_EQ(load_ok(file).table.backends.size(), 2u);
  EXPECT_EQ(writer.text("PRAGMA journal_mode"), "wal");
}

// Each writer transaction adds one backend and one override: a load that read the tables in two
// snapshots would see different counts.
TEST(RoutingDbLoad, ReadsBothTablesFromOneSnapshotUnderConcurrentCommits) {
  TempDir dir;
  const fs::path file = new_db(dir);
  constexpr int kCommits = 300;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    Sql sql(file);
    for (int i = 0; i < kCommits; ++i) {
      const std::string n = std::to_string(i);
      sql.run("BEGIN IMMEDIATE;" + insert({.id = "'b" + n + "'"}) +
              insert_override("'10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24'", "'DE'", "''",
                              "''") + "COMMIT;");
    }
    done = true;
  });
  int loads = 0;
  while (!done || loads == 0) {
    const LoadedRouting loaded = load_ok(file);
    if (loaded.table.backends.size() != loaded.table.overrides.size()) {
      ADD_FAILURE() << loaded.table.backends.size() << " backends but " << loaded.table.overrides.size()
                    << " overrides: the tables came from different snapshots";
      break;
    }
    ++loads;
  }
  writer.join();
  EXPECT_EQ(load_ok(file).table.backends.size(), static_cast<std::size_t>(kCommits));
}

// ---- watcher ----

TEST(RoutingDbWatcher, ReportsTheFirstCallThenNothingWhenNothingHappens) {
  TempDir dir;
  const fs::path file = new_db(dir);
  RoutingDbWatcher watcher(file);
  EXPECT_TRUE(watcher.changed());
  EXPECT_FALSE(watcher.changed());
  EXPECT_EQ(load_ok(file).table.backends.size(), 0u);  // reading is not a change
  EXPECT_FALSE(watcher.changed());
}

TEST(RoutingDbWatcher, SeesACommitFromAnotherConnection) {
  TempDir dir;
  const fs::path file = new_db(dir);
  Sql writer(file);
  RoutingDbWatcher watcher(file);
  EXPECT_TRUE(watcher.changed());
  EXPECT_FALSE(watcher.changed());
  writer.run(insert({.id = "'a'"}));
  EXPECT_TRUE(watcher.changed());
  EXPECT_FALSE(watcher.changed());
  writer.run("BEGIN IMMEDIATE;" + insert({.id = "'b'"}));
  EXPECT_FALSE(watcher.changed());  // not committed yet
  writer.run("COMMIT");
  EXPECT_TRUE(watcher.changed());
  run_sql(file, "UPDATE backends SET healthy = 0 WHERE id = 'a'");  // a short-lived connection
  EXPECT_TRUE(watcher.changed());
  EXPECT_FALSE(watcher.changed());
}

TEST(RoutingDbWatcher, SeesTheFileReplacedByRename) {
  TempDir dir;
  const fs::path file = new_db(dir);
  RoutingDbWatcher watcher(file);
  EXPECT_TRUE(watcher.changed());
  run_sql(file, insert({.id = "'old'"}));  // stays in the WAL: the watcher keeps the file open
  EXPECT_TRUE(watcher.changed());
  const fs::path next = new_db(dir, "routing.db.new");
  run_sql(next, insert({.id = "'new'"}));
  // The documented recipe: empty the old file's WAL, so it cannot be mistaken for the new one's.
  run_sql(file, "PRAGMA wal_checkpoint(TRUNCATE)");
  watcher.changed();  // the checkpoint may have written the file
  EXPECT_FALSE(watcher.changed());
  fs::rename(next, file);
  EXPECT_TRUE(watcher.changed());
  EXPECT_FALSE(watcher.changed());
  const LoadedRouting loaded = load_ok(file);
  ASSERT_EQ(loaded.table.backends.size(), 1u);
  EXPECT_EQ(loaded.table.backends[0].id, "new");
  run_sql(file, insert({.id = "'newer'"}));
  EXPECT_TRUE(watcher.changed());
}

TEST(RoutingDbWatcher, SurvivesTheFileVanishingAndComingBack) {
  TempDir dir;
  const fs::path file = new_db(dir);
  RoutingDbWatcher watcher(file);
  EXPECT_TRUE(watcher.changed());
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(file.string() + suffix);
  EXPECT_TRUE(watcher.changed());  // gone: a load now reports it
  EXPECT_FALSE(watcher.changed());
  EXPECT_FALSE(watcher.changed());
  new_db(dir);
  EXPECT_TRUE(watcher.changed());
  EXPECT_FALSE(watcher.changed());
  run_sql(file, insert({.id = "'a'"}));
  EXPECT_TRUE(watcher.changed());
}

TEST(RoutingDbWatcher, HandlesAPathThatNeverExistedOrIsNotADatabase) {
  TempDir dir;
  const fs::path file = dir.path() / "routing.db";
  RoutingDbWatcher watcher(file);
  EXPECT_TRUE(watcher.changed());
  EXPECT_FALSE(watcher.changed());
  write_file(file, std::string(4096, 'x'));
  EXPECT_TRUE(watcher.changed());
  EXPECT_FALSE(watcher.changed());  // still garbage: nothing new to load
  RoutingDbWatcher moved = std::move(watcher);
  EXPECT_FALSE(moved.changed());
}

}  // namespace
}  // namespace hop::proxy
