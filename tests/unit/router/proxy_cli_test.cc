// `hopline proxy`: the status text from a canned GET /api/v1/proxy answer, and init-db, check and
// explain against real routing.db files (made here with SQL) and the MaxMind test database.
#include "hop/router/proxy_cli.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hop/core/sqlite.h"
#include "hop/proxy/routing_db.h"
#include "hop/router/json_reader.h"
#include "support/temp_dir.h"

namespace hop::router {
namespace {

namespace fs = std::filesystem;
using hop::test::TempDir;

const std::string kGeoIp = HOP_SHARED_DIR "/geoip/GeoLite2-Country-Test.mmdb";
// In GeoLite2-Country-Test.json: 89.160.20.112/28 is SE (EU). 192.0.2.1 (TEST-NET-1) is in no record.
const std::string kSwedish = "89.160.20.113";
const std::string kUnlisted = "192.0.2.1";

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

Outcome proxy_cli(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  Outcome o;
  o.code = run_proxy_command(args, out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void run_sql(const fs::path& file, const std::string& sql) {
  core::sqlite::Database db;
  ASSERT_EQ(db.open(file, SQLITE_OPEN_READWRITE), SQLITE_OK) << db.error();
  ASSERT_EQ(db.exec(sql.c_str()), SQLITE_OK) << sql << ": " << db.error();
}

std::string backend(const std::string& id, const std::string& app, const std::string& country,
                    const std::string& continent, int healthy = 1, const std::string& region = "") {
  return "INSERT INTO backends(id, app, region, country, continent, target, soft_limit, hard_limit, healthy) VALUES('" +
         id + "','" + app + "','" + region + "','" + country + "','" + continent + "','127.0.0.1:" +
         std::to_string(9000 + id.size()) + "',10,20," + std::to_string(healthy) + ");";
}

// The POP's routing.db: a Swedish backend, a German one, one in the POP's region (us, "pop"), a
// drained Swedish one, one Swedish for the app "shop" only; 198.51.100.0/24 placed in the US
// (inside a /16 placed in DE, so the most specific must win).
fs::path pop_db(const TempDir& dir) {
  const fs::path file = dir.path() / "routing.db";
  EXPECT_TRUE(proxy::init_routing_db(file).ok());
  run_sql(file, "BEGIN;" + backend("se-1", "", "SE", "EU") + backend("de-1", "", "DE", "EU") +
                    backend("us-1", "", "US", "NA", 1, "pop") + backend("se-down", "", "SE", "EU", 0) +
                    backend("shop-se", "shop", "SE", "EU") +
                    "INSERT INTO geo_overrides(cidr, country, continent) VALUES('198.51.0.0/16','DE','EU'),"
                    "('198.51.100.0/24','US','NA');COMMIT;");
  return file;
}

// The line of `text` that starts (after blanks) with `start`, or "".
std::string line_of(const std::string& text, const std::string& start) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, start.size(), start) == 0) return line;
  }
  return "";
}

bool has_all(const std::string& line, std::initializer_list<const char*> parts) {
  for (const char* part : parts) {
    if (line.find(part) == std::string::npos) return false;
  }
  return true;
}

std::vector<std::string> explain(const fs::path& db, const std::string& ip, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"explain", "--routing-db", db.string(), "--ip", ip};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// ---- status ----

