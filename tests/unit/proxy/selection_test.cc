#include "hop/proxy/selection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <thread>

namespace hop::proxy {
namespace {

using namespace std::chrono_literals;

Backend backend(std::string id, std::string country, std::string continent, std::string region = "",
                std::uint32_t soft = 10, std::uint32_t hard = 20) {
  Backend b;
  b.id = std::move(id);
  b.country = std::move(country);
  b.continent = std::move(continent);
  b.region = std::move(region);
  b.soft_limit = soft;
  b.hard_limit = hard;
  b.target.address = IpAddress::v4(0x7f000001);
  b.target.port = 9000;
  return b;
}

struct Fixture {
  explicit Fixture(std::vector<Backend> backends, std::string pop_region = "") {
    std::sort(backends.begin(), backends.end(), [](const Backend& a, const Backend& b) { return a.id < b.id; });
    auto t = std::make_shared<RoutingTable>();
    t->backends = std::move(backends);
    std::vector<std::string> ids;
    for (const auto& b : t->backends) ids.push_back(b.id);
    table = std::make_unique<CompiledTable>(t, slots.assign(ids), SelectionPolicy{.pop_region = pop_region});
  }
  // The ids of rank_backends' answer for `place`, best first.
  std::vector<std::string> ranked(const Place& place, std::string_view app = "", std::uint32_t tiebreak = 0) {
    std::array<Choice, 8> out;
    const auto n = rank_backends(*table, table->key_of(place), table->candidates_for(app), slots, now, tiebreak, out);
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < n; ++i) ids.push_back(table->table().backends[out[i].backend].id);
    return ids;
  }
  BackendState& state(std::string_view id) {
    const auto* b = table->table().find(id);
    return slots[*table->slot_of(static_cast<std::uint16_t>(b - table->table().backends.data()))];
  }
  BackendSlots slots;
  std::unique_ptr<CompiledTable> table;
  core::TimePoint now{std::chrono::hours(1)};
};

Place place(std::string country, std::string continent, std::string region = "") {
  return {std::move(country), std::move(continent), std::move(region), Place::Source::kGeoIp};
}

TEST(Selection, TiersCountryThenContinentThenPopRegionThenRest) {
  Fixture f({backend("de", "DE", "EU"), backend("fr", "FR", "EU"), backend("us", "US", "NA", "us-east"),
             backend("jp", "JP", "AS")},
            "us-east");
  EXPECT_EQ(f.ranked(place("DE", "EU")), (std::vector<std::string>{"de", "fr", "us", "jp"}));
  EXPECT_EQ(f.ranked(place("BR", "SA")), (std::vector<std::string>{"us", "de", "fr", "jp"}));
}

TEST(Selection, RegionFromAnOverrideCountsAsNear) {
  Fixture f({backend("a", "US", "NA", "lab"), backend("b", "JP", "AS")});
  EXPECT_EQ(f.ranked(place("", "", "lab")).front(), "a");
  EXPECT_EQ(*tier_of(*f.table, f.table->key_of(place("", "", "lab")), 0), Tier::kNear);
}

TEST(Selection, UnknownPlaceMatchesNoCountryOrContinentTier) {
  // A backend with an empty country must not count as "the same country" as a client GeoIP
  // could not place.
  Fixture f({backend("blank", "", ""), backend("de", "DE", "EU")});
  const auto key = f.table->key_of(Place{});
  EXPECT_EQ(*tier_of(*f.table, key, 0), Tier::kOther);
  EXPECT_EQ(*tier_of(*f.table, key, 1), Tier::kOther);
  EXPECT_EQ(f.ranked(Place{}).size(), 2u);
}

TEST(Selection, FullBackendSpillsToTheSameContinent) {
  Fixture f({backend("de", "DE", "EU", "", 1, 2), backend("fr", "FR", "EU"), backend("us", "US", "NA")});
  ASSERT_TRUE(f.state("de").try_reserve(2));
  ASSERT_TRUE(f.state("de").try_reserve(2));
  EXPECT_FALSE(f.state("de").try_reserve(2));
  EXPECT_EQ(f.ranked(place("DE", "EU")).front(), "fr");
  f.state("de").release();
  EXPECT_EQ(f.ranked(place("DE", "EU")).front(), "de");
}

TEST(Selection, UnhealthyAndOpenBreakerAreLeftOutHalfOpenComesLast) {
  auto sick = backend("sick", "DE", "EU");
  sick.healthy = false;
  Fixture f({sick, backend("flaky", "DE", "EU"), backend("fr", "FR", "EU")});
  const BreakerPolicy policy;  // 3 failures, 10 s
  for (int i = 0; i < 3; ++i) f.state("flaky").on_error(BackendError::kConnectRefused, f.now, policy);
  EXPECT_EQ(f.ranked(place("DE", "EU")), (std::vector<std::string>{"fr"}));
  f.now += 11s;  // half-open: tried, but its score carries the trial penalty
  EXPECT_EQ(f.state("flaky").breaker(f.now, policy), Breaker::kHalfOpen);
  EXPECT_EQ(f.ranked(place("DE", "EU")), (std::vector<std::string>{"flaky", "fr"}));  // still the better tier
  EXPECT_TRUE(f.state("flaky").try_begin_trial());
  EXPECT_FALSE(f.state("flaky").try_begin_trial());
  f.state("flaky").on_error(BackendError::kConnectTimeout, f.now, policy);  // failed trial: 20 s now
  EXPECT_EQ(f.state("flaky").breaker(f.now + 19s, policy), Breaker::kOpen);
  EXPECT_EQ(f.state("flaky").breaker(f.now + 21s, policy), Breaker::kHalfOpen);
  f.state("flaky").on_connected(1ms);
  EXPECT_EQ(f.state("flaky").breaker(f.now, policy), Breaker::kClosed);
}

TEST(Selection, ABurstSpreadsOverEqualBackends) {
  Fixture f({backend("a", "DE", "EU", "", 100, 200), backend("b", "DE", "EU", "", 100, 200),
             backend("c", "DE", "EU", "", 100, 200)});
  std::map<std::string, int> got;
  for (std::uint32_t i = 0; i < 90; ++i) {
    const auto ids = f.ranked(place("DE", "EU"), "", i);
    ASSERT_FALSE(ids.empty());
    ASSERT_TRUE(f.state(ids.front()).try_reserve(200));
    ++got[ids.front()];
  }
  EXPECT_EQ(got["a"], 30);
  EXPECT_EQ(got["b"], 30);
  EXPECT_EQ(got["c"], 30);
}

TEST(Selection, WeightAndSoftLimitShareLoadInProportion) {
  auto heavy = backend("heavy", "DE", "EU", "", 100, 1000);
  heavy.weight = 3;
  Fixture f({heavy, backend("light", "DE", "EU", "", 100, 1000)});
  for (std::uint32_t i = 0; i < 400; ++i) ASSERT_TRUE(f.state(f.ranked(place("DE", "EU"), "", i).front()).try_reserve(1000));
  EXPECT_NEAR(f.state("heavy").active(), 300, 2);
  EXPECT_NEAR(f.state("light").active(), 100, 2);
}

TEST(Selection, SlowConnectsScoreWorse) {
  Fixture f({backend("fast", "DE", "EU"), backend("slow", "DE", "EU")});
  f.state("fast").on_connected(1ms);
  f.state("slow").on_connected(100ms);
  EXPECT_EQ(f.ranked(place("DE", "EU"), "", 1).front(), "fast");
  EXPECT_EQ(f.ranked(place("DE", "EU"), "", 0).front(), "fast");
}

TEST(Selection, AppsSeeTheirBackendsAndTheShared) {
  auto web = backend("web", "DE", "EU");
  web.app = "web";
  auto api = backend("api", "DE", "EU");
  api.app = "api";
  Fixture f({web, api, backend("any", "US", "NA")});
  auto sorted = [](std::vector<std::string> v) { std::sort(v.begin(), v.end()); return v; };
  EXPECT_EQ(sorted(f.ranked(place("DE", "EU"), "web")), (std::vector<std::string>{"any", "web"}));
  EXPECT_EQ(sorted(f.ranked(place("DE", "EU"), "api")), (std::vector<std::string>{"any", "api"}));
  EXPECT_EQ(f.ranked(place("DE", "EU"), ""), (std::vector<std::string>{"any"}));
  EXPECT_EQ(f.ranked(place("DE", "EU"), "mail"), (std::vector<std::string>{"any"}));
}

TEST(Selection, HardLimitHoldsUnderRacingWorkers) {
  BackendState state;
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        if (state.try_reserve(100)) won.fetch_add(1);
        EXPECT_LE(state.active(), 100u);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 100);
  EXPECT_EQ(state.active(), 100u);
}

