#include "hop/router/config.h"

#include <gtest/gtest.h>

#include "hop/netdb/destination.h"

namespace hop::router {
namespace {

using namespace std::chrono_literals;

TEST(Config, ParsesSectionsCommentsAndDefaults) {
  auto map = parse_config_text(
      "# a node\nnetwork_id = 7\nlisten = 127.3.0.1:7200  # inline comment\n\n[links]\n"
      "hard_limit = 100\nhandshake_timeout = 3s\n[log]\nlevel = debug\n",
      "test.conf");
  ASSERT_TRUE(map.ok()) << map.error().message();
  auto c = build_node_config(*map);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->network_id, 7u);
  EXPECT_EQ(c->listen_host, "127.3.0.1");
  EXPECT_EQ(c->listen_port, 7200);
  EXPECT_EQ(c->limits.hard, 100u);
  EXPECT_EQ(c->limits.soft, 75u) << "soft limit defaults to 75% of hard";
  EXPECT_EQ(c->link.handshake_timeout, 3s);
  EXPECT_EQ(c->link.idle_timeout, transport::kDefaultIdleTimeout);
  EXPECT_EQ(c->log.level, "debug");
  EXPECT_EQ(c->link_manager().link.network_id, 7u);
}

TEST(Config, FlagsOverrideFileValues) {
  auto map = parse_config_text("network_id = 7\n[links]\nping_interval = 30s\n", "f");
  ASSERT_TRUE(map.ok());
  ASSERT_TRUE(apply_overrides(*map, {"--network_id=9", "--links.ping_interval", "5s", "--listen=[::1]:7300"}).ok());
  auto c = build_node_config(*map);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->network_id, 9u);
  EXPECT_EQ(c->link.ping_interval, 5s);
  EXPECT_EQ(c->listen_host, "::1");
}

TEST(Config, ErrorsNameTheLineAndWhatIsExpected) {
  auto bad_line = parse_config_text("network_id = 1\nthis is not a pair\n", "node.conf");
  ASSERT_FALSE(bad_line.ok());
  EXPECT_NE(bad_line.error().message().find("node.conf:2"), std::string::npos);

  auto map = parse_config_text("[links]\nhard_limit = many\n", "node.conf");
  ASSERT_TRUE(map.ok());
  auto c = build_node_config(*map);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("node.conf:2"), std::string::npos) << c.error().message();
  EXPECT_NE(c.error().message().find("integer"), std::string::npos);
}

TEST(Config, RefusesUnknownKeysDuplicatesAndInconsistentLimits) {
  auto unknown = parse_config_text("netwrok_id = 1\n", "f");
  ASSERT_TRUE(unknown.ok());
  auto c = build_node_config(*unknown);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("unknown config key 'netwrok_id'"), std::string::npos);

  EXPECT_FALSE(parse_config_text("a = 1\na = 2\n", "f").ok());

  ConfigMap limits;
  ASSERT_TRUE(apply_overrides(limits, {"--links.hard_limit=10", "--links.soft_limit=20"}).ok());
  EXPECT_FALSE(build_node_config(limits).ok());

  ConfigMap level;
  ASSERT_TRUE(apply_overrides(level, {"--log.level=loud"}).ok());
  EXPECT_FALSE(build_node_config(level).ok());

  ConfigMap listen;
  ASSERT_TRUE(apply_overrides(listen, {"--listen=localhost:80"}).ok());
  EXPECT_FALSE(build_node_config(listen).ok());

  ConfigMap floodfill;
  ASSERT_TRUE(apply_overrides(floodfill, {"--netdb.floodfill=yes"}).ok());
  EXPECT_FALSE(build_node_config(floodfill).ok());

  ConfigMap flag;
  EXPECT_FALSE(apply_overrides(flag, {"--links.hard_limit"}).ok()) << "a flag without its value";
  EXPECT_FALSE(apply_overrides(flag, {"stray"}).ok());
}