constexpr const char* kEnabledAnswer = R"json({"enabled": true, "workers": 2,
 "listeners": [{"address": "127.0.0.1:8080", "app": "", "proxy_protocol": "off"},
               {"address": "[::1]:8443", "app": "shop", "proxy_protocol": "v2"}],
 "routing": {"path": "/var/lib/hopline/routing.db", "version": 3, "loaded_at": "2026-12-01T12:00:00Z", "backends": 2,
             "overrides": 2, "skipped": [{"table": "backends", "key": "x", "reason": "hard_limit 5 is below soft_limit 10"}],
             "last_error": "routing.db file /var/lib/hopline/routing.db is not a SQLite database",
             "last_error_at": "2026-12-01T12:05:00Z", "geoip": "GeoLite2-Country (built 2024-05-07)", "geoip_error": ""},
 "connections": {"current": 5, "accepted_total": 100, "max": 20000},
 "refused": {"no_backend": 7, "all_backends_failed": 0, "max_connections": 0, "client_rate": 0, "proxy_header": 0,
             "header_timeout": 0, "draining": 0},
 "accept_errors": 0, "geoip_misses": 4, "geoip_errors": 0, "override_hits": 9, "affinity_hits": 11,
 "affinity": {"entries": 10, "capacity": 65536, "ttl_seconds": 600},
 "selection": {"count": 100, "mean_us": 0.8},
 "backends": [{"id": "de-1", "app": "", "region": "", "country": "DE", "continent": "EU", "target": "127.0.0.1:9000",
               "weight": 1, "soft_limit": 10, "hard_limit": 20, "healthy": true, "breaker": "closed",
               "active": 3, "connections_total": 42, "bytes_to_backend": 1500, "bytes_from_backend": 2500000,
               "connect_time_ms": 0.12,
               "errors": {"connect_refused": 2, "connect_timeout": 1, "connect_error": 0, "reset": 4}},
              {"id": "fr-1", "app": "shop", "region": "eu-west", "country": "FR", "continent": "EU",
               "target": "127.0.0.1:9001", "weight": 1, "soft_limit": 5, "hard_limit": 8, "healthy": false,
               "breaker": "open", "active": 0, "connections_total": 0, "bytes_to_backend": 0, "bytes_from_backend": 0,
               "connect_time_ms": 0, "errors": {"connect_refused": 0, "connect_timeout": 0, "connect_error": 0, "reset": 0}}]})json";

TEST(ProxyCliStatus, AnEnabledProxyShowsListenersRoutingCountersAndABackendsTable) {
  auto doc = parse_json(kEnabledAnswer);
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  auto text = format_proxy_status(*doc);
  ASSERT_TRUE(text.ok()) << text.error().message();
  const std::string& t = *text;
  EXPECT_NE(line_of(t, "proxy:").find("enabled, 2 workers"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "[::1]:8443").find("shop  v2"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "127.0.0.1:8080").find("-     off"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "routing.db:").find("/var/lib/hopline/routing.db, version 3, loaded 2026-12-01T12:00:00Z"),
            std::string::npos) << t;
  EXPECT_NE(t.find("2 backends, 2 geo overrides, 1 row skipped"), std::string::npos) << t;
  EXPECT_NE(t.find("skipped backends row 'x': hard_limit 5 is below soft_limit 10"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "last error:").find("is not a SQLite database (at 2026-12-01T12:05:00Z"), std::string::npos) << t;
  EXPECT_EQ(line_of(t, "GeoIP error:"), "") << "an empty geoip_error is not shown: " << t;
  EXPECT_NE(line_of(t, "connections:").find("5 open (at most 20000), 100 accepted"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "refused:").find("no_backend 7, all_backends_failed 0"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "hits:").find("geo_override 9, affinity 11"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "affinity:").find("10 of 65536 bindings, ttl 600 s"), std::string::npos) << t;

  const std::string de = line_of(t, "de-1 ");
  for (const char* want : {"DE/EU/-", "127.0.0.1:9000", "3/10/20", "healthy, closed", "42", "1.5 KB / 2.5 MB",
                           "0.12 ms"}) {
    EXPECT_NE(de.find(want), std::string::npos) << want << " in: " << de;
  }
  EXPECT_TRUE(de.ends_with("  7")) << "errors are summed: " << de;
  const std::string fr = line_of(t, "fr-1 ");
  EXPECT_NE(fr.find("unhealthy, open"), std::string::npos) << fr;
  EXPECT_NE(fr.find("FR/EU/eu-west"), std::string::npos) << fr;
  EXPECT_NE(line_of(t, "id ").find("active/soft/hard"), std::string::npos) << "a header row: " << t;
}

TEST(ProxyCliStatus, ADisabledProxySaysHowToTurnItOn) {
  auto text = format_proxy_status(*parse_json(R"({"enabled": false})"));
  ASSERT_TRUE(text.ok()) << text.error().message();
  EXPECT_NE(text->find("this node runs no geo-proxy"), std::string::npos) << *text;
  EXPECT_NE(text->find("proxy.listen"), std::string::npos) << *text;
}

TEST(ProxyCliStatus, AnAnswerOfAnotherShapeIsAnError) {
  EXPECT_FALSE(format_proxy_status(*parse_json("[]")).ok());
  EXPECT_FALSE(format_proxy_status(*parse_json(R"({"workers": 2})")).ok());
  const auto sparse = format_proxy_status(*parse_json(R"({"enabled": true})"));
  ASSERT_TRUE(sparse.ok()) << "missing members print as '-': " << sparse.error().message();
  EXPECT_NE(sparse->find("backends: none"), std::string::npos) << *sparse;
}

