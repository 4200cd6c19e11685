// reload_node, what `hopline node` runs on SIGHUP, against a running POP on loopback (its proxy
// in front of an echo backend, no peers): live keys are applied to the node, the proxy and the
// RouterInfo while a client stays connected; the others are named for a restart; a bad config
// changes nothing.
#include "hop/router/reload.h"

#include <gtest/gtest.h>

#include <set>

#include "hop/core/errors.h"
#include "hop/core/log.h"
#include "hop/core/sqlite.h"
#include "hop/proxy/routing_db.h"
#include "hop/router/proxy_host.h"
#include "support/echo_backend.h"
#include "support/local_nodes.h"

namespace hop::router {
namespace {

using namespace std::chrono_literals;
using hop::test::EchoBackend;
using hop::test::TestClient;

// A POP node started from a config map, as `hopline node` starts one.
class Pop {
 public:
  Pop() {
    db_ = nodes_.dir.path() / "routing.db";
    EXPECT_TRUE(proxy::init_routing_db(db_).ok());
    core::sqlite::Database sql;
    EXPECT_EQ(sql.open(db_, SQLITE_OPEN_READWRITE), SQLITE_OK);
    const std::string row = "INSERT INTO backends(id,country,continent,target,soft_limit,hard_limit) "
                            "VALUES('de-1','DE','EU','" + backend_.target() + "',100,1000)";
    EXPECT_EQ(sql.exec(row.c_str()), SQLITE_OK) << sql.error();
    auto map = parse_config_text("data_dir = " + (nodes_.dir.path() / "pop").string() +
                                     "\nlisten = 127.214.0.1:0\n"
                                     "[console]\nlisten = off\n"
                                     "[proxy]\nlisten = 127.0.0.1:0\nworkers = 1\nrouting_db = " + db_.string() +
                                     "\nmax_connections = 3\ndrain_timeout = 1s\n",
                                 "node.conf");
    EXPECT_TRUE(map.ok()) << map.error().message();
    running = *map;
    auto config = build_node_config(running);
    EXPECT_TRUE(config.ok()) << config.error().message();
    node_ = nodes_.add(*config);
    EXPECT_TRUE(node_ && node_->proxy()) << "the POP did not start";
  }
  Node& node() { return *node_; }
  const proxy::ProxyShared& proxy() { return node_->proxy()->shared(); }
  std::uint16_t port() const { return node_->proxy()->endpoints().at(0).port(); }
  const std::filesystem::path& routing_db() const { return db_; }
  // `base` with `changes` applied, as an edited file would read ("" removes the key).
  static ConfigMap edited(ConfigMap base, const std::map<std::string, std::string>& changes) {
    for (const auto& [key, value] : changes) {
      if (value.empty()) {
        base.erase(key);
      } else {
        base[key] = {value, "node.conf:9"};
      }
    }
    return base;
  }
  // True when the backend greets a new client (the proxy admitted it).
  static bool admitted(TestClient& client) { return client.connected() && client.read_line() == "de-1"; }
  std::uint32_t advertised_kbps() { return node_->netdb().find(node_->identity().hash())->info.bandwidth_kbps; }

  ConfigMap running;

