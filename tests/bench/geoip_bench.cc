// GeoIP lookup cost per connection: one GeoIp::lookup() over a fixed mix of found and not-found,
// IPv4 and IPv6 addresses in the MaxMind test databases. Time per iteration = ns per lookup.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <vector>

#include "hop/proxy/geoip.h"

namespace {

using hop::proxy::GeoIp;
using hop::proxy::IpAddress;

// 12 found (8 IPv4, 4 IPv6) and 4 not found, as a POP might see them.
std::vector<IpAddress> address_mix() {
  std::vector<IpAddress> out;
  for (const char* text : {"81.2.69.160", "2.125.160.218", "89.160.20.130", "216.160.83.58", "67.43.156.9",
                           "202.196.224.77", "214.78.1.1", "81.2.69.142", "2001:218::1", "2a02:d180::5",
                           "2001:220::9", "2a02:e700::1", "1.2.3.4", "192.0.2.1", "2001:db8::1", "10.9.8.7"}) {
    out.push_back(*hop::proxy::parse_ip(text));
  }
  return out;
}

void BM_GeoIpLookup(benchmark::State& state, const char* file) {
  auto db = GeoIp::open(std::filesystem::path(HOP_SHARED_DIR) / "geoip" / file);
  if (!db.ok()) {
    state.SkipWithError(db.error().message().c_str());
    return;
  }
  const auto addresses = address_mix();
  std::size_t i = 0;
  std::size_t found = 0;
  for (auto _ : state) {
    auto place = (*db)->lookup(addresses[i]);
    found += place.ok() && place->has_value();
    benchmark::DoNotOptimize(place);
    i = (i + 1) % addresses.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["found_share"] = benchmark::Counter(static_cast<double>(found) / static_cast<double>(state.iterations()));
}

BENCHMARK_CAPTURE(BM_GeoIpLookup, city, "GeoLite2-City-Test.mmdb");
BENCHMARK_CAPTURE(BM_GeoIpLookup, country, "GeoLite2-Country-Test.mmdb");

}  // namespace