TEST(ProxyCliStatus, AnUnreachableConsoleIsExit1AndABadUrlIsUsage) {
  auto down = proxy_cli({"--console", "http://127.0.0.1:1"});
  EXPECT_EQ(down.code, 1);
  EXPECT_NE(down.err.find("cannot reach the console at http://127.0.0.1:1"), std::string::npos) << down.err;
  EXPECT_EQ(proxy_cli({"status", "--console", "https://127.0.0.1:1"}).code, 2);
  EXPECT_EQ(proxy_cli({"status", "--ip", "1.2.3.4"}).code, 2) << "--ip goes with explain";
}

// ---- init-db and check ----

TEST(ProxyCliInitDb, CreatesAnEmptyRoutingDbAndRefusesToTouchAnExistingFile) {
  TempDir dir;
  const fs::path file = dir.path() / "routing.db";
  auto made = proxy_cli({"init-db", file.string()});
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_NE(made.out.find("created routing.db " + file.string()), std::string::npos) << made.out;
  EXPECT_NE(made.out.find("INSERT INTO backends"), std::string::npos) << made.out;
  EXPECT_NE(made.out.find("docs/routing_db.md"), std::string::npos) << made.out;
  EXPECT_TRUE(proxy::load_routing_db(file).ok());

  auto again = proxy_cli({"init-db", file.string()});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already has a routing.db schema"), std::string::npos) << again.err;

  const fs::path other = dir.path() / "notes.txt";
  std::ofstream(other) << "not a database\n";
  auto refused = proxy_cli({"init-db", other.string()});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find(other.string()), std::string::npos) << refused.err;
  EXPECT_EQ(slurp(other), "not a database\n") << "left untouched";
  EXPECT_EQ(proxy_cli({"init-db"}).code, 2);
  EXPECT_EQ(proxy_cli({"init-db", "a", "b"}).code, 2);
}

TEST(ProxyCliCheck, ListsBackendsOverridesAndEverySkippedRowWithItsReason) {
  TempDir dir;
  const fs::path file = pop_db(dir);
  run_sql(file, "INSERT INTO backends(id, target, soft_limit, hard_limit) VALUES('tight', '127.0.0.1:1', 10, 5);"
                "INSERT INTO backends(id, target, soft_limit, hard_limit) VALUES('named', 'db.example.com:80', 1, 1);");
  auto c = proxy_cli({"check", "--routing-db", file.string(), "--geoip", kGeoIp});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(line_of(c.out, "se-down").find("no (drained)"), std::string::npos) << c.out;
  EXPECT_NE(line_of(c.out, "shop-se").find("shop"), std::string::npos) << c.out;
  EXPECT_LT(c.out.find("198.51.100.0/24"), c.out.find("198.51.0.0/16")) << "most specific first: " << c.out;
  EXPECT_NE(line_of(c.out, "backends  tight").find("hard_limit 5 is below soft_limit 10"), std::string::npos) << c.out;
  EXPECT_NE(line_of(c.out, "backends  named").find("hostname"), std::string::npos) << c.out;
  EXPECT_NE(line_of(c.out, "loads:").find("5 backends, 2 geo overrides, 2 rows skipped"), std::string::npos) << c.out;
  EXPECT_NE(line_of(c.out, "GeoIP:").find("GeoLite2-Country"), std::string::npos) << c.out;
}

TEST(ProxyCliCheck, AFileThatCannotLoadIsExit1NamingIt) {
  TempDir dir;
  const fs::path missing = dir.path() / "nope.db";
  auto c = proxy_cli({"check", "--routing-db", missing.string()});
  EXPECT_EQ(c.code, 1);
  EXPECT_NE(c.err.find(missing.string() + " does not exist"), std::string::npos) << c.err;
  EXPECT_FALSE(fs::exists(missing)) << "check never creates the file";
  const fs::path db = pop_db(dir);
  auto g = proxy_cli({"check", "--routing-db", db.string(), "--geoip", (dir.path() / "no.mmdb").string()});
  EXPECT_EQ(g.code, 1);
  EXPECT_NE(g.err.find("no.mmdb"), std::string::npos) << g.err;
  EXPECT_EQ(proxy_cli({"check"}).code, 2);
  EXPECT_EQ(proxy_cli({"check", "--routing-db", db.string(), "--config", "x.conf"}).code, 2);
}