TEST(Selection, RankMatchesANaiveSortOnRandomTables) {
  std::mt19937 rng(42);
  const std::vector<std::string> countries = {"DE", "FR", "US", "JP", ""};
  const std::vector<std::string> continents = {"EU", "EU", "NA", "AS", ""};
  for (int round = 0; round < 50; ++round) {
    std::vector<Backend> backends;
    for (int i = 0; i < 30; ++i) {
      const std::size_t c = rng() % countries.size();
      auto b = backend("b" + std::to_string(100 + i), countries[c], continents[c], rng() % 3 ? "" : "r1",
                       1 + rng() % 50, 60);
      b.weight = 1 + rng() % 5;
      b.healthy = rng() % 7 != 0;
      backends.push_back(b);
    }
    Fixture f(backends, "r1");
    for (const auto& b : f.table->table().backends) {
      const auto load = rng() % 61;
      for (std::uint32_t i = 0; i < load; ++i) ASSERT_TRUE(f.state(b.id).try_reserve(60));
    }
    const Place client = place(countries[rng() % countries.size()], continents[rng() % continents.size()]);
    const auto evaluated = evaluate_backends(*f.table, client, "", f.slots, f.now);
    std::vector<std::string> expected;
    for (const auto& ev : evaluated) {
      if (ev.excluded.empty() && expected.size() < 8) expected.push_back(ev.backend->id);
    }
    // Equal (tier, score) pairs may come in either order; compare the (tier, score) sequence.
    const auto got = f.ranked(client);
    ASSERT_EQ(got.size(), expected.size()) << "round " << round;
    for (std::size_t i = 0; i < got.size(); ++i) {
      const auto& a = *std::find_if(evaluated.begin(), evaluated.end(), [&](auto& e) { return e.backend->id == got[i]; });
      const auto& b = *std::find_if(evaluated.begin(), evaluated.end(), [&](auto& e) { return e.backend->id == expected[i]; });
      EXPECT_EQ(a.tier, b.tier) << "round " << round << " position " << i;
      EXPECT_FLOAT_EQ(a.score, b.score) << "round " << round << " position " << i;
    }
  }
}

