#include "hop/proxy/geoip.h"

#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "hop/proxy/errors.h"

namespace hop::proxy {
namespace {

namespace fs = std::filesystem;

// Static lookup paths: MMDB_aget_value walks them without building anything.
constexpr const char* kCountryPath[] = {"country", "iso_code", nullptr};
constexpr const char* kRegisteredCountryPath[] = {"registered_country", "iso_code", nullptr};
constexpr const char* kContinentPath[] = {"continent", "code", nullptr};

// The MaxMind DB metadata marker (format spec); the metadata sits in the file's last 128 KiB.
constexpr std::string_view kMetadataMarker = "\xAB\xCD\xEFMaxMind.com";
constexpr std::size_t kMetadataSearchBytes = 128 * 1024;
// 9999-12-31T23:59:59Z: a later build epoch is corrupt, not a date worth printing.
constexpr std::uint64_t kLastPrintableEpoch = 253402300799;

core::Error geoip_error(const fs::path& path, const std::string& what) {
  return core::make_error(Errc::kGeoIp, "GeoIP database " + path.string() + " " + what);
}

core::Status check_file(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return geoip_error(path, "cannot be examined (" + ec.message() + "); check the permissions");
    }
    return geoip_error(path, "does not exist; set the path of a GeoLite2/GeoIP2 Country or City .mmdb file");
  }
  if (fs::is_directory(status)) return geoip_error(path, "is a directory; give the path of the .mmdb file");
  if (!fs::is_regular_file(status)) return geoip_error(path, "is not a regular file; give the path of a .mmdb file");
  const auto size = fs::file_size(path, ec);
  if (ec) return geoip_error(path, "cannot be examined (" + ec.message() + ")");
  if (size == 0) return geoip_error(path, "is empty; download the database again");
  if (size > kMaxGeoIpFileBytes) {
    return geoip_error(path, "is " + std::to_string(size) +
                                 " bytes, over the 1 GiB limit: not a GeoIP country or city database");
  }
  return core::ok_status();
}

// The bytes after the file's last metadata marker (where libmaxminddb reads the metadata), or
// nothing when there is no marker: then the file is not a MaxMind DB at all.
std::optional<std::vector<std::uint8_t>> read_metadata(std::ifstream& in) {
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0));
  const std::size_t tail = std::min(size, kMetadataSearchBytes);
  std::vector<std::uint8_t> buffer(tail);
  in.seekg(static_cast<std::streamoff>(size - tail));
  if (!in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(tail))) return std::nullopt;
  const auto same = [](std::uint8_t byte, char c) { return byte == static_cast<std::uint8_t>(c); };
  const auto marker = std::find_end(buffer.begin(), buffer.end(), kMetadataMarker.begin(), kMetadataMarker.end(), same);
  if (marker == buffer.end()) return std::nullopt;
  return std::vector<std::uint8_t>(marker + static_cast<std::ptrdiff_t>(kMetadataMarker.size()), buffer.end());
}

// True when the metadata value at `key` is absent or decodes as a whole. Uses libmaxminddb's own
// decoder on a metadata-only MMDB_s, as MMDB_open does, and frees the list even on failure.
bool metadata_value_decodes(std::vector<std::uint8_t>& metadata, const char* key) {
  // libmaxminddb's bounds checks underflow on an empty section; MMDB_open refuses that case itself.
  if (metadata.empty()) return true;
  MMDB_s fake{};
  fake.data_section = metadata.data();
  fake.data_section_size = static_cast<std::uint32_t>(metadata.size());
  MMDB_entry_s start{&fake, 0};
  MMDB_entry_data_s value{};
  const char* const path[] = {key, nullptr};
  const int status = MMDB_aget_value(&start, &value, path);
  if (status != MMDB_SUCCESS || !value.has_data) return true;  // MMDB_open judges these itself
  if (value.type != MMDB_DATA_TYPE_MAP && value.type != MMDB_DATA_TYPE_ARRAY) return true;
  MMDB_entry_s nested{&fake, value.offset};
  MMDB_entry_data_list_s* list = nullptr;
  const int decoded = MMDB_get_entry_data_list(&nested, &list);
  // MMDB_open also leaks when a language, or a description key or value, is not a string.
  bool all_strings = decoded == MMDB_SUCCESS && list != nullptr;
  for (auto* entry = all_strings ? list->next : nullptr; entry != nullptr; entry = entry->next) {
    if (entry->entry_data.type != MMDB_DATA_TYPE_UTF8_STRING) all_strings = false;
  }
  MMDB_free_entry_data_list(list);
  return all_strings;
}

