// The console's HTML pages: the history ring and its SVG charts, the HTML escaper, and every page
// served by real nodes on loopback (text/html, the CSP, the node's hash, live tunnels with hops),
// /proxy on a node whose geo-proxy fronts an echo backend, and /services (with LeaseSets on /netdb)
// on nodes with services and a client tunnel. With Debian's chromium installed, a headless
// browser loads /tunnels, /proxy and /services and leaves screenshots.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "console_edges.h"
#include "console_history.h"
#include "console_pages.h"
#include "hop/core/sqlite.h"
#include "hop/proxy/routing_db.h"
#include "hop/router/config.h"
#include "hop/router/console.h"
#include "hop/router/node.h"
#include "hop/router/proxy_host.h"
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

std::size_t count_of(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// ---- history and charts ----

ConsoleSample at(int second, std::uint64_t in, std::uint64_t out) {
  ConsoleSample s;
  s.time = core::TimePoint{} + std::chrono::seconds(second);
  s.bytes_in = in;
  s.bytes_out = out;
  return s;
}

TEST(ConsolePagesHistory, RingKeepsTheNewestSamplesOldestFirst) {
  ConsoleHistory h(3);
  EXPECT_TRUE(h.samples().empty());
  for (int i = 0; i < 5; ++i) h.add(at(i * 10, static_cast<std::uint64_t>(i), 0));
  ASSERT_EQ(h.size(), 3u);
  const auto s = h.samples();
  EXPECT_EQ(s[0].bytes_in, 2u);
  EXPECT_EQ(s[2].bytes_in, 4u);
  EXPECT_EQ(ConsoleHistory().capacity(), kConsoleHistorySamples);
  EXPECT_EQ(kConsoleHistorySamples * kConsoleHistoryPeriod, std::chrono::hours(1));
}

TEST(ConsolePagesHistory, RatesComeFromConsecutiveCounters) {
  const std::vector<ConsoleSample> s{at(0, 0, 100), at(10, 1000, 100), at(20, 3000, 600)};
  EXPECT_EQ(rate_in(s), (std::vector<double>{100.0, 200.0}));
  EXPECT_EQ(rate_out(s), (std::vector<double>{0.0, 50.0}));
  EXPECT_EQ(mean_rate_in(s), 150.0);
  EXPECT_FALSE(mean_rate_out({at(0, 0, 0)}).has_value());
  EXPECT_TRUE(rate_in({at(0, 0, 0)}).empty());
}

TEST(ConsolePagesSvg, EmptyOneAndManyPointSeriesRender) {
  const auto empty = svg_chart("links", {});
  EXPECT_EQ(empty.rfind("<svg", 0), 0u);
  EXPECT_NE(empty.find("no data"), std::string::npos);
  EXPECT_EQ(empty.find("<polyline"), std::string::npos);

  const auto one = svg_chart("links", {4.0});
  EXPECT_NE(one.find("<polyline"), std::string::npos);
  EXPECT_NE(one.find(">4<"), std::string::npos) << one;

  std::vector<double> many;
  for (int i = 0; i < 360; ++i) many.push_back(i % 7);
  const auto chart = svg_chart("bandwidth <in>", many);
  EXPECT_NE(chart.find("width=\"320\" height=\"80\""), std::string::npos);
  EXPECT_NE(chart.find(">6<"), std::string::npos) << "max label";
  EXPECT_NE(chart.find(">0<"), std::string::npos) << "min label";
  EXPECT_NE(chart.find("bandwidth &lt;in&gt;"), std::string::npos);
  EXPECT_EQ(chart.find("<in>"), std::string::npos);
  EXPECT_EQ(chart.find("script"), std::string::npos);
  EXPECT_TRUE(chart.ends_with("</svg>"));
  // 360 points: 359 separators inside points="...".
  const auto points = chart.substr(chart.find("points=\""));
  EXPECT_EQ(count_of(points.substr(0, points.find("\"/>")), " "), 359u);
}

TEST(ConsolePagesSvg, LoadBarFillsActiveOfHardWithATickAtSoft) {
  const auto idle = svg_load_bar(0, 10, 20);
  EXPECT_EQ(idle.rfind("<svg", 0), 0u);
  EXPECT_TRUE(idle.ends_with("</svg>"));
  EXPECT_NE(idle.find("<title>0/10/20</title>"), std::string::npos) << idle;
  EXPECT_NE(idle.find("<rect width=\"0.0\""), std::string::npos) << idle;
  EXPECT_NE(idle.find("<rect x=\"49.0\""), std::string::npos) << "the soft tick halfway: " << idle;
  const auto busy = svg_load_bar(15, 10, 20);
  EXPECT_NE(busy.find("<rect width=\"75.0\" height=\"10\" fill=\"#e90\""), std::string::npos) << busy;
  const auto full = svg_load_bar(20, 10, 20);
  EXPECT_NE(full.find("<rect width=\"100.0\" height=\"10\" fill=\"#c33\""), std::string::npos) << full;
  EXPECT_NE(svg_load_bar(5, 0, 0).find("<svg"), std::string::npos) << "no limits: no division by zero";
  EXPECT_EQ(busy.find("script"), std::string::npos);
}

// ---- escaping ----

TEST(ConsolePagesEscape, EscapesEveryHtmlMetacharacter) {
  EXPECT_EQ(html_escape("plain"), "plain");
  EXPECT_EQ(html_escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
  EXPECT_EQ(html_escape(""), "");
}

TEST(ConsolePagesEscape, TablesEscapeHeadersAndCells) {
  const auto html = html_table({{"<b>reason</b>"}, {{"<script>alert(1)</script>"}, {"a\"b"}}});
  EXPECT_EQ(html.find("<script>"), std::string::npos) << html;
  EXPECT_EQ(html.find("<b>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td>a&quot;b</td>"), std::string::npos) << html;
  EXPECT_EQ(count_of(html, "<tr>"), 3u);
}

// ---- pages served by live nodes ----

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
};

Reply get(asio::io_context& io, std::uint16_t port, std::string_view path) {
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  EXPECT_FALSE(ec) << ec.message();
  if (ec) return {};
  const std::string request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nConnection: close\r\n\r\n";
  std::string raw;
  bool finished = false;
  asio::async_write(socket, asio::buffer(request), [](const boost::system::error_code&, std::size_t) {});
  asio::async_read(socket, asio::dynamic_buffer(raw), [&](const boost::system::error_code&, std::size_t) {
    finished = true;
  });
  if (!hop::test::run_until(io, [&] { return finished; }, 10s)) {
    socket.close();
    hop::test::run_until(io, [&] { return finished; }, 1s);
    ADD_FAILURE() << "no complete answer within 10 s";
  }
  Reply r;
  const auto end = raw.find("\r\n\r\n");
  r.head = raw.substr(0, end);
  if (end != std::string::npos) r.body = raw.substr(end + 4);
  if (raw.rfind("HTTP/1.1 ", 0) == 0) r.status = std::atoi(raw.c_str() + 9);
  return r;
}


// Three meshed nodes with 1-hop exploratory tunnels; node 0 serves the console.
struct Overlay : hop::test::LocalNodes {
  Overlay() {
    for (int i = 0; i < 3; ++i) {
      auto c = small_node_config(245, i);  // 127.245-247: apart from other tests
      c.tunnels.exploratory.length = 1;
      add(c);
    }
    mesh();
  }
  std::uint16_t port() const { return nodes.front()->console()->local_endpoint().port(); }
  bool wait_for_tunnels() {
    Node& node = front();
    return hop::test::run_until(io, [&] {
      return node.netdb().size() == 3 && node.peers().profiles().size() >= 2 && !node.tunnels().transit().empty() &&
             node.tunnels().established(tunnels::Direction::kInbound) > 0 &&
             node.tunnels().established(tunnels::Direction::kOutbound) > 0;
    }, 15s);
  }
};

// One node (127.248.0.1, console on 127.0.0.1) whose geo-proxy fronts `backend` as "de-1", with
// routing.db in its dir: a row with HTML in its id is left out and listed on the page.
struct ProxyNode : hop::test::LocalNodes {
  explicit ProxyNode(const hop::test::EchoBackend& backend) {
    db = dir.path() / "routing.db";
    EXPECT_TRUE(proxy::init_routing_db(db).ok());
    EXPECT_EQ(sql.open(db, SQLITE_OPEN_READWRITE), SQLITE_OK);
    exec("INSERT INTO backends(id,country,continent,region,target,soft_limit,hard_limit) VALUES"
         "('de-1','DE','EU','eu-central','" + backend.target() + "',10,20),"
         "('<script>alert(1)</script>','DE','EU','','127.0.0.1:1',1,2)");
    auto c = small_node_config(248, 0);  // 127.248: apart from other tests
    c.proxy.listeners = {{.host = "127.0.0.1", .port = 0}};
    c.proxy.workers = 1;
    c.proxy.routing_db = db;
    c.proxy.reload_poll = std::chrono::milliseconds(50);
    node = add(c);
    EXPECT_TRUE(node && node->proxy());
  }
  void exec(const std::string& statement) { EXPECT_EQ(sql.exec(statement.c_str()), SQLITE_OK) << sql.error(); }
  std::uint16_t port() const { return node->console()->local_endpoint().port(); }
  std::uint16_t proxy_port() const { return node->proxy()->endpoints().at(0).port(); }

  std::filesystem::path db;
  core::sqlite::Database sql;
  Node* node = nullptr;
};

TEST(ConsolePages, EveryPageIsServedAsHtmlWithTheNodesHash) {
  Overlay o;
  ASSERT_TRUE(o.wait_for_tunnels());
  const auto hash = o.front().identity().hash().to_string();
  for (const std::string path : {"/", "/peers", "/netdb", "/tunnels", "/transit", "/services", "/proxy"}) {
    SCOPED_TRACE(path);
    const auto reply = get(o.io, o.port(), path);
    ASSERT_EQ(reply.status, 200) << reply.head;
    EXPECT_NE(reply.head.find("Content-Type: text/html; charset=utf-8"), std::string::npos) << reply.head;
    EXPECT_NE(reply.head.find("Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
              std::string::npos)
        << reply.head;
    EXPECT_EQ(reply.body.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(reply.body.find("<meta http-equiv=\"refresh\" content=\"10\">"), std::string::npos);
    EXPECT_NE(reply.body.find(hash), std::string::npos);
    EXPECT_EQ(reply.body.find("<script"), std::string::npos);
    EXPECT_EQ(reply.body.find("http://"), reply.body.find("http://www.w3.org/2000/svg")) << "no external resources";
    EXPECT_EQ(count_of(reply.body, "<style>"), 1u);
    for (const std::string link : {"/", "/peers", "/netdb", "/tunnels", "/transit", "/services", "/proxy"}) {
      EXPECT_NE(reply.body.find("<a href=\"" + link + "\""), std::string::npos) << "nav links " << link;
    }
  }
  EXPECT_EQ(get(o.io, o.port(), "/nope").status, 404);
}

TEST(ConsolePages, WithoutAProxyTheProxyPageSaysHowToTurnItOn) {
  Overlay o;
  const auto page = get(o.io, o.port(), "/proxy").body;
  EXPECT_NE(page.find("runs no geo-proxy"), std::string::npos) << page;
  EXPECT_NE(page.find("proxy.listen"), std::string::npos);
  EXPECT_NE(page.find("docs/proxy.md"), std::string::npos);
  EXPECT_EQ(page.find("<h2>Backends"), std::string::npos);
}

TEST(ConsolePages, ProxyPageShowsBackendsLoadAndEscapesRoutingDb) {
  hop::test::EchoBackend backend("de-1");
  ProxyNode p(backend);
  ASSERT_TRUE(p.node && p.node->proxy());
  hop::test::TestClient client(p.proxy_port());
  ASSERT_EQ(client.read_line(), "de-1");
  ASSERT_TRUE(client.echoes("hello"));
  const auto reply = get(p.io, p.port(), "/proxy");
  ASSERT_EQ(reply.status, 200);
  const auto& page = reply.body;
  EXPECT_NE(page.find("<td>de-1</td>"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>DE / EU / eu-central</td>"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>" + backend.target() + "</td>"), std::string::npos);
  EXPECT_NE(page.find("<td>1/10/20<svg"), std::string::npos) << "load with its bar, the client still connected";
  EXPECT_NE(page.find("<td>healthy, breaker closed</td>"), std::string::npos);
  EXPECT_NE(page.find("<td>127.0.0.1:" + std::to_string(p.proxy_port()) + "</td>"), std::string::npos) << "listener";
  EXPECT_NE(page.find("proxy client connections"), std::string::npos) << "the graph";
  // The invalid row's id is listed among the skipped rows, escaped.
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << page;
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("class=\"warn\""), std::string::npos) << "no failed load yet";
  p.exec("DROP TABLE geo_overrides");
  ASSERT_TRUE(hop::test::run_until(p.io, [&] { return !p.node->proxy()->status()->last_error.empty(); }, 5s));
  const auto broken = get(p.io, p.port(), "/proxy").body;
  const auto warn = broken.find("<div class=\"warn\">");
  ASSERT_NE(warn, std::string::npos) << broken;
  EXPECT_NE(broken.find("routing.db: the last load failed", warn), std::string::npos);
  EXPECT_NE(broken.find("<td>de-1</td>"), std::string::npos) << "the last good table is still shown";
}

TEST(ConsolePages, WithoutEdgesTheServicesPageSaysHowToAddOne) {
  Overlay o;
  const auto page = get(o.io, o.port(), "/services").body;
  EXPECT_NE(page.find("hosts no services or client tunnels"), std::string::npos) << page;
  EXPECT_NE(page.find("[service.NAME]"), std::string::npos);
  EXPECT_NE(page.find("docs/services.md"), std::string::npos);
  EXPECT_EQ(page.find("<h2>Destinations"), std::string::npos);
  const auto netdb = get(o.io, o.port(), "/netdb").body;
  EXPECT_NE(netdb.find("<h2>LeaseSets (0)</h2>"), std::string::npos) << netdb;
}

TEST(ConsolePages, ServicesPageShowsEdgesDestinationsAndSessions) {
  hop::test::EchoBackend backend("echo");
  hop::test::EdgeNodes e(251, backend);  // 127.251-253: apart from other tests
  ASSERT_EQ(e.nodes.size(), 3u);
  ASSERT_TRUE(e.wait_for_lease_sets());
  hop::test::EdgeConnection connection(e.client_port(), "hello");
  ASSERT_TRUE(hop::test::wait_for_echo(e, connection));
  const Node& node = e.front();
  const auto& client = *node.clients().front();
  const auto& local = *node.services().front();

  const auto reply = get(e.io, e.console_port(), "/services");
  ASSERT_EQ(reply.status, 200);
  const auto& page = reply.body;
  EXPECT_NE(page.find("<h2>Services (1)</h2>"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>local</td><td>" + local.destination().hash().address() + "</td><td>" + backend.target() +
                      "</td><td>0</td>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<h2>Client tunnels (1)</h2>"), std::string::npos);
  EXPECT_NE(page.find("<td>echo</td><td>127.0.0.1:" + std::to_string(e.client_port()) + "</td><td>" +
                      e.service_address + "</td><td>1</td><td>1</td><td>0</td>"),
            std::string::npos)
      << "one connection carried, still open, none failed: " << page;
  EXPECT_NE(page.find("<h2>Destinations (2)</h2>"), std::string::npos);
  EXPECT_NE(page.find("<td>client:echo</td><td>" + client.destination().hash().address() + "</td>"), std::string::npos);
  EXPECT_NE(page.find("<td>service:local</td>"), std::string::npos);
  EXPECT_NE(page.find(" leases, published "), std::string::npos);
  EXPECT_NE(page.find("<h2>Sessions of client:echo (1)</h2>"), std::string::npos);
  EXPECT_NE(page.find("<td>" + e.service_address + "</td><td>established</td><td>initiator</td><td>1</td>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<h2>Sessions of service:local (0)</h2><p>no sessions</p>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"/services\" class=\"on\">"), std::string::npos);

  // /netdb lists the LeaseSets: ours as local, with each lease's gateway and tunnel id.
  const auto netdb = get(e.io, e.console_port(), "/netdb").body;
  const auto* ls = client.destination().lease_set();
  ASSERT_NE(ls, nullptr);
  const auto& lease = ls->lease_set.leases.front();
  EXPECT_NE(netdb.find("<td>" + client.destination().hash().address() + "</td><td>yes</td>"), std::string::npos)
      << netdb;
  EXPECT_NE(netdb.find("<td>" + e.service_address + "</td><td>no</td>"), std::string::npos) << netdb;
  EXPECT_NE(netdb.find(lease.gateway.to_string().substr(0, 12) + "#" + std::to_string(lease.tunnel_id) + " ("),
            std::string::npos)
      << netdb;
  EXPECT_NE(netdb.find("LeaseSets refused, by reason"), std::string::npos);
  EXPECT_NE(netdb.find("<th>bad-signature</th>"), std::string::npos);

  // /tunnels names the destinations' pools.
  const auto tunnels = get(e.io, e.console_port(), "/tunnels").body;
  EXPECT_NE(tunnels.find("Pool " + std::to_string(client.destination().pool()) + " (client:echo)"), std::string::npos)
      << tunnels;
  EXPECT_NE(tunnels.find("Pool 0 (exploratory)"), std::string::npos);
}

TEST(ConsolePagesHistory, SamplesTheProxysClientConnections) {
  hop::test::EchoBackend backend("de-1");
  ProxyNode p(backend);
  ASSERT_TRUE(p.node && p.node->proxy());
  EXPECT_EQ(sample_node(*p.node, core::SteadyClock::now()).proxy_clients, 0u);
  hop::test::TestClient client(p.proxy_port());
  ASSERT_EQ(client.read_line(), "de-1");
  EXPECT_EQ(sample_node(*p.node, core::SteadyClock::now()).proxy_clients, 1u);
  hop::test::LocalNodes plain;
  Node* without = plain.add(plain.small_node_config(250, 0));
  ASSERT_NE(without, nullptr);
  EXPECT_EQ(sample_node(*without, core::SteadyClock::now()).proxy_clients, 0u) << "no proxy: 0";
}

TEST(ConsolePages, TunnelsPageShowsLiveTunnelsWithTheirHops) {
  Overlay o;
  ASSERT_TRUE(o.wait_for_tunnels());
  const auto views = o.front().tunnels().tunnels();
  const auto up = std::find_if(views.begin(), views.end(), [](const auto& t) {
    return t.state == tunnels::TunnelState::kEstablished && !t.hops.empty();
  });
  ASSERT_NE(up, views.end());
  const auto page = get(o.io, o.port(), "/tunnels").body;
  const auto hop = up->hops.front().router.to_string().substr(0, 12) + " @" + up->hops.front().address;
  EXPECT_NE(page.find("<td>" + std::to_string(up->id) + "</td>"), std::string::npos) << page;
  EXPECT_NE(page.find(hop), std::string::npos) << page;
  EXPECT_NE(page.find("<td>established</td>"), std::string::npos) << page;
  EXPECT_NE(page.find("Pool 0 (exploratory)"), std::string::npos);
  EXPECT_NE(page.find("<svg"), std::string::npos);

  const auto peers = get(o.io, o.port(), "/peers").body;
  EXPECT_NE(peers.find(o.nodes[1]->identity().hash().to_string()), std::string::npos);
  const auto overview = get(o.io, o.port(), "/").body;
  EXPECT_NE(overview.find("bandwidth in (B/s)"), std::string::npos);
  EXPECT_NE(overview.find("<td>tcp</td>"), std::string::npos);
}

// What headless chromium made of one page: its exit code, its log, the DOM, and the screenshot.
struct BrowserRun {
  int rc = -1;
  std::string log;
  std::string dom;
  std::filesystem::path shot;
};

// Debian's chromium (./run test installs it) loads `url` twice: a screenshot into the build
// directory as `shot_name`, then the DOM. The node runs on `io` (this thread) meanwhile.
BrowserRun run_chromium(asio::io_context& io, const std::filesystem::path& tmp, const std::string& url,
                        const std::string& shot_name) {
  // The binary is BUILD_DIR/tests/unit/router_test.
  const auto build = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path();
  BrowserRun run;
  run.shot = build / shot_name;
  std::filesystem::remove(run.shot);
  const auto home = tmp / "chromium-home";
  std::filesystem::create_directories(home);
  const auto dom = tmp / "dom.html", log = tmp / "chromium.log";
  const std::string flags = "HOME=" + home.string() + " timeout 45 /usr/bin/chromium --headless=new --no-sandbox --disable-gpu "
                            "--no-first-run --enable-logging=stderr --v=0 --window-size=1200,900 ";
  const std::string command = flags + "--screenshot=" + run.shot.string() + " " + url + " 2>" + log.string() + " && " +
                              flags + "--dump-dom " + url + " >" + dom.string() + " 2>>" + log.string();
  std::atomic<bool> done = false;
  std::thread browser([&] {
    run.rc = std::system(command.c_str());
    done = true;
  });
  // `timeout 45` bounds each chromium run, so the thread always ends.
  const bool finished = hop::test::run_until(io, [&] { return done.load(); }, 100s);
  browser.join();
  EXPECT_TRUE(finished) << "chromium did not finish within 100 s";
  std::ifstream log_in(log), dom_in(dom);
  run.log.assign(std::istreambuf_iterator<char>(log_in), {});
  run.dom.assign(std::istreambuf_iterator<char>(dom_in), {});
  return run;
}

void expect_clean_load(const BrowserRun& run) {
  EXPECT_EQ(run.rc, 0) << run.log;
  EXPECT_EQ(run.log.find("Uncaught"), std::string::npos) << run.log;
  EXPECT_EQ(run.log.find("ERROR:CONSOLE"), std::string::npos) << run.log;
  EXPECT_EQ(run.log.find("Content Security Policy"), std::string::npos) << run.log;
  ASSERT_TRUE(std::filesystem::exists(run.shot));
  EXPECT_GT(std::filesystem::file_size(run.shot), 10u * 1024u);
}

// Headless chromium loads /tunnels of a live overlay: no console errors, the DOM shows tunnels
// and peers, and a screenshot lands in the build directory.
TEST(ConsolePagesBrowser, HeadlessChromiumLoadsTheTunnelsPage) {
  if (!std::filesystem::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium not installed (apt-get install chromium)";
  Overlay o;
  ASSERT_TRUE(o.wait_for_tunnels());
  const auto run = run_chromium(o.io, o.dir.path(), "http://127.0.0.1:" + std::to_string(o.port()) + "/tunnels",
                                "console-tunnels.png");
  expect_clean_load(run);
  EXPECT_NE(run.dom.find("Pool 0 (exploratory)"), std::string::npos) << run.dom;
  EXPECT_NE(run.dom.find("<td>established</td>"), std::string::npos) << run.dom;
  const auto hop_of = [&](int i) { return run.dom.find(o.nodes[i]->identity().hash().to_string().substr(0, 12)); };
  EXPECT_TRUE(hop_of(1) != std::string::npos || hop_of(2) != std::string::npos) << "a peer as a hop";
}

// The same for /proxy on a node with a geo-proxy and a client connected: the backend row with its
// load bar renders under the page's CSP.
TEST(ConsolePagesBrowser, HeadlessChromiumLoadsTheProxyPage) {
  if (!std::filesystem::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium not installed (apt-get install chromium)";
  hop::test::EchoBackend backend("de-1");
  ProxyNode p(backend);
  ASSERT_TRUE(p.node && p.node->proxy());
  hop::test::TestClient client(p.proxy_port());
  ASSERT_EQ(client.read_line(), "de-1");
  const auto run = run_chromium(p.io, p.dir.path(), "http://127.0.0.1:" + std::to_string(p.port()) + "/proxy",
                                "console-proxy.png");
  expect_clean_load(run);
  EXPECT_NE(run.dom.find("<td>de-1</td>"), std::string::npos) << run.dom;
  EXPECT_NE(run.dom.find("class=\"bar\""), std::string::npos) << run.dom;
  EXPECT_NE(run.dom.find("&lt;script&gt;"), std::string::npos) << "the skipped row's id, as text";
}

// The same for /services with a connection through the client tunnel held open.
TEST(ConsolePagesBrowser, HeadlessChromiumLoadsTheServicesPage) {
  if (!std::filesystem::exists("/usr/bin/chromium")) GTEST_SKIP() << "chromium not installed (apt-get install chromium)";
  hop::test::EchoBackend backend("echo");
  hop::test::EdgeNodes e(251, backend);
  ASSERT_EQ(e.nodes.size(), 3u);
  ASSERT_TRUE(e.wait_for_lease_sets());
  hop::test::EdgeConnection connection(e.client_port(), "hello");
  ASSERT_TRUE(hop::test::wait_for_echo(e, connection));
  const auto run = run_chromium(e.io, e.dir.path(), "http://127.0.0.1:" + std::to_string(e.console_port()) + "/services",
                                "console-services.png");
  expect_clean_load(run);
  EXPECT_NE(run.dom.find("Sessions of client:echo (1)"), std::string::npos) << run.dom;
  EXPECT_NE(run.dom.find("<td>established</td>"), std::string::npos) << run.dom;
}

}  // namespace
}  // namespace hop::router
