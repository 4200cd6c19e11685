// GeoIP databases from untrusted bytes: open() and lookups never crash, leak or hang; they open
// or fail with Errc::kGeoIp, and lookups answer or fail with Errc::kGeoIp.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "hop/proxy/errors.h"
#include "hop/proxy/geoip.h"

namespace {

// Test databases are 1-25 KiB; bigger inputs only slow the fuzzer down.
constexpr std::size_t kMaxInput = 256 * 1024;

// Addresses in and around the MaxMind test networks, IPv4 and IPv6.
const char* const kAddresses[] = {"81.2.69.160", "2.125.160.218", "1.2.3.4", "2001:218::1", "2a02:d500::1",
                                  "::ffff:89.160.20.112", "2002:5102:458e::1", "255.255.255.255"};


void look_up(const hop::proxy::GeoIp& db, const std::uint8_t* data, std::size_t size) {
  using namespace hop::proxy;
  for (const char* text : kAddresses) {
    auto place = db.lookup(*parse_ip(text));
    if (!place.ok() && place.error().code != make_error_code(Errc::kGeoIp)) __builtin_trap();
  }
  // Addresses taken from the input, so the fuzzer can steer the tree walk.
  std::array<std::uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), data, std::min(size, bytes.size()));
  auto v6 = db.lookup(IpAddress::v6(bytes));
  auto v4 = db.lookup(IpAddress::v4(static_cast<std::uint32_t>(bytes[0]) << 24 | bytes[5] << 16 | bytes[9] << 8 | bytes[13]));
  if (!v6.ok() && v6.error().code != make_error_code(Errc::kGeoIp)) __builtin_trap();
  if (!v4.ok() && v4.error().code != make_error_code(Errc::kGeoIp)) __builtin_trap();
  if (db.description().empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hop::proxy;
  if (size > kMaxInput) return 0;
  // A memfd: no files left behind, and GeoIp::open still gets a path (/proc/self/fd/N).
  const int fd = memfd_create("geoip_fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (size > 0 && write(fd, data, size) != static_cast<ssize_t>(size)) {
    close(fd);
    return 0;
  }
  {
    auto db = GeoIp::open("/proc/self/fd/" + std::to_string(fd));
    if (db.ok()) {
      look_up(**db, data, size);
    } else if (db.error().code != make_error_code(Errc::kGeoIp)) {
      __builtin_trap();
    }
  }
  close(fd);
  return 0;
}
