// The console on real nodes on loopback: the JSON API serves exactly the fields docs/console.md
// lists (the doc's tables are parsed here, so neither can drift), the Host check and the token,
// the HTTP limits, and /metrics (well-formed, documented, values that move with traffic); and the
// geo-proxy's view (/api/v1/proxy and the hopline_proxy_* families) on a node running a proxy in
// front of an echo backend on loopback; and the services, client tunnels and destinations
// (/api/v1/services, LeaseSets in /api/v1/netdb, the hopline_service_*, hopline_client_tunnel_*
// and hopline_destination_* families) with a connection through a client tunnel.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "hop/core/sqlite.h"
#include "hop/proxy/routing_db.h"
#include "hop/router/config.h"
#include "hop/router/console.h"
#include "hop/router/json_reader.h"
#include "hop/router/node.h"
#include "hop/router/proxy_host.h"
#include "console_edges.h"
#include "console_proxy.h"
#include "metrics.h"
#include "support/echo_backend.h"
#include "support/loopback.h"
#include "support/local_nodes.h"
#include "support/temp_dir.h"

namespace hop::router {
namespace {

using hop::test::TempDir;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// ---- a tiny HTTP client on the test's io_context (async reads, so the node keeps running) ----

struct Reply {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
  std::string raw;   // everything the server sent
};

Reply parse_reply(std::string raw) {
  Reply r;
  r.raw = raw;
  const auto end = raw.find("\r\n\r\n");
  r.head = raw.substr(0, end);
  if (end != std::string::npos) r.body = raw.substr(end + 4);
  if (raw.rfind("HTTP/1.1 ", 0) == 0) r.status = std::atoi(raw.c_str() + 9);
  return r;
}

// Sends `request` as is and reads until the server closes the connection. Both directions are
// asynchronous: the server runs on the same io_context.
Reply exchange(asio::io_context& io, std::uint16_t port, const std::string& request) {
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  EXPECT_FALSE(ec) << ec.message();
  if (ec) return {};
  std::string raw;
  bool finished = false;
  asio::async_write(socket, asio::buffer(request), [&](const boost::system::error_code&, std::size_t) {});
  asio::async_read(socket, asio::dynamic_buffer(raw), [&](const boost::system::error_code&, std::size_t) {
    finished = true;
  });
  if (!hop::test::run_until(io, [&] { return finished; }, 10s)) {
    socket.close();
    hop::test::run_until(io, [&] { return finished; }, 1s);
    ADD_FAILURE() << "no complete answer within 10 s";
  }
  return parse_reply(raw);
}

std::string request(std::string_view method, std::string_view path, std::string_view host,
                    std::string_view extra_headers = "") {
  std::string r = std::string(method) + " " + std::string(path) + " HTTP/1.1\r\n";
  if (!host.empty()) r += "Host: " + std::string(host) + "\r\n";
  r += std::string(extra_headers) + "Connection: close\r\n\r\n";
  return r;
}

// ---- JSON field paths: "a.b" for members, "a[].b" for members of array elements ----

class JsonPaths {
 public:
  // False if `text` is not one well-formed JSON value.
  bool parse(std::string_view text) {
    s_ = text;
    i_ = 0;
    if (!value("")) return false;
    skip_ws();
    return i_ == s_.size();
  }
  const std::set<std::string>& fields() const { return fields_; }
  // A documented field is excused when a container above it was null or an empty array.
  bool is_excused(const std::string& field) const {
    for (const auto& e : vacant_) {
      if (field.rfind(e + ".", 0) == 0) return true;
    }
    return false;
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool string(std::string* out) {
    if (!eat('"')) return false;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\') ++i_;
      if (static_cast<unsigned char>(s_[i_]) < 0x20) return false;
      if (out) *out += s_[i_];
      ++i_;
    }
    return eat('"');
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool value(const std::string& path) {
    skip_ws();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') return object(path);
    if (c == '[') return array(path);
    if (c == '"') return string(nullptr);
    if (literal("null")) {
      vacant_.insert(path);
      return true;
    }
    if (literal("true") || literal("false")) return true;
    const std::size_t start = i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || std::strchr("+-.eE", s_[i_]))) ++i_;
    return i_ > start;
  }
  bool object(const std::string& path) {
    eat('{');
    if (eat('}')) return true;
    do {
      std::string key;
      if (!string(&key) || !eat(':')) return false;
      const std::string field = path.empty() ? key : path + "." + key;
      fields_.insert(field);
      if (!value(field)) return false;
    } while (eat(','));
    return eat('}');
  }
  bool array(const std::string& path) {
    eat('[');
    if (eat(']')) {
      vacant_.insert(path + "[]");
      return true;
    }
    do {
      if (!value(path + "[]")) return false;
    } while (eat(','));
    return eat(']');
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::set<std::string> fields_;
  std::set<std::string> vacant_;
};

// ---- docs/console.md ----

struct ConsoleDoc {
  std::map<std::string, std::set<std::string>> endpoint_fields;  // "/api/v1/status" -> fields
  std::map<std::string, std::string> metric_types;               // "hopline_links" -> "gauge"
};

ConsoleDoc read_console_doc() {
  std::ifstream in(std::string(HOP_SOURCE_DIR) + "/docs/console.md");
  EXPECT_TRUE(in) << "docs/console.md is missing";
  static const std::regex endpoint_re(R"(^### `GET (/api/v1/[a-z_]+)`)");
  static const std::regex field_re(R"(^\| `([^`]+)` \| [^|]+ \| [^|]+ \|$)");
  static const std::regex metric_re(R"(^\| `(hopline_[a-z_]+)` \| (counter|gauge|histogram) \|)");
  ConsoleDoc doc;
  std::string endpoint, line;
  bool in_metrics = false;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, endpoint_re)) {
      endpoint = m[1];
      doc.endpoint_fields[endpoint];
    } else if (line.rfind("## ", 0) == 0) {
      endpoint.clear();
      in_metrics = line == "## Metrics";
    } else if (in_metrics && std::regex_search(line, m, metric_re)) {
      doc.metric_types[m[1]] = m[2];
    } else if (!endpoint.empty() && std::regex_search(line, m, field_re)) {
      doc.endpoint_fields[endpoint].insert(m[1]);
    }
  }
  return doc;
}

