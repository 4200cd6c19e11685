// End to end on loopback: 10 nodes in this process (real TCP between them, each on its own
// 127.x.0.1), a service in front of an echo backend on one node and a client tunnel to it on
// another; TCP clients' bytes go through 3-hop outbound and 3-hop inbound tunnels both ways and
// must come back byte-exact (BLAKE2b of everything sent against everything received).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "hop/core/crypto.h"
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
  std::size_t received_bytes = 0;
  std::thread thread;

  Transfer(std::uint16_t p, std::size_t n, std::uint64_t s) : port(p), size(n), seed(s) {
    thread = std::thread([this] { run(); });
  }
  ~Transfer() {
    if (thread.joinable()) thread.join();
  }
  void run() {
    hop::test::TestClient client(port);
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

  NodeConfig config(int i, core::Duration lifetime = 10min) {
    auto c = net.small_node_config(80, i);  // 127.80-89: apart from other tests
    c.floodfill = i < 3;
    c.console.enabled = false;
    c.bandwidth_kbps = 10'000'000;  // transit shaping far above what loopback moves
    c.tunnels.exploratory.lifetime = lifetime;
    c.link.handshake_timeout = 2s;
    c.prober.probe_timeout = 2s;
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

TEST_F(EndToEnd, OneStreamCarriesTenMegabytesEachWayByteExact) {
  start();
  std::vector<std::unique_ptr<Transfer>> transfers;
  transfers.push_back(std::make_unique<Transfer>(client_port(), 10 << 20, 1));
  ASSERT_TRUE(run(transfers, 120s)) << "received " << transfers[0]->received_bytes;
  EXPECT_TRUE(transfers[0]->ok) << transfers[0]->error;
  EXPECT_EQ(transfers[0]->greeting, "echo");
}

}  // namespace
}  // namespace hop::router