TEST(Config, Durations) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("10s"), 10s);
  EXPECT_EQ(*parse_duration("5m"), 5min);
  EXPECT_EQ(*parse_duration("24h"), 24h);
  EXPECT_FALSE(parse_duration("10").ok());
  EXPECT_FALSE(parse_duration("s").ok());
  EXPECT_FALSE(parse_duration("10 s").ok());
  EXPECT_FALSE(parse_duration("-1s").ok());
}

const std::string kSampleAddress = netdb::Destination::generate().address();

TEST(Config, EveryDocumentedKeyIsAccepted) {
  // Each key in the reference table parses with a sample value, so the docs cannot drift.
  const std::map<std::string, std::string> samples = {
      {"network_id", "3"}, {"data_dir", "/tmp/x"}, {"listen", "127.0.0.1:1"}, {"seed_file", "s.txt"},
      {"log.level", "warn"}, {"log.file", "/tmp/l"}, {"links.hard_limit", "10"}, {"links.soft_limit", "5"},
      {"links.handshake_timeout", "1s"}, {"links.idle_timeout", "1m"}, {"links.ping_interval", "9s"},
      {"links.ping_timeout", "3s"}, {"links.max_queued_bytes", "100000"}, {"netdb.floodfill", "true"},
      {"netdb.bandwidth_kbps", "256"}, {"netdb.region", "DE"}, {"netdb.explore_interval", "5s"},
      {"netdb.probe_interval", "30s"}, {"netdb.probe_timeout", "5s"}, {"netdb.probe_budget", "60"},
      {"netdb.bandwidth_probe_bytes", "0"}, {"netdb.bandwidth_probe_interval", "1m"},
      {"netdb.ban_after_failures", "5"}, {"netdb.ban_duration", "1h"}, {"netdb.min_score", "0.5"},
      {"netdb.selection_capacity", "50"}, {"tunnels.inbound_quantity", "3"}, {"tunnels.outbound_quantity", "1"},
      {"tunnels.length", "0"}, {"tunnels.lifetime", "20s"}, {"tunnels.build_timeout", "5s"},
      {"tunnels.test_interval", "10s"}, {"tunnels.max_transit", "10"}, {"tunnels.share", "50"},
      {"tunnels.min_hop_bandwidth_kbps", "64"}, {"tunnels.build_rate_per_peer", "30"},
      {"console.listen", "127.0.0.1:0"}, {"console.token", "secret"},
      {"demo.backend", "backend-de 127.200.0.1:17000"},
      {"proxy.listen", "127.0.0.1:0 app=web proxy_protocol=v2, [::1]:0"}, {"proxy.routing_db", "r.db"},
      {"proxy.geoip", "/tmp/g.mmdb"}, {"proxy.region", "EU-West"}, {"proxy.workers", "2"},
      {"proxy.connect_timeout", "1s"}, {"proxy.idle_timeout", "1m"}, {"proxy.header_timeout", "2s"},
      {"proxy.drain_timeout", "3s"}, {"proxy.max_connections", "100"}, {"proxy.client_rate", "5"},
      {"proxy.connect_tries", "2"}, {"proxy.affinity_size", "1024"}, {"proxy.affinity_ttl", "1m"},
      {"proxy.reload_poll", "100ms"}, {"proxy.breaker_failures", "5"}, {"proxy.breaker_cooldown", "30s"},
      {"service.NAME.target", "127.0.0.1:8080"}, {"service.NAME.keys", "web.dst"},
      {"service.NAME.inbound_quantity", "1"}, {"service.NAME.outbound_quantity", "3"}, {"service.NAME.length", "2"},
      {"service.NAME.lifetime", "20s"}, {"client.NAME.listen", "127.0.0.1:9000"},
      {"client.NAME.destination", kSampleAddress}, {"client.NAME.keys", "c.dst"},
      {"client.NAME.inbound_quantity", "1"}, {"client.NAME.outbound_quantity", "3"}, {"client.NAME.length", "1"},
      {"client.NAME.lifetime", "30s"}};
  for (const auto& k : config_keys()) {
    ASSERT_TRUE(samples.count(k.key)) << "no sample for documented key " << k.key;
    ConfigMap map;
    ASSERT_TRUE(apply_overrides(map, {std::string("--") + k.key + "=" + samples.at(k.key)}).ok());
    // A service needs its target, a client its destination: those come along.
    const std::string key = k.key;
    if (key.starts_with("service.")) map["service.NAME.target"] = {"127.0.0.1:8080", "test"};
    if (key.starts_with("client.")) map["client.NAME.destination"] = {kSampleAddress, "test"};
    EXPECT_TRUE(build_node_config(map).ok()) << k.key;
  }
  EXPECT_EQ(config_keys().size(), samples.size());
}