// libmaxminddb 1.7 leaks ~4.6 KiB per MMDB_open of a file whose "description" or "languages"
// metadata does not decode (fixed upstream in 1.12). A reload loop retrying such a file would
// grow without bound, so we refuse it before MMDB_open sees it.
bool metadata_lists_decode(std::vector<std::uint8_t>& metadata) {
  return metadata_value_decodes(metadata, "description") && metadata_value_decodes(metadata, "languages");
}

core::Error open_error(const fs::path& path, int status, int saved_errno) {
  switch (status) {
    case MMDB_FILE_OPEN_ERROR:
      return geoip_error(path, std::string("cannot be opened (") + std::strerror(saved_errno) +
                                   "); check that hopline may read it");
    case MMDB_IO_ERROR:
      return geoip_error(path, std::string("cannot be read (") + std::strerror(saved_errno) + ")");
    case MMDB_OUT_OF_MEMORY_ERROR:
      return geoip_error(path, "cannot be mapped into memory; check the process's memory limits");
    default:
      break;
  }
  if (status == MMDB_UNKNOWN_DATABASE_FORMAT_ERROR) {
    return geoip_error(path, "has an unsupported MaxMind DB format version; use a current GeoLite2/GeoIP2 database");
  }
  if (status == MMDB_INVALID_METADATA_ERROR) {
    return geoip_error(path, "has corrupt metadata; download the database again");
  }
  return geoip_error(path, std::string("is corrupt (") + MMDB_strerror(status) + "); download the database again");
}

// What can be told before libmaxminddb maps the file: it is a readable, plausibly sized MaxMind DB.
core::Status check_before_open(const fs::path& path) {
  if (auto checked = check_file(path); !checked) return checked;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return geoip_error(path, std::string("cannot be opened (") + std::strerror(errno) + "); check that hopline may read it");
  }
  auto metadata = read_metadata(file);
  if (!metadata) return geoip_error(path, "is not a MaxMind DB (no metadata marker); give the path of a .mmdb file");
  if (!metadata_lists_decode(*metadata)) return geoip_error(path, "has corrupt metadata; download the database again");
  return core::ok_status();
}

// Country, City and Enterprise databases (MaxMind's, DB-IP's) carry country records; ASN, ISP,
// domain, connection-type and anonymous-IP databases do not.
bool has_country_data(std::string_view type) {
  return type.find("Country") != std::string_view::npos || type.find("City") != std::string_view::npos ||
         type.find("Enterprise") != std::string_view::npos;
}

core::Status check_metadata(const fs::path& path, const MMDB_s& db) {
  if (db.file_size < 0 || static_cast<std::uintmax_t>(db.file_size) > kMaxGeoIpFileBytes) {
    return geoip_error(path, "grew past the 1 GiB limit while being opened");
  }
  if (db.metadata.ip_version != 4 && db.metadata.ip_version != 6) {
    return geoip_error(path, "has corrupt metadata (ip_version " + std::to_string(db.metadata.ip_version) +
                                 "); download the database again");
  }
  const std::string_view type = db.metadata.database_type != nullptr ? db.metadata.database_type : "";
  if (!has_country_data(type)) {
    return geoip_error(path, "is a '" + std::string(type.substr(0, 64)) +
                                 "' database, which has no country data; use a GeoLite2/GeoIP2 Country or City database");
  }
  return core::ok_status();
}

std::string build_date(std::uint64_t epoch) {
  if (epoch > kLastPrintableEpoch) return "unknown date";
  using namespace std::chrono;
  const year_month_day day{sys_days{days{static_cast<days::rep>(epoch / 86400)}}};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(day.year()),
                static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day()));
  return text;
}

std::string describe(const fs::path& path, const MMDB_s& db) {
  std::string out = db.metadata.database_type;
  if (db.metadata.ip_version == 4) out += ", IPv4 only";
  return out + " (built " + build_date(db.metadata.build_epoch) + ") from " + path.string();
}

// Reads a two-letter code at `path` into `out` (upper case), leaving it empty when absent.
// Returns why the record cannot be read, or nullptr. Static strings only: no allocation.
const char* read_code(MMDB_entry_s entry, const char* const* path, std::string& out) {
  MMDB_entry_data_s data{};
  const int status = MMDB_aget_value(&entry, &data, path);
  // libmaxminddb 1.7 reports a missing map key on the path ("country" in a record that has only
  // a continent) as a path mismatch, not as has_data == false.
  if (status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) return nullptr;
  if (status != MMDB_SUCCESS) return MMDB_strerror(status);
  if (!data.has_data) return nullptr;
  if (data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2) return "a code that is not two letters";
  char code[2];
  for (int i = 0; i < 2; ++i) {
    const char c = data.utf8_string[i];
    if (c >= 'a' && c <= 'z') {
      code[i] = static_cast<char>(c - 'a' + 'A');
    } else if (c >= 'A' && c <= 'Z') {
      code[i] = c;
    } else {
      return "a code that is not two letters";
    }
  }
  out.assign(code, 2);
  return nullptr;
}

