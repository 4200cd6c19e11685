// End to end on loopback: 10 nodes in this process (real TCP between them, each on its own
// 127.x.0.1), a service in front of an echo backend on one node and a client tunnel to it on
// another; TCP clients' bytes go through 3-hop outbound and 3-hop inbound tunnels both ways and
// must come back byte-exact (BLAKE2b of everything sent against everything received).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "hop/core/crypto.h"
#include "hop/core/sqlite.h"
#include "hop/proxy/routing_db.h"
#include "hop/router/proxy_host.h"
#include "hop/router/node.h"
#include "support/echo_backend.h"
#include "support/local_nodes.h"
#include "support/loopback.h"

namespace hop::router {
namespace {

using namespace std::chrono_literals;

constexpr int kNodes = 10;
constexpr int kServiceNode = 9;
constexpr int kClientNode = 4;

// Sends `size` pseudo-random bytes through a TCP connection to an echo backend (after its
// greeting) from one thread and reads them back on another; both sides hash what they moved.
struct Transfer {
  std::uint16_t port;
  std::size_t size;
  std::uint64_t seed;
  std::atomic<bool> done{false};
  bool ok = false;
  std::string error;
  std::string greeting;
  core::crypto::Key32 sent{}, received{};
  std::atomic<std::size_t> received_bytes{0};  // read by the test's thread while it runs
  std::thread thread;

  Transfer(std::uint16_t p, std::size_t n, std::uint64_t s) : port(p), size(n), seed(s) {
    thread = std::thread([this] { run(); });
  }
  ~Transfer() {
    if (thread.joinable()) thread.join();
  }
  void run() {
    hop::test::TestClient client(port, nullptr, "127.0.0.1", /*timeout_seconds=*/60);
    if (!client.connected()) return finish("connect failed");
    auto line = client.read_line();
    if (!line) return finish("no greeting");
    greeting = *line;
    std::thread writer([&] {
      core::crypto::Blake2b h(32);
      std::mt19937_64 rng(seed);
      std::string chunk(64 * 1024, '\0');
      for (std::size_t off = 0; off < size; off += chunk.size()) {
        const std::size_t n = std::min(chunk.size(), size - off);
        for (std::size_t i = 0; i < n; i += 8) {
          const std::uint64_t v = rng();
          std::memcpy(chunk.data() + i, &v, std::min<std::size_t>(8, n - i));
        }
        h.update(core::ByteView(reinterpret_cast<const std::uint8_t*>(chunk.data()), n));
        if (!client.send(chunk.substr(0, n))) break;
      }
      h.finish(sent);
      client.shutdown_send();
    });
    core::crypto::Blake2b h(32);
    while (received_bytes < size) {
      auto got = client.read_exactly(std::min<std::size_t>(16 * 1024, size - received_bytes));
      if (!got) break;
      h.update(core::ByteView(reinterpret_cast<const std::uint8_t*>(got->data()), got->size()));
      received_bytes += got->size();
    }
    h.finish(received);
    writer.join();
    if (received_bytes != size) return finish("received " + std::to_string(received_bytes) + " of " + std::to_string(size));
    const bool eof = client.closed_without_data();
    ok = sent == received && eof;
    finish(ok ? "" : sent != received ? "hash mismatch" : "no EOF after the echo");
  }
  void finish(std::string why) {
    error = std::move(why);
    done = true;
  }
};

class EndToEnd : public ::testing::Test {
 protected:
  hop::test::LocalNodes net;
  hop::test::EchoBackend backend{"echo"};
  std::string service_address;
  bool ban_peers = true;  // false: unreachable peers are never banned (nor their tunnels dropped)

  NodeConfig config(int i, core::Duration lifetime = 10min) {
    auto c = net.small_node_config(80, i);  // 127.80-89: apart from other tests
    c.floodfill = i < 3;
    c.console.enabled = false;
    c.bandwidth_kbps = 10'000'000;  // transit shaping far above what loopback moves
    c.tunnels.exploratory.lifetime = lifetime;
    c.link.handshake_timeout = 2s;
    c.prober.probe_timeout = 2s;
    if (!ban_peers) c.bans.failures_before_ban = 0;
    if (i == kServiceNode) {
      service_address_for_client();  // its key file
      c.services.push_back({.name = "echo", .keys = "echo.dst", .target_host = "127.0.0.1",
                            .target_port = backend.port(), .pool = {}});
    }
    return c;
  }

