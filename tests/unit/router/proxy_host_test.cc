// The geo-proxy end to end on loopback: real listeners, real backends, routing.db edited while
// clients connect. GeoIP answers come from the MaxMind test database (its JSON says 81.2.69.142
// is GB, 89.160.20.113 SE, 50.114.0.1 and 216.160.83.57 US); clients present those addresses
// through the PROXY protocol, or are placed by geo_overrides from a 127.x source address.
#include "hop/router/proxy_host.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "hop/core/sqlite.h"
#include "hop/proxy/routing_db.h"
#include "support/echo_backend.h"
#include "support/temp_dir.h"

namespace hop::router {
namespace {

using namespace std::chrono_literals;
using test::EchoBackend;
using test::TestClient;

std::string v1(const char* source) { return std::string("PROXY TCP4 ") + source + " 127.0.0.1 40000 80\r\n"; }

std::string v2(std::array<std::uint8_t, 4> source) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += '\x21';  // version 2, PROXY
  h += '\x11';  // TCP over IPv4
  h += std::string("\x00\x0c", 2);
  for (auto b : source) h += static_cast<char>(b);
  h += std::string("\x7f\x00\x00\x01\x9c\x40\x00\x50", 8);
  return h;
}

class Pop {
 public:
  Pop() {
    db_path_ = dir_.path() / "routing.db";
    EXPECT_TRUE(proxy::init_routing_db(db_path_).ok());
    EXPECT_EQ(db_.open(db_path_, SQLITE_OPEN_READWRITE), SQLITE_OK);
  }
  void exec(const std::string& sql) { ASSERT_EQ(db_.exec(sql.c_str()), SQLITE_OK) << sql << ": " << db_.error(); }
  void add_backend(const std::string& id, const EchoBackend& b, const char* country, const char* continent,
                   int soft = 50, int hard = 100, int weight = 1) {
    exec("INSERT INTO backends(id,country,continent,target,soft_limit,hard_limit,weight) VALUES('" + id + "','" +
         country + "','" + continent + "','" + b.target() + "'," + std::to_string(soft) + "," + std::to_string(hard) +
         "," + std::to_string(weight) + ")");
  }
  void start(proxy::ProxyConfig config = {}) {
    config.listeners = {{"127.0.0.1", 0, "", proxy::ProxyVersions::kEither}, {"127.0.0.1", 0, "", std::nullopt}};
    config.routing_db = db_path_;
    config.geoip = HOP_SHARED_DIR "/geoip/GeoLite2-Country-Test.mmdb";
    config.workers = 2;
    config.reload_poll = 50ms;
    auto host = ProxyHost::start(std::move(config), dir_.path());
    ASSERT_TRUE(host.ok()) << host.error().message();
    host_ = std::move(*host);
  }
  std::uint16_t pp_port() const { return host_->endpoints()[0].port(); }
  std::uint16_t plain_port() const { return host_->endpoints()[1].port(); }
  // Connects as `source` (PROXY v1) and returns the backend that greeted it, or "" if refused.
  std::string land(const char* source) {
    TestClient c(pp_port());
    if (!c.send(v1(source))) return "";
    return c.read_line().value_or("");
  }
  const proxy::BackendState& state(const std::string& id) {
    const auto snapshot = host_->snapshot();
    const auto& table = *snapshot->table;
    const auto* b = table.table().find(id);
    return host_->shared().slots[*table.slot_of(static_cast<std::uint16_t>(b - table.table().backends.data()))];
  }
  // Waits until routing.db version `v` is in use (bounded).
  bool wait_version(std::uint64_t v, std::chrono::milliseconds limit = 2s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (host_->status()->version >= v) {
        std::this_thread::sleep_for(20ms);  // the workers install it by a post
        return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  ProxyHost& host() { return *host_; }

 private:
  test::TempDir dir_;
  std::filesystem::path db_path_;
  core::sqlite::Database db_;
  std::unique_ptr<ProxyHost> host_;
};

TEST(ProxyHost, ClientsReachTheBackendOfTheirCountry) {
  EchoBackend gb("gb"), se("se"), us("us");
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU");
  pop.add_backend("se", se, "SE", "EU");
  pop.add_backend("us", us, "US", "NA");
  pop.start();
  EXPECT_EQ(pop.land("81.2.69.142"), "gb");
  EXPECT_EQ(pop.land("89.160.20.113"), "se");
  EXPECT_EQ(pop.land("50.114.0.1"), "us");
  TestClient v2_client(pop.pp_port());
  ASSERT_TRUE(v2_client.send(v2({216, 160, 83, 57}) + "hello"));
  EXPECT_EQ(v2_client.read_line(), "us");
  EXPECT_EQ(v2_client.read_exactly(5), "hello");  // bytes sent with the header reach the backend
  EXPECT_TRUE(v2_client.echoes(std::string(100000, 'x')));
}

TEST(ProxyHost, GeoOverridesPlaceLoopbackClientsByTheirSourceAddress) {
  EchoBackend gb("gb"), se("se"), us("us");
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU");
  pop.add_backend("se", se, "SE", "EU");
  pop.add_backend("us", us, "US", "NA");
  pop.exec("INSERT INTO geo_overrides(cidr,country,continent) VALUES('127.51.0.0/16','SE','EU'), ('127.52.0.0/16','US','NA')");
  pop.start();
  TestClient swede(pop.plain_port(), "127.51.0.1");
  EXPECT_EQ(swede.read_line(), "se");
  TestClient yank(pop.plain_port(), "127.52.3.4");
  EXPECT_EQ(yank.read_line(), "us");
  EXPECT_GE(pop.host().shared().counters.override_hits(), 2u);
}

TEST(ProxyHost, AFullBackendSpillsToTheSameContinentAndItsLimitHolds) {
  EchoBackend gb("gb"), se("se"), us("us");
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU", 1, 2);
  pop.add_backend("se", se, "SE", "EU");
  pop.add_backend("us", us, "US", "NA");
  pop.start();
  TestClient a(pop.pp_port()), b(pop.pp_port());
  ASSERT_TRUE(a.send(v1("81.2.69.142")) && b.send(v1("81.2.69.143")));
  EXPECT_EQ(a.read_line(), "gb");
  EXPECT_EQ(b.read_line(), "gb");
  EXPECT_EQ(pop.land("81.2.69.145"), "se");
  EXPECT_EQ(gb.max_at_once(), 2);
}

TEST(ProxyHost, AffinityHoldsAcrossReconnectsUntilTheBackendTurnsUnhealthy) {
  EchoBackend a("a"), b("b"), se("se");
  Pop pop;
  pop.add_backend("a", a, "GB", "EU");
  pop.add_backend("b", b, "GB", "EU");
  pop.add_backend("se", se, "SE", "EU");
  pop.start();
  const std::string first = pop.land("81.2.69.142");
  ASSERT_TRUE(first == "a" || first == "b") << first;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pop.land("81.2.69.142"), first) << "reconnect " << i;
  TestClient stays(pop.pp_port());
  ASSERT_TRUE(stays.send(v1("81.2.69.142")));
  ASSERT_EQ(stays.read_line(), first);
  pop.exec("UPDATE backends SET healthy = 0 WHERE id = '" + first + "'");
  ASSERT_TRUE(pop.wait_version(2));
  const std::string other = first == "a" ? "b" : "a";
  EXPECT_EQ(pop.land("81.2.69.142"), other);  // the binding went with its backend's health
  EXPECT_EQ(pop.land("81.2.69.142"), other);
  EXPECT_TRUE(stays.echoes("still here"));    // an open connection is not dropped
}

TEST(ProxyHost, AClientThatSpilledReturnsToItsCountryOnceItsBackendIsBack) {
  EchoBackend gb("gb"), se("se");
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU");
  pop.add_backend("se", se, "SE", "EU");
  pop.exec("UPDATE backends SET healthy = 0 WHERE id = 'gb'");
  pop.start();
  EXPECT_EQ(pop.land("81.2.69.142"), "se") << "GB's backend is down: the same continent";
  EXPECT_EQ(pop.land("81.2.69.142"), "se");
  const auto hits = pop.host().shared().counters.affinity_hits();
  EXPECT_GE(hits, 1u) << "bound to se while gb is down";
  pop.exec("UPDATE backends SET healthy = 1 WHERE id = 'gb'");
  ASSERT_TRUE(pop.wait_version(2));
  EXPECT_EQ(pop.land("81.2.69.142"), "gb") << "a better tier has a backend again: the binding yields";
  EXPECT_EQ(pop.land("81.2.69.142"), "gb");
  EXPECT_EQ(pop.host().shared().counters.affinity_hits(), hits + 1) << "and the new binding holds";
}

TEST(ProxyHost, ABackendAddedWhile100ConnectionsAreOpenGetsNewClientsWithinASecond) {
  EchoBackend gb("gb"), gb2("gb2");
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU", 500, 1000);
  pop.start();
  std::vector<std::unique_ptr<TestClient>> open;
  for (int i = 0; i < 100; ++i) {
    open.push_back(std::make_unique<TestClient>(pop.plain_port()));  // loopback: no country, other tier
    ASSERT_EQ(open.back()->read_line(), "gb");
  }
  pop.add_backend("gb2", gb2, "GB", "EU", 500, 1000);
  const auto committed = std::chrono::steady_clock::now();
  bool reached = false;
  for (int i = 0; !reached && std::chrono::steady_clock::now() - committed < 1s; ++i) {
    // A new client each time: one that landed on gb before the reload is bound to it.
    reached = pop.land(("81.2.69." + std::to_string(160 + i % 32)).c_str()) == "gb2";
    if (!reached) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(reached) << "no client reached the new backend within 1 s";
  for (auto& c : open) ASSERT_TRUE(c->echoes("ping")) << "an open connection was dropped by the reload";
  EXPECT_EQ(gb.current(), 100);
}

TEST(ProxyHost, GarbageFromOneClientLeavesTheOthersAlone) {
  EchoBackend gb("gb");
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU");
  pop.start();
  TestClient good(pop.pp_port());
  ASSERT_TRUE(good.send(v1("81.2.69.142")));
  ASSERT_EQ(good.read_line(), "gb");
  TestClient bad(pop.pp_port());
  ASSERT_TRUE(bad.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(bad.closed_without_data());
  TestClient liar(pop.pp_port());
  ASSERT_TRUE(liar.send("PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n"));
  EXPECT_TRUE(liar.closed_without_data());
  EXPECT_TRUE(good.echoes(std::string(70000, 'g')));
  EXPECT_EQ(pop.host().shared().counters.refused(proxy::Refusal::kProxyHeader), 2u);
}

TEST(ProxyHost, TenThousandAttemptsAboveTheHardLimitAreRefusedCleanly) {
  EchoBackend gb("gb");
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU", 3, 5);
  pop.start();
  std::vector<std::unique_ptr<TestClient>> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(std::make_unique<TestClient>(pop.plain_port()));
    ASSERT_EQ(held.back()->read_line(), "gb");
  }
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2500; ++i) {
        TestClient c(pop.plain_port());
        if (c.connected() && c.closed_without_data()) refused.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load(), 10000);
  EXPECT_EQ(gb.max_at_once(), 5);
  EXPECT_EQ(gb.total(), 5);
  EXPECT_EQ(pop.host().shared().counters.refused(proxy::Refusal::kNoBackend), 10000u);
  for (auto& c : held) EXPECT_TRUE(c->echoes("ok"));
}

TEST(ProxyHost, ABrokenRoutingDbKeepsTheLastGoodTable) {
  EchoBackend gb("gb");
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU");
  pop.start();
  EXPECT_EQ(pop.land("81.2.69.142"), "gb");
  const auto db = pop.host().status()->routing_db;
  {
    std::ofstream garbage(db + ".new", std::ios::binary);
    garbage << "this is not an SQLite database, just text an editor saved by mistake";
  }
  std::filesystem::rename(db + ".new", db);
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (pop.host().status()->last_error.empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_NE(pop.host().status()->last_error.find(db), std::string::npos) << pop.host().status()->last_error;
  EXPECT_EQ(pop.host().status()->version, 1u);
  EXPECT_EQ(pop.land("81.2.69.142"), "gb");
}

TEST(ProxyHost, AFailingBackendFailsOverAndItsBreakerOpens) {
  EchoBackend gb("gb");
  std::uint16_t dead_port;
  {
    EchoBackend gone("gone");
    dead_port = gone.port();
  }  // nothing listens there now
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU", 50, 100, 1);
  pop.exec("INSERT INTO backends(id,country,continent,target,soft_limit,hard_limit,weight) VALUES('dead','GB','EU','127.0.0.1:" +
           std::to_string(dead_port) + "',50,100,1000)");
  pop.start();
  // Different clients (no affinity to gb): each tries the heavier "dead" first until its breaker opens.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(pop.land(("81.2.69." + std::to_string(160 + i)).c_str()), "gb") << i;
  const auto& dead = pop.state("dead");
  EXPECT_EQ(dead.errors(proxy::BackendError::kConnectRefused), 3u);  // then the breaker kept it out
  EXPECT_EQ(dead.breaker(core::SteadyClock::now(), proxy::BreakerPolicy{}), proxy::Breaker::kOpen);
  EXPECT_EQ(dead.active(), 0u);
}

TEST(ProxyHost, HalfCloseIsPassedOnBothWays) {
  EchoBackend gb("gb");
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU");
  pop.start();
  TestClient c(pop.pp_port());
  ASSERT_TRUE(c.send(v1("81.2.69.142") + "last words"));
  ASSERT_EQ(c.read_line(), "gb");
  c.shutdown_send();
  EXPECT_EQ(c.read_exactly(10), "last words");
  EXPECT_TRUE(c.closed_without_data());  // the backend's FIN came back through
}

TEST(ProxyHost, DrainLetsOpenConnectionsFinishAndTakesNoNewOnes) {
  EchoBackend gb("gb");
  Pop pop;
  pop.add_backend("gb", gb, "GB", "EU");
  proxy::ProxyConfig config;
  config.drain_timeout = 10s;
  pop.start(config);
  auto open = std::make_unique<TestClient>(pop.plain_port());
  ASSERT_EQ(open->read_line(), "gb");
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    pop.host().drain();
    drained = true;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(drained.load());
  EXPECT_TRUE(open->echoes("finishing up"));
  TestClient late(pop.plain_port());
  EXPECT_FALSE(late.connected() && late.read_line().has_value());
  open.reset();
  drainer.join();
  EXPECT_TRUE(drained.load());
}

}  // namespace
}  // namespace hop::router