TEST(Config, NetDbKeysReachTheProberBansAndSelection) {
  ConfigMap map;
  ASSERT_TRUE(apply_overrides(map, {"--netdb.probe_interval=30s", "--netdb.ban_after_failures=5",
                                    "--netdb.ban_duration=1h", "--netdb.min_score=0.25",
                                    "--netdb.bandwidth_probe_bytes=0", "--netdb.selection_capacity=7"})
                  .ok());
  auto c = build_node_config(map);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->prober.interval, std::chrono::seconds(30));
  EXPECT_EQ(c->bans.failures_before_ban, 5u);
  EXPECT_EQ(c->bans.duration, std::chrono::hours(1));
  EXPECT_DOUBLE_EQ(c->selection.min_score, 0.25);
  EXPECT_EQ(c->prober.bandwidth_bytes, 0u);
  EXPECT_EQ(c->selection.capacity, 7u);
  for (const char* bad : {"--netdb.min_score=1.5", "--netdb.min_score=x", "--netdb.ban_duration=0s",
                          "--netdb.probe_budget=0"}) {
    ConfigMap m;
    ASSERT_TRUE(apply_overrides(m, {bad}).ok());
    auto r = build_node_config(m);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find(std::string(bad).substr(2, std::string(bad).find('=') - 2)),
              std::string::npos)
        << r.error().message();
  }
}

TEST(Config, ChangedKeysComparesValuesNotOrigins) {
  auto before = parse_config_text("[log]\nlevel = info\n[links]\nhard_limit = 100\nsoft_limit = 50\n", "a.conf");
  auto after = parse_config_text("# moved lines\n[links]\nsoft_limit = 50\nhard_limit = 200\n[log]\nlevel = debug\n"
                                 "[netdb]\nmin_score = 0.3\n", "b.conf");
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_TRUE(changed_keys(*before, *before).empty());
  EXPECT_EQ(changed_keys(*before, *after), (std::vector<std::string>{"links.hard_limit", "log.level", "netdb.min_score"}));
  // A key dropped from the file changed too (back to its default).
  EXPECT_EQ(changed_keys(*after, *before), (std::vector<std::string>{"links.hard_limit", "log.level", "netdb.min_score"}));
  ConfigMap flagged = *before;
  ASSERT_TRUE(apply_overrides(flagged, {"--log.level=info"}).ok());
  EXPECT_TRUE(changed_keys(*before, flagged).empty()) << "same value from a flag is no change";
}

TEST(Config, ProxyListenersParseWithTheirOptions) {
  ConfigMap map;
  ASSERT_TRUE(apply_overrides(map, {"--proxy.listen=127.0.0.1:8080 app=web proxy_protocol=v1, [::1]:8443",
                                    "--proxy.region=EU-West"}).ok());
  auto c = build_node_config(map);
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->proxy.listeners.size(), 2u);
  EXPECT_EQ(c->proxy.listeners[0].host, "127.0.0.1");
  EXPECT_EQ(c->proxy.listeners[0].port, 8080);
  EXPECT_EQ(c->proxy.listeners[0].app, "web");
  EXPECT_EQ(c->proxy.listeners[0].proxy_protocol, proxy::ProxyVersions::kV1);
  EXPECT_EQ(c->proxy.listeners[1].host, "::1");
  EXPECT_FALSE(c->proxy.listeners[1].proxy_protocol.has_value());
  EXPECT_EQ(c->proxy.region, "eu-west");
  for (const char* bad : {"--proxy.listen=localhost:80", "--proxy.listen=127.0.0.1:80 tls",
                          "--proxy.listen=127.0.0.1:80 app=", "--proxy.listen=127.0.0.1:80 proxy_protocol=v3",
                          "--proxy.connect_tries=0", "--proxy.client_rate=70000"}) {
    ConfigMap m;
    ASSERT_TRUE(apply_overrides(m, {bad}).ok());
    auto r = build_node_config(m);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find(std::string(bad).substr(2, std::string(bad).find('=') - 2)), std::string::npos)
        << r.error().message();
  }
}