// ---- explain ----

TEST(ProxyCliExplain, AGeoIpClientGoesToItsCountryAndEveryOtherBackendSaysWhy) {
  TempDir dir;
  auto e = proxy_cli(explain(pop_db(dir), kSwedish, {"--geoip", kGeoIp, "--region", "POP"}));
  ASSERT_EQ(e.code, 0) << e.err;
  const std::string& t = e.out;
  EXPECT_NE(line_of(t, "client:").find(kSwedish), std::string::npos) << t;
  EXPECT_NE(line_of(t, "place:").find("country SE, continent EU (GeoIP: GeoLite2-Country"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "POP region:").find("pop"), std::string::npos) << "--region is folded to lower case: " << t;
  EXPECT_NE(t.find("no open connections (all slots empty)"), std::string::npos) << t;
  EXPECT_NE(t.find("affinity is not considered"), std::string::npos) << t;
  EXPECT_TRUE(has_all(line_of(t, "se-1 "), {"country", " 0.1 ", "candidate"})) << t;
  EXPECT_NE(line_of(t, "de-1 ").find("near"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "us-1 ").find("pop-region"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "se-down ").find("left out: unhealthy in routing.db"), std::string::npos) << t;
  EXPECT_NE(line_of(t, "shop-se ").find("left out: serves app 'shop'"), std::string::npos) << t;
  EXPECT_LT(t.find("se-1 "), t.find("de-1 ")) << "candidates best first";
  EXPECT_LT(t.find("us-1 "), t.find("se-down ")) << "then those left out";
  EXPECT_EQ(line_of(t, "would choose:"), "would choose: se-1 (tier country, score 0.1)") << t;
}

TEST(ProxyCliExplain, TheMostSpecificGeoOverrideWinsOverGeoIpAndIsNamed) {
  TempDir dir;
  auto e = proxy_cli(explain(pop_db(dir), "198.51.100.7", {"--geoip", kGeoIp}));
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_NE(line_of(e.out, "place:").find("country US, continent NA (geo_override 198.51.100.0/24)"), std::string::npos)
      << e.out;
  EXPECT_EQ(line_of(e.out, "would choose:"), "would choose: us-1 (tier country, score 0.1)") << e.out;
}

TEST(ProxyCliExplain, AnUnknownClientIsSaidSoAndTakesThePopRegion) {
  TempDir dir;
  const fs::path db = pop_db(dir);
  auto e = proxy_cli(explain(db, kUnlisted, {"--geoip", kGeoIp, "--region", "pop"}));
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_NE(line_of(e.out, "place:").find("unknown (not in the GeoIP database"), std::string::npos) << e.out;
  EXPECT_NE(line_of(e.out, "se-1 ").find("other"), std::string::npos) << e.out;
  EXPECT_EQ(line_of(e.out, "would choose:"), "would choose: us-1 (tier pop-region, score 0.1)") << e.out;

  auto no_geoip = proxy_cli(explain(db, kSwedish));
  ASSERT_EQ(no_geoip.code, 0) << no_geoip.err;
  EXPECT_NE(line_of(no_geoip.out, "place:").find("unknown (no GeoIP database configured"), std::string::npos)
      << no_geoip.out;
  EXPECT_NE(line_of(no_geoip.out, "GeoIP:").find("none configured"), std::string::npos) << no_geoip.out;
  EXPECT_NE(no_geoip.out.find("2 other candidates have the same tier and score"), std::string::npos) << no_geoip.out;
}

TEST(ProxyCliExplain, AnAppsClientAlsoGetsThatAppsBackends) {
  TempDir dir;
  auto e = proxy_cli(explain(pop_db(dir), kSwedish, {"--geoip", kGeoIp, "--app", "shop"}));
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_TRUE(has_all(line_of(e.out, "shop-se "), {"country", " 0.1 ", "candidate"})) << e.out;
  EXPECT_NE(e.out.find("1 other candidate has the same tier and score"), std::string::npos) << e.out;
}