  void start(core::Duration lifetime = 10min) {
    for (int i = 0; i < kNodes; ++i) {
      auto c = config(i, lifetime);
      if (i == kClientNode) c.clients.push_back({.name = "echo", .listen_host = "127.0.0.1", .listen_port = 0,
                                                 .destination = service_address_for_client(), .keys = {}, .pool = {}});
      ASSERT_NE(net.add(std::move(c)), nullptr);
    }
    net.mesh();
    // Every destination has published a LeaseSet: its inbound tunnels are up.
    ASSERT_TRUE(hop::test::run_until(net.io, [&] {
      for (auto& n : net.nodes) {
        for (const auto* d : n->destinations()) {
          if (!d->lease_set()) return false;
        }
      }
      return true;
    }, 60s)) << "destinations without tunnels";
  }
  // The service node is created last, so its address is made up front.
  std::string service_address_for_client() {
    if (service_address.empty()) {
      auto c = net.small_node_config(80, kServiceNode);
      auto keys = netdb::Destination::generate();
      std::filesystem::create_directories(c.data_dir);
      EXPECT_TRUE(keys.save(c.data_dir / "echo.dst").ok());
      service_address = keys.address();
    }
    return service_address;
  }
  Node& node(int i) { return *net.nodes[static_cast<std::size_t>(i)]; }
  std::uint16_t client_port() { return node(kClientNode).clients().front()->port(); }