TEST(Config, TheLogLevelRoutingDbAndLimitsAreReloadedAndDocumented) {
  std::vector<std::string> reloadable;
  for (const auto& k : config_keys()) {
    if (is_reloadable_key(k.key)) reloadable.push_back(k.key);
  }
  // docs/operations.md, "Reloading the config (SIGHUP)"; reload_test.cc applies each.
  EXPECT_EQ(reloadable, (std::vector<std::string>{
                            "log.level", "netdb.bandwidth_kbps", "tunnels.max_transit", "tunnels.share",
                            "tunnels.build_rate_per_peer", "proxy.routing_db", "proxy.connect_timeout",
                            "proxy.idle_timeout", "proxy.header_timeout", "proxy.drain_timeout",
                            "proxy.max_connections", "proxy.client_rate", "proxy.connect_tries"}));
  EXPECT_FALSE(is_reloadable_key("links.hard_limit"));
  EXPECT_FALSE(is_reloadable_key("log.file"));
}


TEST(Config, ServicesAndClientTunnelsParseWithTheirPools) {
  const std::string address = netdb::Destination::generate().address();
  auto map = parse_config_text("tunnels.length = 2\n"
                               "[service.web]\ntarget = 127.0.0.1:8080\nlength = 1\n"
                               "[client.web]\nlisten = 127.0.0.1:9000\ndestination = " + address + "\nlifetime = 20s\n",
                               "t.conf");
  ASSERT_TRUE(map.ok()) << map.error().message();
  auto c = build_node_config(*map);
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->services.size(), 1u);
  EXPECT_EQ(c->services[0].name, "web");
  EXPECT_EQ(c->services[0].target_port, 8080);
  EXPECT_EQ(c->destination_pool(c->services[0].pool).length, 1u);
  ASSERT_EQ(c->clients.size(), 1u);
  EXPECT_EQ(c->clients[0].listen_port, 9000);
  EXPECT_EQ(c->clients[0].destination, address);
  EXPECT_EQ(c->destination_pool(c->clients[0].pool).length, 2u) << "unset: the exploratory pool's";
  EXPECT_EQ(c->destination_pool(c->clients[0].pool).lifetime, std::chrono::seconds(20));
}

TEST(Config, BadServicesAndClientTunnelsAreClearErrors) {
  const std::string address = netdb::Destination::generate().address();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--service.web.keys=w.dst", "service.web.target is not set"},
      {"--client.web.listen=127.0.0.1:9000", "client.web.destination is not set"},
      {"--client.web.destination=example.com", "expected a destination address"},
      {"--client.web.destination=" + address.substr(1), "expected a destination address"},
      {"--service.web.target=localhost:80", "numeric address and port"},
      {"--service.web.target=127.0.0.1:0", "numeric address and port"},
      {"--service.web.length=9", "an integer from 0 to 7"},
      {"--service.web.lifetime=1h", "from 10s to 10m"},
      {"--service.w/eb.target=127.0.0.1:80", "expected service.NAME.KEY"},
      {"--service.web.colour=blue", "a service has keys, target"},
      {"--client.web.port=1", "a client has listen, destination"},
  };
  for (const auto& [flag, expected] : bad) {
    ConfigMap map;
    ASSERT_TRUE(apply_overrides(map, {flag}).ok());
    auto c = build_node_config(map);
    ASSERT_FALSE(c.ok()) << flag;
    EXPECT_NE(c.error().message().find(expected), std::string::npos) << flag << ": " << c.error().message();
  }
}

}  // namespace
}  // namespace hop::router