// The Place in one found record, nullopt when it names neither a country nor a continent.
// Returns why the record cannot be read through `failure`.
std::optional<Place> read_place(const MMDB_entry_s& entry, const char*& failure) {
  Place place;
  place.source = Place::Source::kGeoIp;
  failure = read_code(entry, kCountryPath, place.country);
  // Anycast and satellite ranges have no located country; the registrant's is the best guess.
  if (failure == nullptr && place.country.empty()) failure = read_code(entry, kRegisteredCountryPath, place.country);
  if (failure == nullptr) failure = read_code(entry, kContinentPath, place.continent);
  if (failure != nullptr || (place.country.empty() && place.continent.empty())) return std::nullopt;
  return place;
}

}  // namespace

namespace {

std::atomic<std::uint64_t> next_database_id{1};

// Records are shared: every address of one country points at the same data offset, so a
// Country database has a few hundred records however many addresses it answers. Decoding a
// record (two map walks by key) costs as much as the tree walk; each thread keeps the last
// records it decoded, keyed by database and offset. Per thread, so no lock and no sharing.
struct CachedRecord {
  std::uint64_t database = 0;  // 0: empty
  std::uint32_t offset = 0;
  Place place;
};
constexpr std::size_t kRecordCacheSize = 512;  // power of two
thread_local std::array<CachedRecord, kRecordCacheSize> record_cache;

}  // namespace

GeoIp::GeoIp(fs::path path, std::unique_ptr<MMDB_s> db)
    : path_(std::move(path)), db_(std::move(db)), description_(describe(path_, *db_)),
      id_(next_database_id.fetch_add(1, std::memory_order_relaxed)) {}

GeoIp::~GeoIp() { MMDB_close(db_.get()); }

core::Result<std::unique_ptr<GeoIp>> GeoIp::open(const fs::path& path) {
  if (auto checked = check_before_open(path); !checked) return checked.error();
  auto db = std::make_unique<MMDB_s>();
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, db.get());
  const int saved_errno = errno;
  // A failed MMDB_open has already released what it mapped; MMDB_close is only for success.
  if (status != MMDB_SUCCESS) return open_error(path, status, saved_errno);
  if (auto checked = check_metadata(path, *db); !checked) {
    MMDB_close(db.get());
    return checked.error();
  }
  return std::unique_ptr<GeoIp>(new GeoIp(path, std::move(db)));
}

core::Result<std::optional<Place>> GeoIp::lookup(const IpAddress& address) const {
  int status = MMDB_SUCCESS;
  MMDB_lookup_result_s result{};
  if (address.is_v4()) {
    // sockaddr_in, not the mapped form: libmaxminddb then starts at the database's IPv4 subtree,
    // which IPv4-only and IPv6 databases both have.
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    std::memcpy(&v4.sin_addr, address.bytes.data() + 12, 4);
    result = MMDB_lookup_sockaddr(db_.get(), reinterpret_cast<const sockaddr*>(&v4), &status);
  } else {
    // An IPv4-only database has no IPv6 networks: the address is simply not in it.
    if (db_->metadata.ip_version == 4) return std::optional<Place>{};
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    std::memcpy(&v6.sin6_addr, address.bytes.data(), 16);
    result = MMDB_lookup_sockaddr(db_.get(), reinterpret_cast<const sockaddr*>(&v6), &status);
  }
  if (status != MMDB_SUCCESS) {
    return geoip_error(path_, std::string("failed a lookup of ") + to_string(address) + " (" + MMDB_strerror(status) +
                                  "); download the database again");
  }
  if (!result.found_entry) return std::optional<Place>{};
  CachedRecord& cached = record_cache[result.entry.offset & (kRecordCacheSize - 1)];
  if (cached.database == id_ && cached.offset == result.entry.offset) return std::optional<Place>(cached.place);
  const char* failure = nullptr;
  auto place = read_place(result.entry, failure);
  if (failure != nullptr) {
    return geoip_error(path_, std::string("has a bad record for ") + to_string(address) + " (" + failure +
                                  "); download the database again");
  }
  if (place) cached = {id_, result.entry.offset, *place};
  return place;
}

std::string GeoIp::description() const { return description_; }

}  // namespace hop::proxy
