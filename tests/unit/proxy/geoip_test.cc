#include "hop/proxy/geoip.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "hop/core/bytes.h"
#include "hop/proxy/errors.h"

namespace hop::proxy {
namespace {

namespace fs = std::filesystem;
using core::Bytes;

const fs::path kGeoDir = fs::path(HOP_SHARED_DIR) / "geoip";
const fs::path kCountryDb = kGeoDir / "GeoLite2-Country-Test.mmdb";
const fs::path kCityDb = kGeoDir / "GeoLite2-City-Test.mmdb";

IpAddress ip(std::string_view s) { return *parse_ip(s); }

std::unique_ptr<GeoIp> open_ok(const fs::path& path) {
  auto db = GeoIp::open(path);
  EXPECT_TRUE(db.ok()) << db.error().message();
  return db.ok() ? std::move(*db) : nullptr;
}

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::path(testing::TempDir()) / ("hop_geoip_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

fs::path write_file(const std::string& name, const Bytes& bytes) {
  const fs::path path = scratch(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

Bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// ---- A minimal MaxMind DB writer (format spec v2.0), so tests control every record. ----

Bytes uint_field(unsigned type, std::uint64_t value) {
  Bytes digits;
  for (; value != 0; value >>= 8) digits.insert(digits.begin(), static_cast<std::uint8_t>(value));
  Bytes out;
  if (type <= 7) {
    out.push_back(static_cast<std::uint8_t>(type << 5 | digits.size()));
  } else {  // extended type: control byte type 0, then type - 7
    out.push_back(static_cast<std::uint8_t>(digits.size()));
    out.push_back(static_cast<std::uint8_t>(type - 7));
  }
  core::append(out, digits);
  return out;
}
Bytes u16(std::uint16_t v) { return uint_field(5, v); }
Bytes u32(std::uint32_t v) { return uint_field(6, v); }
Bytes u64(std::uint64_t v) { return uint_field(9, v); }
Bytes str(std::string_view s) {
  Bytes out = {static_cast<std::uint8_t>(2 << 5 | s.size())};  // tests use strings under 29 bytes
  core::append(out, core::as_bytes(s));
  return out;
}
Bytes map(std::initializer_list<std::pair<std::string_view, Bytes>> entries) {
  Bytes out = {static_cast<std::uint8_t>(7 << 5 | entries.size())};
  for (const auto& [key, value] : entries) {
    core::append(out, str(key));
    core::append(out, value);
  }
  return out;
}
Bytes empty_array() { return {0x00, 0x04}; }  // extended type 11, size 0

// An IPv4 database of 24-bit records whose node i sends addresses starting with i one-bits and a
// zero to records[i]: 0.0.0.0/1 -> 0, 128.0.0.0/2 -> 1, 192.0.0.0/3 -> 2, ... the rest not found.
Bytes build_mmdb(const std::vector<Bytes>& records, std::string_view type, std::uint64_t epoch) {
  const auto nodes = static_cast<std::uint32_t>(records.size());
  Bytes out;
  std::uint32_t offset = 0;
  for (std::uint32_t i = 0; i < nodes; ++i) {
    const std::uint32_t left = nodes + 16 + offset;
    const std::uint32_t right = i + 1;  // == nodes on the last node: not found
    for (const std::uint32_t r : {left, right}) {
      out.push_back(static_cast<std::uint8_t>(r >> 16));
      out.push_back(static_cast<std::uint8_t>(r >> 8));
      out.push_back(static_cast<std::uint8_t>(r));
    }
    offset += static_cast<std::uint32_t>(records[i].size());
  }
  out.resize(out.size() + 16, 0);  // data section separator
  for (const auto& record : records) core::append(out, record);
  core::append(out, core::as_bytes("\xAB\xCD\xEFMaxMind.com"));
  core::append(out, map({{"node_count", u32(nodes)},
                         {"record_size", u16(24)},
                         {"ip_version", u16(4)},
                         {"database_type", str(type)},
                         {"languages", empty_array()},
                         {"binary_format_major_version", u16(2)},
                         {"binary_format_minor_version", u16(0)},
                         {"build_epoch", u64(epoch)},
                         {"description", map({{"en", str("hopline test")}})}}));
  return out;
}

// ---- Lookups in the MaxMind test databases (facts from the JSON files beside them). ----

struct Expected {
  const char* address;
  const char* country;
  const char* continent;
};

void expect_places(const GeoIp& db, std::initializer_list<Expected> table) {
  for (const auto& e : table) {
    auto place = db.lookup(ip(e.address));
    ASSERT_TRUE(place.ok()) << e.address << ": " << place.error().message();
    ASSERT_TRUE(place->has_value()) << e.address << " not found";
    EXPECT_EQ((*place)->country, e.country) << e.address;
    EXPECT_EQ((*place)->continent, e.continent) << e.address;
    EXPECT_EQ((*place)->region, "") << e.address;
    EXPECT_EQ((*place)->source, Place::Source::kGeoIp) << e.address;
  }
}

void expect_not_found(const GeoIp& db, std::initializer_list<const char*> addresses) {
  for (const char* address : addresses) {
    auto place = db.lookup(ip(address));
    ASSERT_TRUE(place.ok()) << address << ": " << place.error().message();
    EXPECT_FALSE(place->has_value()) << address << " -> " << (*place)->country;
  }
}

TEST(GeoIp, CountryDbIpv4) {
  auto db = open_ok(kCountryDb);
  ASSERT_TRUE(db);
  expect_places(*db, {{"2.125.160.218", "GB", "EU"},   // registered in FR: the located country wins
                      {"81.2.69.142", "GB", "EU"},
                      {"81.2.69.200", "GB", "EU"},
                      {"50.114.0.1", "US", "NA"},
                      {"89.160.20.112", "SE", "EU"},
                      {"89.160.20.250", "SE", "EU"},
                      {"67.43.156.7", "BT", "AS"},
                      {"216.160.83.60", "US", "NA"},
                      {"202.196.224.1", "PH", "AS"},
                      {"111.235.160.1", "CN", "AS"},
                      {"217.65.48.1", "GI", "EU"},
                      {"214.78.31.255", "US", "NA"}});
}

TEST(GeoIp, CountryDbIpv6) {
  auto db = open_ok(kCountryDb);
  ASSERT_TRUE(db);
  expect_places(*db, {{"2001:218::1", "JP", "AS"},
                      {"2001:2e0:ffff::1", "HK", "AS"},
                      {"2a02:d040::1", "SE", "EU"},
                      {"2a02:e700::1", "LY", "AF"},
                      {"2a02:ff40::1", "IM", "EU"},
                      {"2001:480::1", "US", "NA"},
                      // IPv4-mapped is looked up as IPv4; 6to4 is aliased to IPv4 by the db.
                      {"::ffff:81.2.69.142", "GB", "EU"},
                      {"2002:5102:458e::1", "GB", "EU"}});
}

TEST(GeoIp, RecordWithOnlyAContinent) {
  auto db = open_ok(kCountryDb);
  ASSERT_TRUE(db);
  auto place = db->lookup(ip("2a02:d500::1"));  // the JSON gives only "continent": EU
  ASSERT_TRUE(place.ok()) << place.error().message();
  ASSERT_TRUE(place->has_value());
  EXPECT_EQ((*place)->country, "");
  EXPECT_EQ((*place)->continent, "EU");
}

TEST(GeoIp, AddressesNotInTheDatabases) {
  for (const auto& path : {kCountryDb, kCityDb}) {
    auto db = open_ok(path);
    ASSERT_TRUE(db);
    expect_not_found(*db, {"1.2.3.4", "10.0.0.1", "127.0.0.1", "192.0.2.1", "81.2.69.141", "2001:db8::1", "::1",
                           "2a02:cf3f::1", "255.255.255.255"});
  }
}

TEST(GeoIp, CityDbAnswersLikeTheJson) {
  auto db = open_ok(kCityDb);
  ASSERT_TRUE(db);
  expect_places(*db, {{"81.2.69.160", "GB", "EU"},
                      {"89.160.20.128", "SE", "EU"},
                      {"175.16.199.1", "CN", "AS"},
                      {"216.160.83.56", "US", "NA"},
                      {"2001:220::1", "KR", "AS"},
                      {"2a02:d180::1", "DE", "EU"}});
  expect_not_found(*db, {"50.114.0.1", "111.235.160.1"});  // only in the country db
}

TEST(GeoIp, Description) {
  auto db = open_ok(kCountryDb);
  ASSERT_TRUE(db);
  EXPECT_EQ(db->description(), "GeoLite2-Country (built 2026-02-04) from " + kCountryDb.string());
}

TEST(GeoIp, ManyThreadsLookUpAtOnce) {
  auto db = open_ok(kCityDb);
  ASSERT_TRUE(db);
  std::vector<int> wrong(2, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        auto place = db->lookup(ip(i % 2 ? "89.160.20.130" : "2001:218::7"));
        if (!place.ok() || !place->has_value() || (*place)->country != (i % 2 ? "SE" : "JP")) ++wrong[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong[0] + wrong[1], 0);
}

// ---- Records the test databases lack, written with build_mmdb. ----

TEST(GeoIp, FallsBackToRegisteredCountryAndChecksCodes) {
  const std::vector<Bytes> records = {
      map({{"country", map({{"iso_code", str("de")}})}, {"continent", map({{"code", str("EU")}})}}),
      map({{"registered_country", map({{"iso_code", str("US")}})}, {"continent", map({{"code", str("NA")}})}}),
      map({{"city", map({{"geoname_id", u32(2950159)}})}}),
      map({{"country", map({{"iso_code", u16(5)}})}}),
      map({{"country", map({{"iso_code", str("DEU")}})}}),
      map({{"country", map({{"iso_code", str("D1")}})}}),
  };
  const fs::path path = write_file("built.mmdb", build_mmdb(records, "GeoIP2-Country", 1700000000));
  auto db = open_ok(path);
  ASSERT_TRUE(db);
  expect_places(*db, {{"1.2.3.4", "DE", "EU"},  // lower case in the db, upper case out
                      {"130.0.0.1", "US", "NA"}});
  expect_not_found(*db, {"200.0.0.1", "255.255.255.255",
                         "2001:db8::1"});  // no country/continent; past the tree; IPv6 in an IPv4 db
  for (const char* address : {"230.0.0.1", "245.0.0.1", "250.0.0.1"}) {
    auto place = db->lookup(ip(address));
    ASSERT_FALSE(place.ok()) << address;
    EXPECT_EQ(place.error().code, make_error_code(Errc::kGeoIp));
    EXPECT_NE(place.error().message().find(path.string()), std::string::npos);
    EXPECT_NE(place.error().message().find(address), std::string::npos);
  }
  EXPECT_EQ(db->description(), "GeoIP2-Country, IPv4 only (built 2023-11-14) from " + path.string());
}

TEST(GeoIp, AbsurdBuildEpochIsNotADate) {
  const std::vector<Bytes> records = {map({{"country", map({{"iso_code", str("FR")}})}})};
  const fs::path path = write_file("epoch.mmdb", build_mmdb(records, "Test-City", UINT64_MAX));
  auto db = open_ok(path);
  ASSERT_TRUE(db);
  EXPECT_NE(db->description().find("unknown date"), std::string::npos);
}

// ---- open() errors: each names the file and says what is wrong. ----

void expect_open_error(const fs::path& path, const std::string& says) {
  auto db = GeoIp::open(path);
  ASSERT_FALSE(db.ok()) << path;
  EXPECT_EQ(db.error().code, make_error_code(Errc::kGeoIp));
  EXPECT_NE(db.error().message().find(path.string()), std::string::npos) << db.error().message();
  EXPECT_NE(db.error().message().find(says), std::string::npos) << db.error().message();
}

TEST(GeoIp, OpenErrorsNameTheFileAndTheProblem) {
  expect_open_error(kGeoDir / "no-such.mmdb", "does not exist");
  expect_open_error(kGeoDir, "is a directory");
  expect_open_error(write_file("empty.mmdb", {}), "is empty");
  expect_open_error(write_file("text.mmdb", Bytes(2000, 'x')), "not a MaxMind DB");
  const std::vector<Bytes> records = {map({{"autonomous_system_number", u32(64512)}})};
  expect_open_error(write_file("asn.mmdb", build_mmdb(records, "GeoLite2-ASN", 1700000000)), "no country data");
  expect_open_error(kGeoDir / "GeoIP2-City-Test-Invalid-Node-Count.mmdb", "corrupt");
}

TEST(GeoIp, UnreadableFile) {
  const fs::path path = write_file("unreadable.mmdb", read_file(kCountryDb));
  fs::permissions(path, fs::perms::none);
  if (std::ifstream(path).good()) GTEST_SKIP() << "running as root: permissions are not enforced";
  expect_open_error(path, "cannot be opened");
}

// ---- Damaged databases: a clear open() error, or lookups that fail cleanly; never a crash. ----

// Looks up a spread of IPv4 and IPv6 addresses; returns how many were errors.
int sweep(const GeoIp& db) {
  int errors = 0;
  for (std::uint32_t i = 0; i < 4096; ++i) {
    if (!db.lookup(IpAddress::v4(i * 0x00100FF1u)).ok()) ++errors;
    std::array<std::uint8_t, 16> v6{};
    v6[0] = static_cast<std::uint8_t>(i >> 4);
    v6[1] = static_cast<std::uint8_t>(i * 37);
    v6[2] = static_cast<std::uint8_t>(i);
    if (!db.lookup(IpAddress::v6(v6)).ok()) ++errors;
  }
  return errors;
}

void expect_no_crash(const fs::path& path) {
  auto db = GeoIp::open(path);
  if (!db.ok()) {
    EXPECT_EQ(db.error().code, make_error_code(Errc::kGeoIp));
    EXPECT_NE(db.error().message().find(path.string()), std::string::npos) << db.error().message();
    return;
  }
  sweep(**db);
}

TEST(GeoIp, BrokenDatabasesNeverCrash) {
  expect_no_crash(kGeoDir / "GeoIP2-City-Test-Broken-Double-Format.mmdb");
  expect_no_crash(kGeoDir / "GeoIP2-City-Test-Invalid-Node-Count.mmdb");
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kGeoDir / "bad")) {
    SCOPED_TRACE(entry.path().string());
    expect_no_crash(entry.path());
    ++files;
  }
  EXPECT_GE(files, 20);
}

// Most bad/ files say they are a "Test" database, which open() refuses before any lookup; renamed
// to "City" they reach the lookup path too.
TEST(GeoIp, BrokenDatabasesRetypedAsCityNeverCrash) {
  int opened = 0;
  for (const auto& entry : fs::directory_iterator(kGeoDir / "bad")) {
    Bytes bytes = read_file(entry.path());
    const std::string_view key = "database_type";
    auto at = std::search(bytes.begin(), bytes.end(), key.begin(), key.end());
    if (at == bytes.end()) continue;
    const std::string_view test = "Test";
    const auto window_end = at + std::min<std::ptrdiff_t>(48, bytes.end() - at);
    auto type = std::search(at, window_end, test.begin(), test.end());
    if (type == window_end) continue;
    std::copy_n("City", 4, type);
    const fs::path path = write_file("retyped-" + entry.path().filename().string(), bytes);
    SCOPED_TRACE(entry.path().string());
    auto db = GeoIp::open(path);
    if (!db.ok()) continue;
    ++opened;
    sweep(**db);
  }
  EXPECT_GE(opened, 5);  // the lookup path really ran on damaged trees and records
}

TEST(GeoIp, BrokenDoubleFormatLookupsFailCleanly) {
  auto db = open_ok(kGeoDir / "GeoIP2-City-Test-Broken-Double-Format.mmdb");
  ASSERT_TRUE(db);
  // 81.2.69.160 is in every MaxMind City test database; here its record is damaged or intact,
  // but the answer is an Error or a GB place, nothing else.
  auto place = db->lookup(ip("81.2.69.160"));
  if (place.ok() && place->has_value()) {
    EXPECT_EQ((*place)->country, "GB");
  }
  if (!place.ok()) {
    EXPECT_EQ(place.error().code, make_error_code(Errc::kGeoIp));
  }
}

}  // namespace
}  // namespace hop::proxy