// ---- /metrics ----

struct Exposition {
  std::map<std::string, std::string> types;   // family -> counter|gauge
  std::set<std::string> helped;               // families with # HELP
  std::map<std::string, double> samples;      // "name{labels}" -> value
  std::vector<std::string> problems;
};

// The family a sample belongs to: its name, or for a histogram's _bucket, _sum and _count series
// the histogram's name.
std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (!name.ends_with(suffix)) continue;
    const auto base = name.substr(0, name.size() - suffix.size());
    const auto it = types.find(base);
    if (it != types.end() && it->second == "histogram") return base;
  }
  return name;
}

Exposition parse_exposition(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      const auto name = line.substr(7, line.find(' ', 7) - 7);
      if (e.types.count(name)) e.problems.push_back("HELP after TYPE for " + name);
      e.helped.insert(name);
    } else if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      if (!e.helped.count(name)) e.problems.push_back("TYPE without HELP before it: " + name);
      e.types[name] = type;
    } else if (!line.empty()) {
      const auto space = line.rfind(' ');
      const auto series = line.substr(0, space);
      const auto family = family_of(series.substr(0, series.find('{')), e.types);
      if (!e.types.count(family)) e.problems.push_back("sample of an undeclared family: " + line);
      e.samples[series] = std::strtod(line.c_str() + space + 1, nullptr);
    }
  }
  return e;
}

// ---- nodes ----


struct Nodes : hop::test::LocalNodes {
  using LocalNodes::add;
  Node& add(int i) { return *add(small_node_config(230, i)); }  // 127.230-239: apart from other tests
  std::uint16_t port() const { return nodes.front()->console()->local_endpoint().port(); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port()); }
  Reply get(std::string_view path) { return exchange(io, port(), request("GET", path, host())); }
  JsonValue get_json(std::string_view path) {
    const auto reply = get(path);
    auto json = parse_json(reply.body);
    EXPECT_TRUE(json.ok()) << reply.raw;
    return json.ok() ? *json : JsonValue{};
  }
  std::map<std::string, double> metrics() { return parse_exposition(get("/metrics").body).samples; }
};

// ---- a node with a geo-proxy ----

// routing.db in `dir` with backend "de-1" (to `backend`) and one invalid row (so routing.skipped
// has an entry: its id has characters ids may not have and its limits are the wrong way round),
// and the proxy of `c` on 127.0.0.1 (any port), one worker, with the MaxMind test database.
void add_proxy(NodeConfig& c, const std::filesystem::path& dir, const hop::test::EchoBackend& backend) {
  const auto db = dir / "routing.db";
  ASSERT_TRUE(proxy::init_routing_db(db).ok());
  core::sqlite::Database sql;
  ASSERT_EQ(sql.open(db, SQLITE_OPEN_READWRITE), SQLITE_OK);
  const std::string rows = "INSERT INTO backends(id,country,continent,target,soft_limit,hard_limit) VALUES"
                           "('de-1','DE','EU','" + backend.target() + "',10,20),('bad<id>','DE','EU','127.0.0.1:1',10,5)";
  ASSERT_EQ(sql.exec(rows.c_str()), SQLITE_OK) << sql.error();
  c.proxy.listeners = {{.host = "127.0.0.1", .port = 0}};
  c.proxy.workers = 1;
  c.proxy.routing_db = db;
  c.proxy.geoip = HOP_SHARED_DIR "/geoip/GeoLite2-Country-Test.mmdb";
  c.proxy.reload_poll = 50ms;
}

// Node 0 of `n` with a proxy in front of `backend`.
Node& add_proxy_node(Nodes& n, const hop::test::EchoBackend& backend) {
  auto c = n.small_node_config(249, 0);  // 127.249: apart from other tests
  add_proxy(c, n.dir.path(), backend);
  Node* node = n.add(c);
  EXPECT_TRUE(node && node->proxy()) << "the proxy did not start";
  return *node;
}

std::uint16_t proxy_port(const Node& node) { return node.proxy()->endpoints().at(0).port(); }

// The console of an EdgeNodes' node 0, for the tests below.
struct EdgeConsole : hop::test::EdgeNodes {
  using EdgeNodes::EdgeNodes;
  std::string host() const { return "127.0.0.1:" + std::to_string(console_port()); }
  Reply get(std::string_view path) { return exchange(io, console_port(), request("GET", path, host())); }
  JsonValue get_json(std::string_view path) {
    const auto reply = get(path);
    auto json = parse_json(reply.body);
    EXPECT_TRUE(json.ok()) << reply.raw;
    return json.ok() ? *json : JsonValue{};
  }
  std::map<std::string, double> metrics() { return parse_exposition(get("/metrics").body).samples; }
};