 private:
  hop::test::LocalNodes nodes_;
  EchoBackend backend_{"de-1"};
  std::filesystem::path db_;
  Node* node_ = nullptr;
};

TEST(Reload, AppliesTheLimitsLiveAndNamesWhatNeedsARestart) {
  Pop pop;
  ASSERT_EQ(pop.proxy().limits.max_connections(), 3u);
  ASSERT_EQ(pop.advertised_kbps(), 819u) << "80 % of 1024";
  TestClient open(pop.port());
  ASSERT_TRUE(Pop::admitted(open));
  TestClient second(pop.port());
  ASSERT_TRUE(Pop::admitted(second));

  const ConfigMap lowered = Pop::edited(pop.running, {{"proxy.max_connections", "1"},
                                                      {"proxy.connect_timeout", "750ms"},
                                                      {"tunnels.max_transit", "0"},
                                                      {"tunnels.share", "50"},
                                                      {"netdb.bandwidth_kbps", "2000"},
                                                      {"links.hard_limit", "100"},
                                                      {"listen", "127.214.0.1:7100"}});
  const auto report = reload_node(lowered, pop.running, pop.node());
  ASSERT_TRUE(report.accepted) << report.error;
  EXPECT_EQ(report.applied, (std::vector<std::string>{"netdb.bandwidth_kbps 1024 -> 2000",
                                                      "proxy.connect_timeout 3s -> 750ms",
                                                      "proxy.max_connections 3 -> 1", "tunnels.max_transit 5000 -> 0",
                                                      "tunnels.share 80 -> 50"}));
  EXPECT_EQ(report.restart, (std::vector<std::string>{"links.hard_limit", "listen"}));
  // Applied: to the node's config, the proxy's workers and our RouterInfo (re-signed at once).
  const NodeConfig& now = pop.node().config();
  EXPECT_EQ(now.proxy.max_connections, 1u);
  EXPECT_EQ(now.proxy.connect_timeout, 750ms);
  EXPECT_EQ(now.tunnels.transit.max_transit, 0u);
  EXPECT_EQ(now.shared_kbps(), 1000u);
  EXPECT_EQ(pop.proxy().limits.max_connections(), 1u);
  EXPECT_EQ(pop.proxy().limits.connect_timeout(), 750ms);
  EXPECT_EQ(pop.advertised_kbps(), 1000u);
  // Not applied: the running values stay, and `running` keeps them so the next reload names them.
  EXPECT_EQ(now.limits.hard, 1500u);
  EXPECT_EQ(now.listen_port, 0u);
  EXPECT_FALSE(pop.running.count("links.hard_limit"));
  EXPECT_EQ(pop.running.at("listen").value, "127.214.0.1:0");
  EXPECT_EQ(pop.running.at("proxy.max_connections").value, "1");

  // Two open, the limit now 1: both stay, a new client is refused.
  TestClient refused(pop.port());
  ASSERT_TRUE(refused.connected());
  EXPECT_TRUE(refused.closed_without_data());
  EXPECT_EQ(pop.proxy().counters.refused(proxy::Refusal::kMaxConnections), 1u);
  EXPECT_TRUE(open.echoes("still open"));
  EXPECT_TRUE(second.echoes("me too"));

  const auto raised = reload_node(Pop::edited(lowered, {{"proxy.max_connections", "5"}}), pop.running, pop.node());
  ASSERT_TRUE(raised.accepted) << raised.error;
  EXPECT_EQ(raised.applied, (std::vector<std::string>{"proxy.max_connections 1 -> 5"}));
  EXPECT_EQ(raised.restart, (std::vector<std::string>{"links.hard_limit", "listen"})) << "named again";
  TestClient again(pop.port());
  EXPECT_TRUE(Pop::admitted(again)) << "raised: admitted again";
  EXPECT_TRUE(again.echoes("hello"));
  EXPECT_TRUE(open.echoes("and still open"));
  EXPECT_EQ(pop.advertised_kbps(), 1000u);
}

TEST(Reload, ABadValueOrAnUnreadableFileKeepsTheWholeRunningConfig) {
  Pop pop;
  const ConfigMap before = pop.running;
  auto same = [&](const ConfigMap& a, const ConfigMap& b) { return changed_keys(a, b).empty(); };
  const ConfigMap bad = Pop::edited(pop.running, {{"proxy.max_connections", "0"},
                                                  {"tunnels.max_transit", "7"},
                                                  {"netdb.bandwidth_kbps", "10"}});
  const auto report = reload_node(bad, pop.running, pop.node());
  EXPECT_FALSE(report.accepted);
  EXPECT_NE(report.error.find("node.conf:9: proxy.max_connections = '0'"), std::string::npos) << report.error;
  EXPECT_TRUE(report.applied.empty());
  EXPECT_TRUE(report.restart.empty());
  EXPECT_TRUE(same(pop.running, before));
  EXPECT_EQ(pop.node().config().tunnels.transit.max_transit, 5000u) << "the good value next to the bad one too";
  EXPECT_EQ(pop.node().config().bandwidth_kbps, 1024u);
  EXPECT_EQ(pop.proxy().limits.max_connections(), 3u);
  EXPECT_EQ(pop.advertised_kbps(), 819u);

  const auto unknown = reload_node(Pop::edited(pop.running, {{"proxy.max_conections", "5"}}), pop.running, pop.node());
  EXPECT_FALSE(unknown.accepted);
  EXPECT_NE(unknown.error.find("unknown config key 'proxy.max_conections'"), std::string::npos) << unknown.error;

  const auto unreadable = reload_node(
      core::Result<ConfigMap>(core::make_error(core::Errc::kInvalidArgument, "node.conf:4: expected 'key = value'")),
      pop.running, pop.node());
  EXPECT_FALSE(unreadable.accepted);
  EXPECT_NE(unreadable.error.find("node.conf:4: expected 'key = value'"), std::string::npos) << unreadable.error;
  EXPECT_TRUE(same(pop.running, before));
  EXPECT_EQ(pop.proxy().limits.max_connections(), 3u);

  TestClient client(pop.port());
  EXPECT_TRUE(Pop::admitted(client)) << "the proxy runs on as before";
}

TEST(Reload, EveryLiveKeyIsAppliedAndLogged) {
  Pop pop;
  // A new value for each key is_reloadable_key names; the list must cover exactly those.
  const std::map<std::string, std::string> changes = {
      {"log.level", "error"},
      {"netdb.bandwidth_kbps", "512"},
      {"tunnels.share", "10"},
      {"tunnels.max_transit", "9"},
      {"tunnels.build_rate_per_peer", "7"},
      {"proxy.routing_db", (pop.routing_db().parent_path() / "." / "routing.db").string()},
      {"proxy.max_connections", "11"},
      {"proxy.client_rate", "5"},
      {"proxy.connect_tries", "2"},
      {"proxy.connect_timeout", "1s"},
      {"proxy.idle_timeout", "1m"},
      {"proxy.header_timeout", "2s"},
      {"proxy.drain_timeout", "3s"},
  };
  std::set<std::string> live;
  for (const auto& doc : config_keys()) {
    if (is_reloadable_key(doc.key)) live.insert(doc.key);
  }
  std::set<std::string> changed;
  for (const auto& [key, value] : changes) changed.insert(key);
  ASSERT_EQ(changed, live) << "a live key without a test here, or a test of a key that is not live";

  const auto report = reload_node(Pop::edited(pop.running, changes), pop.running, pop.node());
  ASSERT_TRUE(core::set_log_level("info").ok());  // the process-wide level, as the other tests have it
  ASSERT_TRUE(report.accepted) << report.error;
  EXPECT_TRUE(report.restart.empty());
  ASSERT_EQ(report.applied.size(), changes.size());
  for (const auto& line : report.applied) {
    const std::string key = line.substr(0, line.find(' '));
    ASSERT_TRUE(changes.count(key)) << line;
    const std::string expected_end = key == "log.level" ? "is now error" : "-> " + changes.at(key);
    EXPECT_EQ(line.substr(line.size() - expected_end.size()), expected_end) << line;
  }
  const NodeConfig& c = pop.node().config();
  EXPECT_EQ(c.shared_kbps(), 51u);
  EXPECT_EQ(pop.advertised_kbps(), 51u);
  EXPECT_EQ(c.tunnels.transit.max_transit, 9u);
  EXPECT_EQ(c.tunnels.transit.build_requests_per_peer_per_minute, 7u);
  const auto& limits = pop.proxy().limits;
  EXPECT_EQ(limits.max_connections(), 11u);
  EXPECT_EQ(limits.connect_tries(), 2u);
  EXPECT_EQ(limits.connect_timeout(), 1s);
  EXPECT_EQ(limits.idle_timeout(), 1min);
  EXPECT_EQ(limits.header_timeout(), 2s);
  EXPECT_EQ(limits.drain_timeout(), 3s);
  EXPECT_EQ(pop.proxy().rate.per_second(), 5u);
  // Nothing changed since: a second reload applies nothing and names nothing.
  const auto again = reload_node(pop.running, pop.running, pop.node());
  EXPECT_TRUE(again.accepted && again.applied.empty() && again.restart.empty());
}

}  // namespace
}  // namespace hop::router