TEST(Selection, EvaluateSaysWhyABackendIsLeftOut) {
  auto sick = backend("sick", "DE", "EU");
  sick.healthy = false;
  auto other = backend("other-app", "DE", "EU");
  other.app = "mail";
  Fixture f({sick, other, backend("full", "DE", "EU", "", 1, 1), backend("ok", "FR", "EU")});
  ASSERT_TRUE(f.state("full").try_reserve(1));
  const auto ev = evaluate_backends(*f.table, place("DE", "EU"), "", f.slots, f.now);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].backend->id, "ok");
  EXPECT_EQ(ev[0].tier, Tier::kNear);
  EXPECT_TRUE(ev[0].excluded.empty());
  std::map<std::string, std::string> why;
  for (const auto& e : ev) why[e.backend->id] = e.excluded;
  EXPECT_EQ(why["sick"], "unhealthy in routing.db");
  EXPECT_EQ(why["full"], "full: 1/1");
  EXPECT_EQ(why["other-app"], "serves app 'mail'");
}

TEST(BackendSlots, IdsKeepTheirSlotsAcrossReloadsAndFreedSlotsAreReused) {
  BackendSlots slots;
  const auto first = slots.assign({"a", "b"});
  ASSERT_TRUE(first[0] && first[1]);
  EXPECT_NE(*first[0], *first[1]);
  ASSERT_TRUE(slots[*first[0]].try_reserve(5));
  const auto second = slots.assign({"b", "c", "a"});
  EXPECT_EQ(second[0], first[1]);
  EXPECT_EQ(second[2], first[0]);
  EXPECT_EQ(slots[*second[2]].active(), 1u);  // counts survive the reload
  EXPECT_EQ(slots.id_of(*second[1]), "c");
}

TEST(BackendSlots, WhenAllAreTakenALeftBackendWithoutConnectionsGivesItsSlot) {
  BackendSlots slots;
  std::vector<std::string> many;
  for (std::size_t i = 0; i < kSlotCount; ++i) many.push_back("b" + std::to_string(i));
  const auto all = slots.assign(many);
  ASSERT_TRUE(all.back().has_value());
  ASSERT_TRUE(slots[*all[0]].try_reserve(1));  // b0 still has a connection
  const auto next = slots.assign({"new"});
  ASSERT_TRUE(next[0].has_value());
  EXPECT_NE(*next[0], *all[0]);
  EXPECT_EQ(slots[*next[0]].active(), 0u);
}

}  // namespace
}  // namespace hop::proxy