  // Runs the overlay until every transfer is done (or `limit` passes).
  bool run(std::vector<std::unique_ptr<Transfer>>& transfers, std::chrono::milliseconds limit) {
    return hop::test::run_until(net.io, [&] {
      return std::all_of(transfers.begin(), transfers.end(), [](const auto& t) { return t->done.load(); });
    }, limit);
  }
};

TEST_F(EndToEnd, OneStreamCarriesAHundredMegabytesEachWayByteExactThroughThreeHopTunnels) {
  start();
  std::vector<std::unique_ptr<Transfer>> transfers;
  transfers.push_back(std::make_unique<Transfer>(client_port(), 100 << 20, 1));
  ASSERT_TRUE(run(transfers, 300s)) << "received " << transfers[0]->received_bytes;
  EXPECT_TRUE(transfers[0]->ok) << transfers[0]->error;
  EXPECT_EQ(transfers[0]->greeting, "echo");
  // Through the client's and the service's own 3-hop tunnels, not the exploratory pool's.
  for (const auto* d : {node(kClientNode).destinations().front(), node(kServiceNode).destinations().front()}) {
    std::uint64_t bytes = 0;
    for (const auto& t : (d == node(kClientNode).destinations().front() ? node(kClientNode) : node(kServiceNode)).tunnels().tunnels()) {
      if (t.pool != d->pool()) continue;
      EXPECT_EQ(t.hops.size(), 3u);
      bytes += t.bytes;
    }
    EXPECT_GT(bytes, 100u << 20) << "each side's tunnels carried the 100 MB of one direction";
  }
  const auto& service = *node(kServiceNode).services().front();
  EXPECT_EQ(service.counters().connections, 1u);
  EXPECT_EQ(service.counters().bytes_in, (100u << 20) + 5) << "what the service read from the backend: greeting and echo";
}

TEST_F(EndToEnd, AHundredConcurrentStreamsAreEachByteExact) {
  start();
  std::vector<std::unique_ptr<Transfer>> transfers;
  for (int i = 0; i < 100; ++i) transfers.push_back(std::make_unique<Transfer>(client_port(), 256 << 10, 100 + i));
  ASSERT_TRUE(run(transfers, 300s));
  for (const auto& t : transfers) EXPECT_TRUE(t->ok) << t->error;
  EXPECT_EQ(backend.total(), 100);
  EXPECT_GE(backend.max_at_once(), 2) << "the streams ran side by side";
  // All in one session: one pair of destinations multiplexes its streams.
  const auto sessions = node(kClientNode).destinations().front()->sessions();
  ASSERT_EQ(sessions.size(), 1u);
}

TEST_F(EndToEnd, AnUnknownDestinationClosesTheClientConnectionAndTheNodeRunsOn) {
  start();
  // A second client tunnel on node 4's config is not possible after start; use a fresh node.
  auto c = config(kNodes);
  c.clients.push_back({.name = "nowhere", .listen_host = "127.0.0.1", .listen_port = 0,
                       .destination = netdb::Destination::generate().address(), .keys = {}, .pool = {}});
  Node* extra = net.add(std::move(c));
  ASSERT_NE(extra, nullptr);
  net.mesh();
  ASSERT_TRUE(hop::test::run_until(net.io, [&] { return extra->destinations().front()->lease_set() != nullptr; }, 60s));
  std::atomic<bool> closed{false};
  std::atomic<bool> tried{false};
  std::thread t([&] {
    hop::test::TestClient client(extra->clients().front()->port(), nullptr, "127.0.0.1", 30);
    closed = client.connected() && (client.send("hello"), client.closed_without_data());
    tried = true;
  });
  hop::test::run_until(net.io, [&] { return extra->clients().front()->counters().failed > 0 && tried; }, 60s);
  t.join();
  EXPECT_TRUE(closed) << "the connection was closed without an answer";
  EXPECT_EQ(extra->clients().front()->counters().failed, 1u);
  // The overlay still carries the real service.
  std::vector<std::unique_ptr<Transfer>> transfers;
  transfers.push_back(std::make_unique<Transfer>(client_port(), 1 << 20, 3));
  ASSERT_TRUE(run(transfers, 60s));
  EXPECT_TRUE(transfers[0]->ok) << transfers[0]->error;
}

TEST_F(EndToEnd, AServiceWhoseTargetIsDownResetsTheStream) {
  start();
  std::uint16_t dead_port = 0;
  {
    hop::test::EchoBackend gone("gone");
    dead_port = gone.port();
  }
  auto c = config(kNodes);
  auto keys = netdb::Destination::generate();
  std::filesystem::create_directories(c.data_dir);
  ASSERT_TRUE(keys.save(c.data_dir / "down.dst").ok());
  c.services.push_back({.name = "down", .keys = "down.dst", .target_host = "127.0.0.1", .target_port = dead_port, .pool = {}});
  c.clients.push_back({.name = "down", .listen_host = "127.0.0.1", .listen_port = 0, .destination = keys.address(),
                       .keys = {}, .pool = {}});
  Node* extra = net.add(std::move(c));
  ASSERT_NE(extra, nullptr);
  net.mesh();
  ASSERT_TRUE(hop::test::run_until(net.io, [&] {
    for (const auto* d : extra->destinations()) {
      if (!d->lease_set()) return false;
    }
    return true;
  }, 60s));
  std::atomic<bool> closed{false};
  std::atomic<bool> tried{false};
  std::thread t([&] {
    hop::test::TestClient client(extra->clients().front()->port(), nullptr, "127.0.0.1", 30);
    // The reset may come before the send is done: only the close matters.
    closed = client.connected() && (client.send("hello"), client.closed_without_data());
    tried = true;
  });
  hop::test::run_until(net.io, [&] { return extra->services().front()->counters().failed > 0 && tried; }, 60s);
  t.join();
  EXPECT_TRUE(closed);
  // A retransmitted SYN that arrives after the reset stream is gone opens a second stream (the
  // mux keeps no table of recently closed ids), which fails the same way.
  EXPECT_GE(extra->services().front()->counters().failed, 1u);
}

TEST_F(EndToEnd, APopReachesABackendBehindADestinationAndFailsOverFromOneThatIsNotThere) {
  start();
  // A POP (a new node) whose routing.db lists two overlay backends: `ghost`, a destination no one
  // hosts, with the higher weight, and the echo service.
  auto c = config(kNodes);
  std::filesystem::create_directories(c.data_dir);
  const auto db_path = c.data_dir / "routing.db";
  ASSERT_TRUE(proxy::init_routing_db(db_path).ok());
  {
    core::sqlite::Database db;
    ASSERT_EQ(db.open(db_path, SQLITE_OPEN_READWRITE), SQLITE_OK);
    const std::string sql = "INSERT INTO backends(id,target,weight,soft_limit,hard_limit) VALUES('ghost','" +
                            netdb::Destination::generate().address() + "',10,50,100), ('echo','" + service_address +
                            "',1,50,100)";
    ASSERT_EQ(db.exec(sql.c_str()), SQLITE_OK) << db.error();
  }
  c.proxy.listeners = {{"127.0.0.1", 0, "", std::nullopt}};
  c.proxy.routing_db = db_path;
  c.proxy.connect_timeout = 2s;
  c.proxy.breaker.failures = 1;
  Node* pop = net.add(std::move(c));
  ASSERT_NE(pop, nullptr);
  net.mesh();
  ASSERT_NE(pop->overlay_gateway(), nullptr);
  ASSERT_TRUE(hop::test::run_until(net.io, [&] { return pop->overlay_gateway()->destination().lease_set() != nullptr; }, 60s));
  const std::uint16_t port = pop->proxy()->endpoints().front().port();
  // The first client waits for ghost's connect timeout, then lands on echo; later ones go
  // straight to echo (ghost's breaker is open), each through the overlay, byte-exact.
  std::vector<std::unique_ptr<Transfer>> transfers;
  for (int i = 0; i < 3; ++i) {
    transfers.push_back(std::make_unique<Transfer>(port, 1 << 20, 50 + i));
    ASSERT_TRUE(run(transfers, 60s));
    EXPECT_TRUE(transfers.back()->ok) << transfers.back()->error;
    EXPECT_EQ(transfers.back()->greeting, "echo");
  }
  EXPECT_EQ(pop->overlay_gateway()->counters().connections, 4u) << "one try of ghost, three of echo";
  EXPECT_EQ(node(kServiceNode).services().front()->counters().connections, 3u);
}

// The recovery must not wait for the dead node's ban: in a real overlay reachability tests come
// minutes apart. The sessions' timeouts have the tunnels tested at once; broken ones are replaced
// and the streams resend over the new ones.
TEST_F(EndToEnd, AMiddleHopKilledDuringATransferLosesNothing) {
  ban_peers = false;
  start();
  std::vector<std::unique_ptr<Transfer>> transfers;
  transfers.push_back(std::make_unique<Transfer>(client_port(), 40 << 20, 7));
  // Once bytes flow, kill a middle hop of a tunnel the session uses.
  const auto* client = node(kClientNode).destinations().front();
  const auto* service = node(kServiceNode).destinations().front();
  ASSERT_TRUE(hop::test::run_until(net.io, [&] {
    return transfers[0]->received_bytes > (4u << 20) && !client->sessions().empty() &&
           client->sessions().front().outbound_tunnel != 0 && !service->sessions().empty() &&
           service->sessions().front().outbound_tunnel != 0;
  }, 60s));
  // The hops of the tunnel `d`'s session sends through, middle hop first.
  auto hops_in_use = [&](int side, const tunnels::LocalDestination& d) {
    std::vector<core::RouterHash> out;
    for (const auto& t : node(side).tunnels().tunnels()) {
      if (t.id != d.sessions().front().outbound_tunnel) continue;
      for (std::size_t i : {1, 0, 2}) out.push_back(t.hops.at(i).router);
    }
    return out;
  };
  auto index_of = [&](const core::RouterHash& h) {
    for (int i = 0; i < static_cast<int>(net.nodes.size()); ++i) {
      if (net.nodes[i] && net.nodes[i]->identity().hash() == h) return i;
    }
    return -1;
  };
  // The client's middle hop, else the service's (one may be the other end); only if both are
  // an end node, another hop of the client's tunnel.
  auto client_hops = hops_in_use(kClientNode, *client);
  auto service_hops = hops_in_use(kServiceNode, *service);
  ASSERT_EQ(client_hops.size(), 3u);
  ASSERT_EQ(service_hops.size(), 3u);
  int victim_index = -1;
  core::RouterHash victim{};
  for (const auto& h : {client_hops[0], service_hops[0], client_hops[1], client_hops[2]}) {
    const int i = index_of(h);
    if (i >= 0 && i != kClientNode && i != kServiceNode) {
      victim_index = i;
      victim = h;
      break;
    }
  }
  ASSERT_GE(victim_index, 0);
  const std::size_t before = transfers[0]->received_bytes;
  net.nodes[static_cast<std::size_t>(victim_index)].reset();
  auto report = [&] {
    std::string out = "received " + std::to_string(transfers[0]->received_bytes) + "\n";
    for (int side : {kClientNode, kServiceNode}) {
      for (const auto& v : node(side).destinations().front()->sessions()) {
        out += "node" + std::to_string(side) + " session path " + std::to_string(v.outbound_tunnel) + " changes " +
               std::to_string(v.path_changes) + " sent " + std::to_string(v.messages_sent) + " recv " +
               std::to_string(v.messages_received) + "\n";
      }
      for (const auto& t : node(side).tunnels().tunnels()) {
        if (t.pool != node(side).destinations().front()->pool()) continue;
        bool dead = false;
        for (const auto& h : t.hops) dead |= h.router == victim;
        out += "  tunnel " + std::to_string(t.id) + (t.direction == tunnels::Direction::kOutbound ? " out" : " in") +
               " state " + std::string(tunnels::to_string(t.state)) + (dead ? " THROUGH-VICTIM" : "") +
               " fails " + std::to_string(t.test_failures) + "\n";
      }
    }
    return out;
  };
  // The transfer resumes (bytes arrive again) and completes.
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(hop::test::run_until(net.io, [&] { return transfers[0]->received_bytes > before + (1u << 20); }, 60s))
      << report();
  std::printf("[ resumed  ] 1 MB more had arrived %.1f s after the kill\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count());
  ASSERT_TRUE(run(transfers, 120s)) << report();
  EXPECT_TRUE(transfers[0]->ok) << transfers[0]->error;
  EXPECT_GT(transfers[0]->received_bytes, before);
}

}  // namespace
}  // namespace hop::router
