// Backend selection for one client among 100 backends (the target: under 1 us), and the
// affinity table's lookup, the two decisions every proxied connection makes after GeoIP.
#include <benchmark/benchmark.h>

#include "hop/proxy/affinity.h"
#include "hop/proxy/selection.h"

namespace hop::proxy {
namespace {

struct Hundred {
  Hundred() {
    static const char* kCountries[] = {"DE", "FR", "US", "JP", "BR", "GB", "SE", "IN", "AU", "ZA"};
    static const char* kContinents[] = {"EU", "EU", "NA", "AS", "SA", "EU", "EU", "AS", "OC", "AF"};
    auto t = std::make_shared<RoutingTable>();
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) {
      Backend b;
      b.id = "backend-" + std::to_string(100 + i);
      b.country = kCountries[i % 10];
      b.continent = kContinents[i % 10];
      b.region = i % 3 == 0 ? "eu-west" : "";
      b.soft_limit = 100;
      b.hard_limit = 200;
      b.weight = 1 + i % 4;
      t->backends.push_back(b);
      ids.push_back(b.id);
    }
    const auto assigned = slots.assign(ids);
    for (std::size_t i = 0; i < assigned.size(); ++i) {
      for (std::size_t k = 0; k < i % 50; ++k) (void)slots[*assigned[i]].try_reserve(200);
    }
    table = std::make_unique<CompiledTable>(t, assigned, SelectionPolicy{.pop_region = "eu-west"});
  }
  BackendSlots slots;
  std::unique_ptr<CompiledTable> table;
};

void BM_Select100Backends(benchmark::State& state) {
  Hundred h;
  const Place client{"SE", "EU", "", Place::Source::kGeoIp};
  const core::TimePoint now{std::chrono::hours(1)};
  std::array<Choice, 3> out;
  std::uint32_t tiebreak = 0;
  for (auto _ : state) {
    const ClientKey key = h.table->key_of(client);
    benchmark::DoNotOptimize(rank_backends(*h.table, key, h.table->candidates_for(""), h.slots, now, tiebreak++, out));
  }
}
BENCHMARK(BM_Select100Backends);

void BM_AffinityFind(benchmark::State& state) {
  AffinityTable table(65536, std::chrono::minutes(10));
  const core::TimePoint now{std::chrono::hours(1)};
  for (std::uint32_t i = 0; i < 50000; ++i) table.bind(IpAddress::v4(0x0a000000 + i), static_cast<SlotIndex>(i % 100), now);
  std::uint32_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(table.find(IpAddress::v4(0x0a000000 + (i++ % 60000)), now));
}
BENCHMARK(BM_AffinityFind);

}  // namespace
}  // namespace hop::proxy