TEST(ConsoleApi, EveryEndpointServesExactlyTheDocumentedFields) {
  hop::test::EchoBackend backend("de-1");
  // Node 0 serves /api/v1/proxy in full, and /api/v1/services with a service, a client tunnel
  // and a session (the connection below).
  EdgeConsole n(233, backend, [&](int i, NodeConfig& c, const std::filesystem::path& dir) {
    if (i == 0) add_proxy(c, dir, backend);
  });
  ASSERT_EQ(n.nodes.size(), 3u);
  Node& node = *n.nodes.front();
  // Fill every array the API has: profiles, routers, tunnels with hops, transit tunnels, LeaseSets
  // with leases, services, clients, destinations with sessions.
  ASSERT_TRUE(hop::test::run_until(n.io, [&] {
    return node.netdb().size() == 3 && node.peers().profiles().size() >= 2 && !node.tunnels().transit().empty() &&
           node.tunnels().established(tunnels::Direction::kInbound) > 0 &&
           node.tunnels().established(tunnels::Direction::kOutbound) > 0;
  }, 15s)) << "routers " << node.netdb().size() << ", profiles " << node.peers().profiles().size() << ", transit "
           << node.tunnels().transit().size();
  ASSERT_TRUE(n.wait_for_lease_sets());
  hop::test::EdgeConnection connection(n.client_port(), "hello");
  ASSERT_TRUE(hop::test::wait_for_echo(n, connection));

  const auto doc = read_console_doc();
  ASSERT_EQ(doc.endpoint_fields.size(), 7u) << "status, peers, netdb, tunnels, transit, services, proxy";
  ASSERT_NE(node.proxy(), nullptr);
  for (const auto& [path, documented] : doc.endpoint_fields) {
    SCOPED_TRACE(path);
    ASSERT_FALSE(documented.empty());
    const auto reply = n.get(path);
    ASSERT_EQ(reply.status, 200) << reply.raw;
    EXPECT_NE(reply.head.find("Content-Type: application/json"), std::string::npos) << reply.head;
    JsonPaths json;
    ASSERT_TRUE(json.parse(reply.body)) << reply.body;
    for (const auto& field : json.fields()) EXPECT_TRUE(documented.count(field)) << "served but not documented: " << field;
    for (const auto& field : documented) {
      EXPECT_TRUE(json.fields().count(field) || json.is_excused(field)) << "documented but not served: " << field;
    }
    if (path == "/api/v1/services" || path == "/api/v1/netdb") {
      for (const auto& field : documented) EXPECT_TRUE(json.fields().count(field)) << "not served here: " << field;
    }
  }
  // The status document agrees with the node.
  const auto status = n.get("/api/v1/status").body;
  EXPECT_NE(status.find("\"identity\":\"" + node.identity().hash().to_string() + "\""), std::string::npos) << status;
  EXPECT_NE(status.find("\"netdb_routers\":3"), std::string::npos) << status;
}

TEST(ConsoleApi, UnknownPathsAreNotFoundAndHeadAndKeepAliveWork) {
  Nodes n;
  n.add(0);
  EXPECT_EQ(n.get("/api/v1/nope").status, 404);
  EXPECT_EQ(n.get("/nope").status, 404);
  EXPECT_EQ(n.get("/api/v1/status?pretty=1").status, 200) << "a query string is ignored";

  const auto head = exchange(n.io, n.port(), request("HEAD", "/metrics", n.host()));
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_NE(head.head.find("Content-Length: "), std::string::npos);

  // Two requests on one connection: the first keeps it alive, the second closes it.
  const std::string two = "GET /api/v1/status HTTP/1.1\r\nHost: " + n.host() + "\r\n\r\n" +
                          request("GET", "/api/v1/netdb", n.host());
  const auto both = exchange(n.io, n.port(), two);
  std::size_t answers = 0;
  for (auto at = both.raw.find("HTTP/1.1 200"); at != std::string::npos; at = both.raw.find("HTTP/1.1 200", at + 1)) ++answers;
  EXPECT_EQ(answers, 2u) << both.raw;
}

TEST(ConsoleApi, OversizedAndMalformedRequestsAreRefused) {
  Nodes n;
  n.add(0);
  const std::string huge_header = "X-Filler: " + std::string(kConsoleHeaderLimit, 'a') + "\r\n";
  EXPECT_EQ(exchange(n.io, n.port(), request("GET", "/api/v1/status", n.host(), huge_header)).status, 431);
  const std::string big_body = "POST /api/v1/status HTTP/1.1\r\nHost: " + n.host() + "\r\nContent-Length: " +
                               std::to_string(kConsoleBodyLimit + 1) + "\r\n\r\n" + std::string(4096, 'b');
  EXPECT_EQ(exchange(n.io, n.port(), big_body).status, 413);
  EXPECT_EQ(exchange(n.io, n.port(), "NOT HTTP AT ALL\r\n\r\n").status, 400);
  EXPECT_EQ(n.get("/api/v1/status").status, 200) << "the console still serves";
}

TEST(ConsoleSecurity, AForeignHostHeaderIsRefused) {
  Nodes n;
  n.add(0);
  const auto port = std::to_string(n.port());
  auto with_host = [&](std::string_view host) {
    return exchange(n.io, n.port(), request("GET", "/api/v1/status", host)).status;
  };
  EXPECT_EQ(with_host("evil.example"), 421);
  EXPECT_EQ(with_host("evil.example:" + port), 421);
  EXPECT_EQ(with_host("127.0.0.1.evil.example:" + port), 421);
  EXPECT_EQ(with_host("127.0.0.1:1"), 421) << "another port is another server";
  EXPECT_EQ(with_host(""), 400) << "no Host at all";
  EXPECT_EQ(with_host("127.0.0.1:" + port), 200);
  EXPECT_EQ(with_host("localhost:" + port), 200);
  EXPECT_EQ(with_host("LOCALHOST"), 200);
  EXPECT_EQ(with_host("127.0.0.1"), 200);
  EXPECT_EQ(exchange(n.io, n.port(), request("GET", "/metrics", "evil.example")).status, 421);
}

