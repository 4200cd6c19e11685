// The console commands (hopline status|peers|tunnels|netdb|services) against real nodes on loopback: the
// client runs on its own thread (it blocks) while the test thread runs the nodes' io_context.
// Also the JSON reader they parse with, and the console URL rules.
#include "hop/router/console_cli.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hop/core/asio_runtime.h"
#include "hop/router/config.h"
#include "hop/router/console.h"
#include "hop/router/console_client.h"
#include "hop/router/json_reader.h"
#include "hop/router/node.h"
#include "console_edges.h"
#include "support/loopback.h"
#include "support/local_nodes.h"
#include "support/temp_dir.h"

namespace hop::router {
namespace {

using hop::test::TempDir;
using namespace std::chrono_literals;
namespace asio = boost::asio;

// ---- the JSON reader ----

TEST(ConsoleCliJson, ReadsEveryKindWithEscapesAndKeepsNumbersAsWritten) {
  auto v = parse_json(R"( {"a": [1, -2.5e3, 0], "s": "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "t": true,
                           "f": false, "n": null, "o": {"x": {}}, "e": []} )");
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->kind(), JsonValue::Kind::kObject);
  ASSERT_EQ((*v)["a"].items().size(), 3u);
  EXPECT_EQ(*(*v)["a"].items()[1].as_text(), "-2.5e3");
  EXPECT_DOUBLE_EQ(*(*v)["a"].items()[1].as_number(), -2500.0);
  EXPECT_EQ(*(*v)["s"].as_text(), "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ((*v)["t"].as_bool(), true);
  EXPECT_EQ((*v)["f"].as_bool(), false);
  EXPECT_TRUE((*v)["n"].is_null());
  EXPECT_TRUE((*v)["missing"].is_null());
  EXPECT_TRUE((*v)["a"]["not an object"].is_null());
  EXPECT_EQ((*v)["o"]["x"].kind(), JsonValue::Kind::kObject);
  EXPECT_EQ((*v)["e"].kind(), JsonValue::Kind::kArray);
  EXPECT_EQ(v->members().front().first, "a") << "document order";
  EXPECT_EQ(*parse_json(R"("\ud800")")->as_text(), "\xef\xbf\xbd") << "a lone surrogate is U+FFFD";
}

TEST(ConsoleCliJson, RefusesMalformedDocumentsWithAnError) {
  for (const char* bad : {"", " ", "{", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "-", "1.", "1e",
                          ".5", "+1", "tru", "nul", "\"abc", "\"a\nb\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"",
                          "[] []", "{\"a\":1,}", "'a'", "\"\\", "[\"\\u"}) {
    auto v = parse_json(bad);
    EXPECT_FALSE(v.ok()) << "accepted: " << bad;
    if (!v.ok()) {
      EXPECT_NE(v.error().message().find("JSON: "), std::string::npos);
    }
  }
}

TEST(ConsoleCliJson, BoundsDepthAndSize) {
  const std::string ok_deep = std::string(kJsonMaxDepth, '[') + std::string(kJsonMaxDepth, ']');
  EXPECT_TRUE(parse_json(ok_deep).ok());
  const std::string too_deep = std::string(kJsonMaxDepth + 1, '[') + std::string(kJsonMaxDepth + 1, ']');
  auto deep = parse_json(too_deep);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message().find("nested deeper"), std::string::npos);
  EXPECT_FALSE(parse_json(std::string(1'000'000, '[')).ok()) << "no stack overflow";
  std::string big = "\"" + std::string(kJsonMaxSize, 'x') + "\"";
  auto huge = parse_json(big);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message().find("larger than"), std::string::npos);
}

// ---- console URLs ----

