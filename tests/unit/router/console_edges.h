// For the console tests: three meshed nodes on loopback with services and a client tunnel, and a
// TCP connection through the client tunnel on its own thread (the nodes run on the test thread).
// Node 1 runs service "echo" in front of an echo backend; node 0 (the console) runs service
// "local" in front of the same backend and client tunnel "echo" to node 1's service. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "hop/netdb/destination.h"
#include "hop/router/console.h"
#include "hop/router/node.h"
#include "support/echo_backend.h"
#include "support/local_nodes.h"
#include "support/loopback.h"

namespace hop::test {

// Writes a new destination key file at `file` (creating its directory); returns its address.
inline std::string new_destination_file(const std::filesystem::path& file) {
  auto keys = netdb::Destination::generate();
  std::filesystem::create_directories(file.parent_path());
  EXPECT_TRUE(keys.save(file).ok());
  return keys.address();
}

struct EdgeNodes : LocalNodes {
  // Nodes on 127.(first_octet + i).0.1 with 1-hop tunnels; node 0 serves the console. `tweak`
  // changes node i's config before it starts (`dir` is this object's temporary directory).
  using Tweak = std::function<void(int i, router::NodeConfig& config, const std::filesystem::path& dir)>;
  EdgeNodes(int first_octet, const EchoBackend& backend, const Tweak& tweak = {}) {
    std::vector<router::NodeConfig> configs;
    for (int i = 0; i < 3; ++i) {
      auto c = small_node_config(first_octet, i);
      c.tunnels.exploratory.length = 1;
      configs.push_back(std::move(c));
    }
    service_address = new_destination_file(configs[1].data_dir / "echo.dst");
    configs[1].services.push_back({.name = "echo", .keys = "echo.dst", .target_host = "127.0.0.1",
                                   .target_port = backend.port(), .pool = {}});
    configs[0].services.push_back({.name = "local", .keys = "local.dst", .target_host = "127.0.0.1",
                                   .target_port = backend.port(), .pool = {}});
    configs[0].clients.push_back({.name = "echo", .listen_host = "127.0.0.1", .listen_port = 0,
                                  .destination = service_address, .keys = {}, .pool = {}});
    for (int i = 0; i < 3; ++i) {
      if (tweak) tweak(i, configs[static_cast<std::size_t>(i)], dir.path());
      if (!add(std::move(configs[static_cast<std::size_t>(i)]))) return;
    }
    mesh();
  }
  std::uint16_t console_port() const { return nodes.front()->console()->local_endpoint().port(); }
  std::uint16_t client_port() const { return nodes.front()->clients().front()->port(); }
  // Every destination has published its LeaseSet, and node 0 holds node 1's service's.
  bool wait_for_lease_sets(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    if (nodes.size() != 3) return false;
    return run_until(io, [&] {
      for (auto& n : nodes) {
        for (const auto* d : n->destinations()) {
          if (!d->lease_set()) return false;
        }
      }
      // By name: a POP's overlay gateway adds a destination of node 0's own.
      const auto service = netdb::parse_address(service_address);
      return service.ok() && nodes[0]->netdb().find_lease_set(*service) != nullptr;
    }, limit);
  }

  std::string service_address;  // node 1's service "echo"
};

// A TCP client of a client tunnel on its own thread: reads the echo backend's greeting, has
// `payload` echoed, then holds the connection open until release() (or destruction).
class EdgeConnection {
 public:
  EdgeConnection(std::uint16_t port, std::string payload) : payload_(std::move(payload)) {
    thread_ = std::thread([this, port] { run(port); });
  }
  ~EdgeConnection() {
    release();
    thread_.join();
  }
  // The greeting and the echo are done (ok() says whether they worked).
  bool done() const { return done_.load(); }
  bool ok() const { return ok_; }
  const std::string& greeting() const { return greeting_; }
  // Closes the connection.
  void release() { released_ = true; }

 private:
  void run(std::uint16_t port) {
    TestClient client(port);
    if (client.connected()) {
      greeting_ = client.read_line().value_or("");
      ok_ = !greeting_.empty() && client.echoes(payload_);
    }
    done_ = true;
    while (!released_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  std::string payload_;
  std::string greeting_;
  bool ok_ = false;
  std::atomic<bool> done_{false};
  std::atomic<bool> released_{false};
  std::thread thread_;
};

// Runs `nodes` until `c` has its echo (the stream is up and carried bytes both ways).
inline bool wait_for_echo(LocalNodes& nodes, const EdgeConnection& c) {
  return run_until(nodes.io, [&] { return c.done(); }, std::chrono::seconds(20)) && c.ok();
}

}  // namespace hop::test