TEST(ConsoleSecurity, StateChangingRequestsNeedTheToken) {
  Nodes n;
  auto c = n.small_node_config(230, 0);
  c.console.token = "s3cret-token";
  n.add(c);
  auto post = [&](std::string_view method, std::string_view path, std::string_view auth) {
    return exchange(n.io, n.port(), request(method, path, n.host(), auth)).status;
  };
  EXPECT_EQ(post("POST", "/api/v1/status", ""), 401);
  EXPECT_EQ(post("POST", "/api/v1/status", "Authorization: Bearer wrong-token!\r\n"), 401);
  EXPECT_EQ(post("POST", "/api/v1/status", "Authorization: Bearer s3cret-toke\r\n"), 401);
  EXPECT_EQ(post("POST", "/api/v1/status", "Authorization: Basic s3cret-token\r\n"), 401);
  EXPECT_EQ(post("DELETE", "/metrics", ""), 401);
  EXPECT_EQ(post("POST", "/api/v1/status", "Authorization: Bearer s3cret-token\r\n"), 405);
  EXPECT_EQ(post("PUT", "/api/v1/peers", "Authorization: Bearer s3cret-token\r\n"), 405);
  EXPECT_EQ(post("POST", "/api/v1/nope", "Authorization: Bearer s3cret-token\r\n"), 404);
  EXPECT_EQ(exchange(n.io, n.port(), request("POST", "/api/v1/status", "evil.example",
                                             "Authorization: Bearer s3cret-token\r\n")).status,
            421) << "the token does not lift the Host check";
}

TEST(ConsoleSecurity, WithoutATokenEveryStateChangingRequestIsForbidden) {
  Nodes n;
  n.add(0);
  auto status = [&](std::string_view auth) {
    return exchange(n.io, n.port(), request("POST", "/api/v1/status", n.host(), auth)).status;
  };
  EXPECT_EQ(status(""), 403);
  EXPECT_EQ(status("Authorization: Bearer \r\n"), 403);
  EXPECT_EQ(status("Authorization: Bearer anything\r\n"), 403);
}

TEST(ConsoleMetrics, EveryFamilyIsDocumentedTypedAndNamedByTheRules) {
  Nodes n;
  n.add(0);
  const auto reply = n.get("/metrics");
  ASSERT_EQ(reply.status, 200);
  EXPECT_NE(reply.head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << reply.head;
  const auto e = parse_exposition(reply.body);
  for (const auto& p : e.problems) ADD_FAILURE() << p;
  ASSERT_FALSE(e.types.empty());
  for (const auto& [name, type] : e.types) {
    EXPECT_EQ(name.rfind("hopline_", 0), 0u) << name;
    EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << name;
    EXPECT_EQ(type == "counter", name.size() > 6 && name.ends_with("_total")) << name << " is a " << type;
  }
  const auto doc = read_console_doc();
  EXPECT_EQ(e.types, doc.metric_types) << "docs/console.md's metrics table and /metrics differ";
  for (const char* series : {"hopline_links{transport=\"tcp\"}", "hopline_link_limit{kind=\"soft\"}",
                             "hopline_link_limit{kind=\"hard\"}", "hopline_tunnel_builds_total{outcome=\"success\"}",
                             "hopline_tunnel_builds_total{outcome=\"refused\"}",
                             "hopline_tunnel_builds_total{outcome=\"timeout\"}", "hopline_tunnels{direction=\"inbound\"}",
                             "hopline_tunnels{direction=\"outbound\"}", "hopline_transit_tunnels",
                             "hopline_tunnel_cells_total{event=\"forwarded\"}", "hopline_link_bytes_total{direction=\"in\"}",
                             "hopline_link_bytes_total{direction=\"out\"}", "hopline_bans", "hopline_netdb_routers",
                             "hopline_probes_total", "hopline_uptime_seconds", "hopline_netdb_lease_sets{kind=\"local\"}",
                             "hopline_netdb_lease_sets{kind=\"held\"}", "hopline_netdb_lease_set_lookups_started_total",
                             "hopline_netdb_lease_set_lookups_total{outcome=\"found\"}",
                             "hopline_netdb_lease_set_refusals_total{reason=\"bad_signature\"}",
                             "hopline_netdb_lease_set_refusals_total{reason=\"full\"}"}) {
    EXPECT_TRUE(e.samples.count(series)) << series;
  }
  // Without a proxy, services or client tunnels their families are declared (so the set above is
  // the documented one) but empty.
  EXPECT_EQ(e.types.at("hopline_proxy_selection_seconds"), "histogram");
  EXPECT_EQ(e.types.at("hopline_service_connections_total"), "counter");
  EXPECT_EQ(e.types.at("hopline_destination_open_streams"), "gauge");
  for (const auto& [series, value] : e.samples) {
    for (const char* prefix : {"hopline_proxy_", "hopline_service_", "hopline_client_tunnel_", "hopline_destination_"}) {
      EXPECT_NE(series.rfind(prefix, 0), 0u) << series;
    }
  }
}

TEST(ConsoleMetrics, WithAProxyEveryProxyFamilyHasSamples) {
  hop::test::EchoBackend backend("de-1");
  Nodes n;
  add_proxy_node(n, backend);
  const auto e = parse_exposition(n.get("/metrics").body);
  for (const auto& p : e.problems) ADD_FAILURE() << p;
  EXPECT_EQ(e.types, read_console_doc().metric_types);
  for (const auto& [name, type] : e.types) {
    if (name.rfind("hopline_proxy_", 0) != 0) continue;
    const bool sampled = std::any_of(e.samples.begin(), e.samples.end(), [&](const auto& s) {
      return family_of(s.first.substr(0, s.first.find('{')), e.types) == name;
    });
    EXPECT_TRUE(sampled) << name << " has no sample";
  }
  for (const char* series : {"hopline_proxy_connections_total{backend=\"de-1\"}",
                             "hopline_proxy_bytes_total{backend=\"de-1\",direction=\"to_backend\"}",
                             "hopline_proxy_bytes_total{backend=\"de-1\",direction=\"from_backend\"}",
                             "hopline_proxy_backend_errors_total{backend=\"de-1\",reason=\"connect_refused\"}",
                             "hopline_proxy_backend_errors_total{backend=\"de-1\",reason=\"reset\"}",
                             "hopline_proxy_refused_total{reason=\"no_backend\"}",
                             "hopline_proxy_refused_total{reason=\"draining\"}",
                             "hopline_proxy_selection_seconds_bucket{le=\"5e-07\"}",
                             "hopline_proxy_selection_seconds_bucket{le=\"0.00025\"}",
                             "hopline_proxy_selection_seconds_bucket{le=\"+Inf\"}", "hopline_proxy_selection_seconds_sum",
                             "hopline_proxy_selection_seconds_count"}) {
    EXPECT_TRUE(e.samples.count(series)) << series;
  }
  EXPECT_EQ(e.samples.at("hopline_proxy_backend_up{backend=\"de-1\"}"), 1);
  EXPECT_EQ(e.samples.at("hopline_proxy_routing_version"), 1);
  EXPECT_EQ(e.samples.at("hopline_proxy_routing_load_ok"), 1);
  EXPECT_EQ(e.samples.count("hopline_proxy_connections_total{backend=\"bad<id>\"}"), 0u) << "a skipped row is no backend";
}

TEST(ConsoleMetrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value("de-1.eu_west"), "de-1.eu_west");
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_label_value(""), "");
}