TEST(ConsoleCliUrl, AcceptsNumericHostsAndLocalhostAndRefusesTheRest) {
  auto v4 = parse_console_url("http://127.0.0.1:7070");
  ASSERT_TRUE(v4.ok()) << v4.error().message();
  EXPECT_EQ(v4->address.to_string(), "127.0.0.1");
  EXPECT_EQ(v4->port, 7070);
  EXPECT_EQ(v4->host, "127.0.0.1");
  auto v6 = parse_console_url("http://[::1]:8080/");
  ASSERT_TRUE(v6.ok()) << v6.error().message();
  EXPECT_EQ(v6->address.to_string(), "::1");
  EXPECT_EQ(v6->host, "[::1]");
  auto local = parse_console_url("http://localhost:1");
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE(local->address.is_loopback());
  EXPECT_EQ(local->host, "localhost");

  auto https = parse_console_url("https://127.0.0.1:7070");
  ASSERT_FALSE(https.ok());
  EXPECT_NE(https.error().message().find("https is not supported"), std::string::npos);
  for (const char* bad : {"127.0.0.1:7070", "http://127.0.0.1", "http://127.0.0.1:", "http://127.0.0.1:0",
                          "http://127.0.0.1:65536", "http://127.0.0.1:70x", "http://node.example:7070",
                          "http://[::1:7070", "http://[::1]7070", "http://127.0.0.1:7070/api/v1/status", "ftp://x:1"}) {
    EXPECT_FALSE(parse_console_url(bad).ok()) << bad;
  }
}

// ---- the commands against real nodes ----


struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `fn` (which blocks on the console) on its own thread while the nodes run on `io` here.
template <class Fn>
auto off_thread(asio::io_context& io, Fn fn) {
  std::atomic<bool> done{false};
  decltype(fn()) result{};
  std::thread client([&] {
    result = fn();
    done = true;
  });
  EXPECT_TRUE(hop::test::run_until(io, [&] { return done.load(); }, 10s));
  client.join();  // within kConsoleClientTimeout even if the loop above gave up
  return result;
}