TEST(ProxyCliExplain, WithoutAUsableBackendItSaysWhy) {
  TempDir dir;
  const fs::path file = dir.path() / "routing.db";
  ASSERT_TRUE(proxy::init_routing_db(file).ok());
  auto empty = proxy_cli(explain(file, kSwedish));
  ASSERT_EQ(empty.code, 0) << empty.err;
  EXPECT_NE(empty.out.find("no backend can take this client: routing.db has no backends"), std::string::npos) << empty.out;
  run_sql(file, backend("down", "", "SE", "EU", 0) + backend("web", "web", "SE", "EU"));
  auto down = proxy_cli(explain(file, kSwedish));
  EXPECT_NE(down.out.find("no backend can take this client: every backend that serves this app is left out"),
            std::string::npos) << down.out;
  run_sql(file, "DELETE FROM backends WHERE id = 'down';");
  auto other_app = proxy_cli(explain(file, kSwedish, {"--app", "shop"}));
  EXPECT_NE(other_app.out.find("no backend can take this client: no backend serves app 'shop'"), std::string::npos)
      << other_app.out;
}

TEST(ProxyCliExplain, JsonHasThePlaceEveryBackendAndTheChoice) {
  TempDir dir;
  auto e = proxy_cli(explain(pop_db(dir), "198.51.100.7", {"--json"}));
  ASSERT_EQ(e.code, 0) << e.err;
  auto doc = parse_json(e.out);
  ASSERT_TRUE(doc.ok()) << doc.error().message() << ": " << e.out;
  EXPECT_EQ((*doc)["client"].as_text(), "198.51.100.7");
  EXPECT_EQ((*doc)["place"]["source"].as_text(), "geo_override");
  EXPECT_EQ((*doc)["place"]["geo_override"].as_text(), "198.51.100.0/24");
  EXPECT_TRUE((*doc)["geoip"].is_null());
  EXPECT_EQ((*doc)["choice"]["id"].as_text(), "us-1");
  EXPECT_EQ((*doc)["choice"]["tier"].as_text(), "country");
  ASSERT_EQ((*doc)["backends"].items().size(), 5u);
  const auto& last = (*doc)["backends"].items().back();
  EXPECT_EQ(last["candidate"].as_bool(), false);
  EXPECT_FALSE(last["excluded"].as_text()->empty());
  EXPECT_NE((*doc)["assumptions"].as_text()->find("all slots empty"), std::string::npos);
}

TEST(ProxyCliExplain, TakesTheFilesAndRegionFromANodeConfig) {
  TempDir dir;
  pop_db(dir);  // routing.db in the data dir, named relatively by the config
  const fs::path conf = dir.path() / "node.conf";
  std::ofstream(conf) << "data_dir = " << dir.path().string() << "\n[proxy]\nrouting_db = routing.db\ngeoip = " << kGeoIp
                      << "\nregion = pop\n";
  auto e = proxy_cli({"explain", "--config", conf.string(), "--ip", kUnlisted});
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_NE(line_of(e.out, "routing.db:").find((dir.path() / "routing.db").string()), std::string::npos) << e.out;
  EXPECT_EQ(line_of(e.out, "would choose:"), "would choose: us-1 (tier pop-region, score 0.1)") << e.out;
  auto c = proxy_cli({"check", "--config", conf.string()});
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(proxy_cli({"explain", "--config", conf.string(), "--ip", kUnlisted, "--geoip", kGeoIp}).code, 2)
      << "--geoip goes with --routing-db";
  auto missing = proxy_cli({"explain", "--config", (dir.path() / "none.conf").string(), "--ip", kUnlisted});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("none.conf"), std::string::npos) << missing.err;
}

TEST(ProxyCliExplain, BadArgumentsAreUsageErrors) {
  TempDir dir;
  const fs::path db = pop_db(dir);
  auto no_ip = proxy_cli({"explain", "--routing-db", db.string()});
  EXPECT_EQ(no_ip.code, 2);
  EXPECT_NE(no_ip.err.find("explain needs --ip ADDR"), std::string::npos) << no_ip.err;
  auto bad_ip = proxy_cli(explain(db, "1.2.3"));
  EXPECT_EQ(bad_ip.code, 2);
  EXPECT_NE(bad_ip.err.find("--ip '1.2.3' is not an IPv4 or IPv6 address"), std::string::npos) << bad_ip.err;
  EXPECT_EQ(proxy_cli({"explain", "--ip", kSwedish}).code, 2) << "no source";
  EXPECT_EQ(proxy_cli({"frobnicate"}).code, 2);
  EXPECT_EQ(proxy_cli({"explain", "--routing-db", db.string(), "--ip", kSwedish, "--bogus"}).code, 2);
  EXPECT_EQ(proxy_cli({"help"}).code, 0);
}

}  // namespace
}  // namespace hop::router