TEST(ConsoleMetrics, ValuesMoveAsTrafficFlows) {
  Nodes n;
  n.add(0);
  const auto before = parse_exposition(n.get("/metrics").body).samples;
  EXPECT_EQ(before.at("hopline_links{transport=\"tcp\"}"), 0);
  EXPECT_EQ(before.at("hopline_link_bytes_total{direction=\"in\"}"), 0);
  n.add(1);
  n.mesh();
  ASSERT_TRUE(hop::test::run_until(n.io, [&] {
    return n.nodes[0]->links().links().size() == 1 && n.nodes[0]->prober().probes_started() > 0;
  }, 10s));
  const auto after = parse_exposition(n.get("/metrics").body).samples;
  EXPECT_EQ(after.at("hopline_links{transport=\"tcp\"}"), 1);
  EXPECT_GT(after.at("hopline_link_bytes_total{direction=\"in\"}"), 0);
  EXPECT_GT(after.at("hopline_link_bytes_total{direction=\"out\"}"), 0);
  EXPECT_GT(after.at("hopline_probes_total"), before.at("hopline_probes_total"));
  EXPECT_EQ(after.at("hopline_netdb_routers"), 2);
  // Counters only grow.
  (void)hop::test::run_until(n.io, [] { return false; }, 300ms);
  const auto later = parse_exposition(n.get("/metrics").body).samples;
  for (const auto& [series, value] : after) {
    if (series.find("_total") != std::string::npos) {
      EXPECT_GE(later.at(series), value) << series;
    }
  }
}

TEST(ConsoleMetrics, PromtoolAcceptsTheExposition) {
  // ./run test unpacks promtool from Debian's prometheus package and names it in HOP_PROMTOOL.
  const char* env = std::getenv("HOP_PROMTOOL");
  const std::string promtool = env && *env ? env : "/usr/bin/promtool";
  if (!std::filesystem::exists(promtool)) GTEST_SKIP() << "promtool not found (./run test fetches it from Debian's prometheus package)";
  // `body` in `dir`/NAME.txt, promtool's findings in NAME.out.
  auto check = [&](const std::filesystem::path& dir, const std::string& name, const std::string& body) {
    const auto file = dir / (name + ".txt");
    std::ofstream(file) << body;
    const auto out_file = dir / (name + ".out");
    const std::string cmd = promtool + " check metrics < " + file.string() + " > " + out_file.string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream out(out_file);
    std::string findings((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
    EXPECT_EQ(rc, 0) << name << ": " << findings;
  };
  {
    Nodes n;
    n.add(0);
    check(n.dir.path(), "without-proxy", n.get("/metrics").body);  // proxy and edge families declared without samples
  }
  hop::test::EchoBackend backend("de-1");
  {
    Nodes n;
    add_proxy_node(n, backend);
    check(n.dir.path(), "with-proxy", n.get("/metrics").body);  // labelled backend series and the selection histogram
  }
  EdgeConsole n(233, backend);
  ASSERT_EQ(n.nodes.size(), 3u);
  const auto body = n.get("/metrics").body;
  EXPECT_NE(body.find("hopline_destination_info{destination=\"client:echo\""), std::string::npos) << body;
  check(n.dir.path(), "with-services", body);  // per service, client tunnel and destination series
}

// ---- /api/v1/proxy ----

TEST(ConsoleProxy, ANodeWithoutAProxySaysSo) {
  Nodes n;
  n.add(0);
  const auto reply = n.get("/api/v1/proxy");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"enabled":false})");
}