CliRun run_cli(asio::io_context& io, const std::string& command, const std::vector<std::string>& args) {
  return off_thread(io, [&] {
    std::ostringstream out, err;
    CliRun r;
    r.code = run_console_command(command, args, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  });
}

struct Nodes : hop::test::LocalNodes {
  explicit Nodes(int count) {
    for (int i = 0; i < count; ++i) {
      auto c = small_node_config(240, i);  // 127.240-242: apart from other tests
      c.tunnels.exploratory.length = 1;
      add(c);
    }
    mesh();
  }
  Node& first() { return *nodes.front(); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(nodes.front()->console()->local_endpoint().port());
  }
  template <class Fn>
  auto off_thread(Fn fn) {
    return ::hop::router::off_thread(io, std::move(fn));
  }
  CliRun cli(const std::string& command, std::vector<std::string> args) { return run_cli(io, command, args); }
};

std::string short_hash(const Node& n) { return n.identity().hash().to_string().substr(0, 8); }

TEST(ConsoleCli, TablesShowTheNodeItsPeersTunnelsAndRouters) {
  Nodes n(3);
  Node& node = n.first();
  ASSERT_TRUE(hop::test::run_until(n.io, [&] {
    return node.netdb().size() == 3 && node.peers().profiles().size() >= 2 &&
           node.tunnels().established(tunnels::Direction::kInbound) > 0 &&
           node.tunnels().established(tunnels::Direction::kOutbound) > 0;
  }, 15s)) << "routers " << node.netdb().size() << ", profiles " << node.peers().profiles().size();

  const auto status = n.cli("status", {"--console", n.url()});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_NE(status.out.find("identity"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find(node.identity().hash().to_string()), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("links.count"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("netdb_routers"), std::string::npos) << status.out;

  const auto peers = n.cli("peers", {"--console=" + n.url()});
  ASSERT_EQ(peers.code, 0) << peers.err;
  EXPECT_EQ(peers.out.rfind("hash", 0), 0u) << peers.out;
  for (const char* column : {"score", "rtt", "bandwidth", "last-seen", "ban"}) {
    EXPECT_NE(peers.out.find(column), std::string::npos) << column << "\n" << peers.out;
  }
  for (std::size_t i = 1; i < n.nodes.size(); ++i) {
    EXPECT_NE(peers.out.find(short_hash(*n.nodes[i])), std::string::npos) << peers.out;
  }

  const auto tunnels = n.cli("tunnels", {"--console", n.url()});
  ASSERT_EQ(tunnels.code, 0) << tunnels.err;
  EXPECT_NE(tunnels.out.find("established"), std::string::npos) << tunnels.out;
  EXPECT_NE(tunnels.out.find(" in "), std::string::npos) << tunnels.out;
  EXPECT_NE(tunnels.out.find(" out "), std::string::npos) << tunnels.out;
  bool names_a_hop = false;
  for (std::size_t i = 1; i < n.nodes.size(); ++i) names_a_hop |= tunnels.out.find(short_hash(*n.nodes[i])) != std::string::npos;
  EXPECT_TRUE(names_a_hop) << "1-hop tunnels go through the other nodes\n" << tunnels.out;

  const auto netdb = n.cli("netdb", {"--console", n.url()});
  ASSERT_EQ(netdb.code, 0) << netdb.err;
  for (const auto& other : n.nodes) {
    EXPECT_NE(netdb.out.find(other->identity().hash().to_string()), std::string::npos) << netdb.out;
  }
  EXPECT_NE(netdb.out.find("ff"), std::string::npos) << netdb.out;
  EXPECT_NE(netdb.out.find("3 routers"), std::string::npos) << netdb.out;
}

TEST(ConsoleCli, JsonPrintsTheApiBodyAsServed) {
  Nodes n(2);
  Node& node = n.first();
  ASSERT_TRUE(hop::test::run_until(n.io, [&] { return node.netdb().size() == 2; }, 10s));
  auto url = parse_console_url(n.url());
  ASSERT_TRUE(url.ok());
  // The NetDB document does not change while nothing is published; a republish between the
  // two requests would, so allow a retry.
  bool same = false;
  for (int attempt = 0; attempt < 3 && !same; ++attempt) {
    const auto api = n.off_thread([&] { return console_get(*url, "/api/v1/netdb"); });
    ASSERT_EQ(api.failure, ConsoleFailure::kNone) << api.reason;
    ASSERT_EQ(api.status, 200);
    const auto cli = n.cli("netdb", {"--console", n.url(), "--json"});
    ASSERT_EQ(cli.code, 0) << cli.err;
    same = cli.out == api.body + "\n";
  }
  EXPECT_TRUE(same);
  const auto status = n.cli("status", {"--json", "--console", n.url()});
  ASSERT_EQ(status.code, 0) << status.err;
  auto doc = parse_json(status.out);
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  EXPECT_EQ((*doc)["identity"].as_text(), node.identity().hash().to_string());
}

TEST(ConsoleCli, ServicesShowsTheEdgesAndTheirDestinations) {
  hop::test::EchoBackend backend("echo");
  hop::test::EdgeNodes e(236, backend);  // 127.236-238: apart from other tests
  ASSERT_EQ(e.nodes.size(), 3u);
  const std::string url = "http://127.0.0.1:" + std::to_string(e.console_port());
  ASSERT_TRUE(e.wait_for_lease_sets());
  hop::test::EdgeConnection connection(e.client_port(), "hello");
  ASSERT_TRUE(hop::test::wait_for_echo(e, connection));
  const auto& client = *e.front().clients().front();

  const auto run = run_cli(e.io, "services", {"--console", url});
  ASSERT_EQ(run.code, 0) << run.err;
  const auto& out = run.out;
  EXPECT_EQ(out.rfind("services (1)\n", 0), 0u) << out;
  EXPECT_NE(out.find("client tunnels (1)\n"), std::string::npos) << out;
  EXPECT_NE(out.find("destinations (2)\n"), std::string::npos) << out;
  for (const char* column : {"name", "address", "target", "conns", "active", "failed", "listen", "remote", "pool",
                             "tunnels in/out", "leaseset", "sessions", "streams", "path-changes"}) {
    EXPECT_NE(out.find(column), std::string::npos) << column << "\n" << out;
  }
  EXPECT_NE(out.find(e.front().services().front()->destination().hash().address()), std::string::npos) << out;
  EXPECT_NE(out.find(backend.target()), std::string::npos) << out;
  EXPECT_NE(out.find("127.0.0.1:" + std::to_string(e.client_port())), std::string::npos) << out;
  EXPECT_NE(out.find(e.service_address), std::string::npos) << out;
  EXPECT_NE(out.find("client:echo"), std::string::npos) << out;
  EXPECT_NE(out.find("service:local"), std::string::npos) << out;
  EXPECT_NE(out.find(" leases"), std::string::npos) << out;

  // Tunnels name their pool.
  const auto tunnels = run_cli(e.io, "tunnels", {"--console", url});
  ASSERT_EQ(tunnels.code, 0) << tunnels.err;
  EXPECT_NE(tunnels.out.find("client:echo"), std::string::npos) << tunnels.out;
  EXPECT_NE(tunnels.out.find("exploratory"), std::string::npos) << tunnels.out;

  const auto json = run_cli(e.io, "services", {"--json", "--console", url});
  ASSERT_EQ(json.code, 0) << json.err;
  auto doc = parse_json(json.out);
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  EXPECT_EQ((*doc)["clients"].items().at(0)["address"].as_text(), client.destination().hash().address());
}

TEST(ConsoleCli, ServicesOnANodeWithoutEdgesSaysNone) {
  Nodes n(1);
  const auto run = n.cli("services", {"--console", n.url()});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "services (0)\n  none\nclient tunnels (0)\n  none\ndestinations (0)\n  none\n");
}

TEST(ConsoleCli, ANonOkAnswerShowsTheStatusAndBody) {
  Nodes n(1);
  auto url = parse_console_url(n.url());
  ASSERT_TRUE(url.ok());
  const auto reply = n.off_thread([&] { return console_get(*url, "/api/v1/nothing"); });
  ASSERT_EQ(reply.failure, ConsoleFailure::kNone) << reply.reason;
  EXPECT_EQ(reply.status, 404);
  EXPECT_NE(reply.body.find("\"error\""), std::string::npos) << reply.body;
}

std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();  // closed again when the acceptor goes
}

TEST(ConsoleCli, AnUnreachableConsoleIsAClearError) {
  const std::string url = "http://127.0.0.1:" + std::to_string(closed_port());
  std::ostringstream out, err;
  EXPECT_EQ(run_console_command("status", {"--console", url}, out, err), 1);
  EXPECT_EQ(err.str(), "hopline: cannot reach the console at " + url +
                           " (connection refused): is the node running with console.listen set?\n");
  EXPECT_TRUE(out.str().empty());
}

TEST(ConsoleCli, ASilentConsoleTimesOutAndAHugeAnswerIsRefused) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto url = parse_console_url("http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()));
  ASSERT_TRUE(url.ok());
  // The kernel completes the connect from the backlog; nobody ever answers.
  const auto silent = console_get(*url, "/api/v1/status", 200ms);
  EXPECT_EQ(silent.failure, ConsoleFailure::kBadAnswer);
  EXPECT_EQ(silent.reason, "no answer within 200 ms") << silent.reason;

  std::thread server([&] {
    asio::ip::tcp::socket peer(io);
    acceptor.accept(peer);  // the silent client's connection, already closed
    asio::ip::tcp::socket next(io);
    acceptor.accept(next);
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kConsoleClientResponseLimit + 1) +
                             "\r\nContent-Type: application/json\r\n\r\n";
    boost::system::error_code ec;
    asio::write(next, asio::buffer(head), ec);
  });
  const auto huge = console_get(*url, "/api/v1/netdb");
  server.join();
  EXPECT_EQ(huge.failure, ConsoleFailure::kBadAnswer);
  EXPECT_NE(huge.reason.find("larger than 16 MiB"), std::string::npos) << huge.reason;
}

TEST(ConsoleCli, UsageErrorsExitWithTwo) {
  std::ostringstream out, err;
  EXPECT_EQ(run_console_command("peers", {"--bogus"}, out, err), 2);
  EXPECT_NE(err.str().find("unexpected argument '--bogus'"), std::string::npos) << err.str();
  EXPECT_EQ(run_console_command("peers", {"--console"}, out, err), 2);
  err.str("");
  EXPECT_EQ(run_console_command("tunnels", {"--console", "https://127.0.0.1:7070"}, out, err), 2);
  EXPECT_NE(err.str().find("https is not supported"), std::string::npos) << err.str();
  EXPECT_TRUE(is_console_command("netdb"));
  EXPECT_TRUE(is_console_command("services"));
  EXPECT_FALSE(is_console_command("node"));
}

}  // namespace
}  // namespace hop::router
