// The layout of a local overlay of node processes (`hopline testnet up`): each node's address,
// port, role and node.conf, and the demo's places (which backend serves which country). Pure:
// computed from the options, no files or sockets; the in-process Testnet shares the demo parts.
// Thread affinity: none.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hop/core/result.h"

namespace hop::router {

// A demo backend and the client network routing.db places in its country.
struct DemoPlace {
  const char* name;
  const char* host;  // the loopback address its responder listens on
  const char* country;
  const char* continent;
  const char* region;
  const char* clients;
};
inline constexpr DemoPlace kDemoPlaces[] = {
    {"backend-de", "127.200.0.1", "DE", "EU", "eu", "127.101.0.0/16"},
    {"backend-us", "127.201.0.1", "US", "NA", "us", "127.102.0.0/16"},
};
inline constexpr const char* kDemoPopRegion = "eu";  // clients placed nowhere else land here

// One backend row of the POP's routing.db: a demo place and the target the proxy connects to.
struct DemoRoute {
  const DemoPlace* place;
  std::string target;
};
// Creates `path` afresh with one backend per route and one geo override per place.
core::Status write_demo_routing_db(const std::filesystem::path& path, const std::vector<DemoRoute>& routes);
// What to try against a POP listening on `pop_address` ("127.1.0.1:18080"): the curl lines.
std::string demo_howto(const std::string& pop_address);

inline constexpr std::uint16_t kDefaultTestnetBasePort = 17000;
inline constexpr std::uint16_t kDefaultPopPort = 18080;
inline constexpr int kFloodfills = 3;        // nodes 1-3 serve the floodfill DHT
inline constexpr int kMinProcessNodes = 4;   // a 3-hop tunnel needs 3 peers besides its owner
inline constexpr int kMaxProcessNodes = 250;

struct TestnetLayoutOptions {
  int nodes = 5;
  std::filesystem::path dir;  // absolute
  std::uint32_t network_id = 1;
  std::string log_level = "info";
  std::uint16_t base_port = kDefaultTestnetBasePort;
  std::uint16_t pop_port = kDefaultPopPort;
};

// Node I of a process testnet: links on 127.I.0.1:(base + I), its console on
// 127.0.0.1:(base + I), files in DIR/nodeI. Node 1 is the POP; nodes 2 and 3 each run one demo
// backend with a service in front of it; nodes 1-3 are floodfills.
struct TestnetNode {
  int index = 0;
  std::filesystem::path dir;
  std::string host;
  std::uint16_t port = 0;
  bool floodfill = false;
  bool pop = false;
  const DemoPlace* backend = nullptr;  // the demo backend and [service.NAME] this node runs

  std::string listen() const { return host + ":" + std::to_string(port); }
  std::string console_url() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::filesystem::path config_file() const { return dir / "node.conf"; }
  std::filesystem::path log_file() const { return dir / "node.log"; }
  std::filesystem::path seed_file() const { return dir / "seeds.txt"; }
  std::string role() const;  // "pop", "backend-de", "relay"
};

// An address:port the testnet binds and who binds it ("node2's console").
struct TestnetBinding {
  std::string host;
  std::uint16_t port;
  std::string what;
};

struct TestnetLayout {
  TestnetLayoutOptions options;
  std::vector<TestnetNode> nodes;

  std::string pop_address() const { return nodes.front().host + ":" + std::to_string(options.pop_port); }
  // Where a demo backend's responder listens: its place's address, on the base port.
  std::string backend_address(const DemoPlace& place) const;
  // The service's destination key file on its node: the node's default for [service.NAME],
  // created by `up` before the node starts so that its address is known.
  static std::filesystem::path service_keys(const TestnetNode& node) {
    return node.dir / (std::string("service-") + node.backend->name + ".dst");
  }
  std::vector<TestnetBinding> bindings() const;
  std::filesystem::path seed_file() const { return options.dir / "seeds.txt"; }
  std::filesystem::path pid_file() const { return options.dir / "testnet.pids"; }
};

// Checks the options (node count, ports in range and not overlapping) and lays the nodes out.
core::Result<TestnetLayout> plan_testnet(TestnetLayoutOptions options);
// node.conf for `node`: its addresses, role, seed file and the quick timings of a local testnet.
std::string node_config_text(const TestnetLayout& layout, const TestnetNode& node);

}  // namespace hop::router