TEST(ConsoleProxy, ShowsTheListenersRoutingAndBackends) {
  hop::test::EchoBackend backend("de-1");
  Nodes n;
  Node& node = add_proxy_node(n, backend);
  const auto doc = n.get_json("/api/v1/proxy");
  EXPECT_EQ(doc["enabled"].as_bool(), true);
  EXPECT_EQ(doc["workers"].as_number(), 1);
  ASSERT_EQ(doc["listeners"].items().size(), 1u);
  EXPECT_EQ(doc["listeners"].items()[0]["address"].as_text(), "127.0.0.1:" + std::to_string(proxy_port(node)));
  EXPECT_EQ(doc["listeners"].items()[0]["proxy_protocol"].as_text(), "off");
  const auto& routing = doc["routing"];
  EXPECT_EQ(routing["path"].as_text(), (n.dir.path() / "routing.db").string());
  EXPECT_EQ(routing["version"].as_number(), 1);
  EXPECT_TRUE(std::regex_match(std::string(routing["loaded_at"].as_text().value_or("")),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << routing["loaded_at"].as_text().value_or("?");
  EXPECT_EQ(routing["backends"].as_number(), 1);
  ASSERT_EQ(routing["skipped"].items().size(), 1u);
  EXPECT_EQ(routing["skipped"].items()[0]["table"].as_text(), "backends");
  EXPECT_EQ(routing["skipped"].items()[0]["key"].as_text(), "bad<id>");
  EXPECT_EQ(routing["last_error"].as_text(), "");
  EXPECT_EQ(routing["last_error_at"].as_text(), "") << "never failed";
  EXPECT_NE(routing["geoip"].as_text().value_or("").find("GeoLite2-Country"), std::string::npos);
  EXPECT_EQ(doc["connections"]["max"].as_number(), 20000);
  EXPECT_EQ(doc["affinity"]["capacity"].as_number(), 65536);
  EXPECT_EQ(doc["affinity"]["ttl_seconds"].as_number(), 600);
  ASSERT_EQ(doc["backends"].items().size(), 1u);
  const auto& b = doc["backends"].items()[0];
  EXPECT_EQ(b["id"].as_text(), "de-1");
  EXPECT_EQ(b["country"].as_text(), "DE");
  EXPECT_EQ(b["continent"].as_text(), "EU");
  EXPECT_EQ(b["target"].as_text(), backend.target());
  EXPECT_EQ(b["soft_limit"].as_number(), 10);
  EXPECT_EQ(b["hard_limit"].as_number(), 20);
  EXPECT_EQ(b["healthy"].as_bool(), true);
  EXPECT_EQ(b["breaker"].as_text(), "closed");
  EXPECT_EQ(b["connections_total"].as_number(), 0);
}

TEST(ConsoleProxy, ValuesMoveAsTrafficFlows) {
  hop::test::EchoBackend backend("de-1");
  Nodes n;
  Node& node = add_proxy_node(n, backend);
  const auto before = n.metrics();
  EXPECT_EQ(before.at("hopline_proxy_connections_total{backend=\"de-1\"}"), 0);
  EXPECT_EQ(before.at("hopline_proxy_accepted_total"), 0);
  const std::string payload(5000, 'x');
  {
    hop::test::TestClient client(proxy_port(node));
    ASSERT_TRUE(client.connected());
    ASSERT_EQ(client.read_line(), "de-1") << "the backend's greeting, through the proxy";
    ASSERT_TRUE(client.echoes(payload));
    const auto during = n.get_json("/api/v1/proxy");
    EXPECT_EQ(during["connections"]["current"].as_number(), 1);
    EXPECT_EQ(during["backends"].items().at(0)["active"].as_number(), 1);
    const auto m = n.metrics();
    EXPECT_EQ(m.at("hopline_proxy_client_connections"), 1);
    EXPECT_EQ(m.at("hopline_proxy_connections_current{backend=\"de-1\"}"), 1);
  }
  ASSERT_TRUE(hop::test::run_until(n.io, [&] {
    const auto v = read_proxy_view(*node.proxy(), core::SteadyClock::now());
    return v.current == 0 && v.backends.at(0).bytes_from_backend >= payload.size() + 5;
  }, 5s)) << "the closed connection is counted";
  const auto doc = n.get_json("/api/v1/proxy");
  EXPECT_EQ(doc["connections"]["accepted_total"].as_number(), 1);
  EXPECT_EQ(doc["connections"]["current"].as_number(), 0);
  EXPECT_GE(doc["selection"]["count"].as_number(), 1);
  EXPECT_GT(doc["selection"]["mean_us"].as_number(), 0);
  EXPECT_GE(doc["geoip_misses"].as_number(), 1) << "127.0.0.1 is in no database";
  const auto& b = doc["backends"].items().at(0);
  EXPECT_EQ(b["connections_total"].as_number(), 1);
  EXPECT_EQ(b["active"].as_number(), 0);
  EXPECT_GE(b["bytes_to_backend"].as_number(), payload.size());
  EXPECT_GE(b["bytes_from_backend"].as_number(), payload.size() + 5) << "echo and greeting";
  EXPECT_GT(b["connect_time_ms"].as_number(), 0);
  const auto after = n.metrics();
  EXPECT_EQ(after.at("hopline_proxy_connections_total{backend=\"de-1\"}"), 1);
  EXPECT_EQ(after.at("hopline_proxy_accepted_total"), 1);
  EXPECT_GE(after.at("hopline_proxy_bytes_total{backend=\"de-1\",direction=\"to_backend\"}"), payload.size());
  EXPECT_GE(after.at("hopline_proxy_bytes_total{backend=\"de-1\",direction=\"from_backend\"}"), payload.size() + 5);
  EXPECT_GT(after.at("hopline_proxy_backend_connect_seconds{backend=\"de-1\"}"), 0);
  EXPECT_GE(after.at("hopline_proxy_selection_seconds_count"), 1);
  EXPECT_EQ(after.at("hopline_proxy_selection_seconds_count"),
            after.at("hopline_proxy_selection_seconds_bucket{le=\"+Inf\"}"));
  EXPECT_GT(after.at("hopline_proxy_selection_seconds_sum"), 0);
}

TEST(ConsoleProxy, AFailedRoutingLoadIsReported) {
  hop::test::EchoBackend backend("de-1");
  Nodes n;
  Node& node = add_proxy_node(n, backend);
  core::sqlite::Database sql;
  ASSERT_EQ(sql.open(n.dir.path() / "routing.db", SQLITE_OPEN_READWRITE), SQLITE_OK);
  ASSERT_EQ(sql.exec("DROP TABLE geo_overrides"), SQLITE_OK) << sql.error();
  ASSERT_TRUE(hop::test::run_until(n.io, [&] { return !node.proxy()->status()->last_error.empty(); }, 5s));
  const auto routing = n.get_json("/api/v1/proxy")["routing"];
  EXPECT_NE(routing["last_error"].as_text().value_or(""), "");
  EXPECT_NE(routing["last_error_at"].as_text().value_or(""), "");
  EXPECT_EQ(routing["version"].as_number(), 1) << "the last good table stays";
  const auto m = n.metrics();
  EXPECT_EQ(m.at("hopline_proxy_routing_load_ok"), 0);
  EXPECT_EQ(m.at("hopline_proxy_routing_version"), 1);
  EXPECT_EQ(m.at("hopline_proxy_backend_up{backend=\"de-1\"}"), 1) << "still served from the last good table";
}

// ---- /api/v1/services, LeaseSets, pool names ----

TEST(ConsoleServices, ANodeWithoutEdgesHasEmptyLists) {
  Nodes n;
  n.add(0);
  EXPECT_EQ(n.get("/api/v1/services").body, R"({"services":[],"clients":[],"destinations":[]})");
  const auto netdb = n.get_json("/api/v1/netdb");
  EXPECT_EQ(netdb["lease_sets"].kind(), JsonValue::Kind::kArray);
  EXPECT_TRUE(netdb["lease_sets"].items().empty());
  EXPECT_EQ(netdb["lease_set_counters"]["refusals"]["bad_signature"].as_number(), 0);
}

TEST(ConsoleServices, ShowTheEdgesTheirDestinationsAndTheTrafficTheyCarry) {
  hop::test::EchoBackend backend("echo");
  EdgeConsole n(233, backend);
  ASSERT_EQ(n.nodes.size(), 3u);
  ASSERT_TRUE(n.wait_for_lease_sets());
  Node& node = n.front();
  const auto* local = node.services().front().get();
  const auto* client = node.clients().front().get();
  const std::string payload(3000, 'p');
  hop::test::EdgeConnection connection(n.client_port(), payload);
  ASSERT_TRUE(hop::test::wait_for_echo(n, connection));
  EXPECT_EQ(connection.greeting(), "echo");

  const auto doc = n.get_json("/api/v1/services");
  ASSERT_EQ(doc["services"].items().size(), 1u);
  const auto& s = doc["services"].items()[0];
  EXPECT_EQ(s["name"].as_text(), "local");
  EXPECT_EQ(s["address"].as_text(), local->destination().hash().address());
  EXPECT_EQ(s["target"].as_text(), backend.target());
  EXPECT_EQ(s["connections"].as_number(), 0) << "nobody connects to node 0's service";
  ASSERT_EQ(doc["clients"].items().size(), 1u);
  const auto& c = doc["clients"].items()[0];
  EXPECT_EQ(c["name"].as_text(), "echo");
  EXPECT_EQ(c["listen"].as_text(), "127.0.0.1:" + std::to_string(n.client_port()));
  EXPECT_EQ(c["remote"].as_text(), n.service_address);
  EXPECT_EQ(c["address"].as_text(), client->destination().hash().address());
  EXPECT_EQ(c["connections"].as_number(), 1);
  EXPECT_EQ(c["active"].as_number(), 1) << "the connection is held open";
  EXPECT_EQ(c["failed"].as_number(), 0);
  EXPECT_GE(c["bytes_in"].as_number(), payload.size());
  EXPECT_GE(c["bytes_out"].as_number(), payload.size() + 5) << "the echo and the greeting";

  ASSERT_EQ(doc["destinations"].items().size(), 2u);
  const JsonValue* dest = nullptr;
  for (const auto& d : doc["destinations"].items()) {
    if (d["name"].as_text() == "client:echo") dest = &d;
  }
  ASSERT_NE(dest, nullptr);
  EXPECT_EQ((*dest)["address"].as_text(), client->destination().hash().address());
  EXPECT_EQ((*dest)["pool"].as_number(), client->destination().pool());
  EXPECT_GE((*dest)["tunnels"]["inbound"].as_number(), 1);
  EXPECT_GE((*dest)["tunnels"]["outbound"].as_number(), 1);
  EXPECT_GE((*dest)["lease_set"]["leases"].as_number(), 1);
  EXPECT_EQ((*dest)["counters"]["sessions_initiated"].as_number(), 1);
  EXPECT_GE((*dest)["counters"]["streams_opened"].as_number(), 1);
  EXPECT_GT((*dest)["counters"]["messages_sent"].as_number(), 0);
  EXPECT_GT((*dest)["counters"]["messages_received"].as_number(), 0);
  EXPECT_EQ((*dest)["open_streams"].as_number(), 1);
  ASSERT_EQ((*dest)["sessions"].items().size(), 1u);
  const auto& session = (*dest)["sessions"].items()[0];
  EXPECT_EQ(session["remote"].as_text(), n.service_address);
  EXPECT_EQ(session["state"].as_text(), "established");
  EXPECT_EQ(session["initiator"].as_bool(), true);
  EXPECT_EQ(session["streams"].as_number(), 1);
  EXPECT_GE(session["last_receive_s"].as_number(), 0);

  // The NetDB holds both of our LeaseSets (local) and node 1's service's.
  const auto netdb = n.get_json("/api/v1/netdb");
  std::map<std::string, bool> held;
  for (const auto& ls : netdb["lease_sets"].items()) {
    held[std::string(ls["destination"].as_text().value_or(""))] = ls["local"].as_bool().value_or(false);
    ASSERT_FALSE(ls["leases"].items().empty());
    const auto& lease = ls["leases"].items()[0];
    EXPECT_EQ(lease["gateway"].as_text().value_or("").size(), 52u);
    EXPECT_GT(lease["tunnel_id"].as_number().value_or(0), 0);
    EXPECT_GT(lease["expires_in_s"].as_number().value_or(0), 0);
    EXPECT_GT(ls["expires_in_s"].as_number().value_or(0), 0);
  }
  EXPECT_EQ(held[client->destination().hash().address()], true);
  EXPECT_EQ(held[local->destination().hash().address()], true);
  ASSERT_TRUE(held.count(n.service_address));
  EXPECT_EQ(held[n.service_address], false);

  // Tunnels name their pools.
  bool client_pool = false;
  const auto tunnels = n.get_json("/api/v1/tunnels");
  for (const auto& t : tunnels["tunnels"].items()) {
    if (t["pool"].as_number() == 0) {
      EXPECT_EQ(t["pool_name"].as_text(), "exploratory");
    }
    if (t["pool_name"].as_text() == "client:echo") {
      client_pool = true;
      EXPECT_EQ(t["pool"].as_number(), client->destination().pool());
    }
  }
  EXPECT_TRUE(client_pool);

  const auto m = n.metrics();
  EXPECT_EQ(m.at("hopline_client_tunnel_connections_total{client=\"echo\"}"), 1);
  EXPECT_EQ(m.at("hopline_client_tunnel_connections_current{client=\"echo\"}"), 1);
  EXPECT_GE(m.at("hopline_client_tunnel_bytes_total{client=\"echo\",direction=\"in\"}"), payload.size());
  EXPECT_GE(m.at("hopline_client_tunnel_bytes_total{client=\"echo\",direction=\"out\"}"), payload.size() + 5);
  EXPECT_EQ(m.at("hopline_service_connections_total{service=\"local\"}"), 0);
  EXPECT_EQ(m.at("hopline_service_bytes_total{service=\"local\",direction=\"in\"}"), 0);
  EXPECT_EQ(m.at("hopline_destination_open_streams{destination=\"client:echo\"}"), 1);
  EXPECT_EQ(m.at("hopline_destination_sessions{destination=\"client:echo\"}"), 1);
  EXPECT_EQ(m.at("hopline_destination_sessions_total{destination=\"client:echo\",event=\"initiated\"}"), 1);
  EXPECT_GE(m.at("hopline_destination_streams_total{destination=\"client:echo\",event=\"opened\"}"), 1);
  EXPECT_GT(m.at("hopline_destination_messages_total{destination=\"client:echo\",event=\"sent\"}"), 0);
  EXPECT_GT(m.at("hopline_destination_bytes_total{destination=\"client:echo\",direction=\"out\"}"), 0);
  EXPECT_TRUE(m.count("hopline_destination_path_changes_total{destination=\"service:local\"}"));
  EXPECT_GE(m.at("hopline_destination_leases{destination=\"service:local\"}"), 1);
  EXPECT_GE(m.at("hopline_destination_tunnels{destination=\"client:echo\",direction=\"inbound\"}"), 1);
  EXPECT_GE(m.at("hopline_destination_lease_sets_total{destination=\"client:echo\",event=\"published\"}"), 1);
  EXPECT_EQ(m.at("hopline_destination_info{destination=\"client:echo\",address=\"" +
                 client->destination().hash().address() + "\"}"),
            1);
  EXPECT_EQ(m.at("hopline_netdb_lease_sets{kind=\"local\"}"), 2);
  EXPECT_GE(m.at("hopline_netdb_lease_sets{kind=\"held\"}"), 1);
  // Node 1 has no console; its service carried the stream.
  EXPECT_EQ(n.nodes[1]->services().front()->counters().connections, 1u);

  // Closed: no longer active, the counters stay.
  connection.release();
  ASSERT_TRUE(hop::test::run_until(n.io, [&] { return client->counters().active == 0; }, 10s));
  const auto after = n.get_json("/api/v1/services");
  EXPECT_EQ(after["clients"].items()[0]["active"].as_number(), 0);
  EXPECT_EQ(after["clients"].items()[0]["connections"].as_number(), 1);
}

TEST(ConsoleConfig, ANonLoopbackListenWithoutATokenRefusesToStart) {
  Nodes n;
  auto c = n.small_node_config(230, 0);
  c.console.host = "0.0.0.0";
  auto node = Node::create(n.rt, c, {});
  ASSERT_TRUE(node.ok()) << node.error().message();
  const auto st = (*node)->start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("console.token"), std::string::npos) << st.error().message();
  EXPECT_TRUE((*node)->links().links().empty());

  c.console.token = "a-long-random-secret";
  c.data_dir = n.dir.path() / "with-token";
  auto with_token = Node::create(n.rt, c, {});
  ASSERT_TRUE(with_token.ok());
  EXPECT_TRUE((*with_token)->start().ok()) << "a token allows it";
}

TEST(ConsoleConfig, KeysParseAndValidate) {
  auto build = [](std::vector<std::string> args) {
    ConfigMap map;
    EXPECT_TRUE(apply_overrides(map, args).ok());
    return build_node_config(map);
  };
  auto defaults = build({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->console.enabled);
  EXPECT_EQ(defaults->console.host, "127.0.0.1");
  EXPECT_EQ(defaults->console.port, 7070);
  EXPECT_TRUE(defaults->console.token.empty());

  auto off = build({"--console.listen=off"});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->console.enabled);

  auto v6 = build({"--console.listen=[::1]:8080"});
  ASSERT_TRUE(v6.ok()) << v6.error().message();
  EXPECT_EQ(v6->console.host, "::1");
  EXPECT_EQ(v6->console.port, 8080);

  auto open = build({"--console.listen=0.0.0.0:7070"});
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message().find("console.token"), std::string::npos) << open.error().message();
  EXPECT_TRUE(build({"--console.listen=0.0.0.0:7070", "--console.token=secret"}).ok());
  EXPECT_FALSE(build({"--console.listen=localhost:7070"}).ok()) << "numeric addresses only";
}

}  // namespace
}  // namespace hop::router
