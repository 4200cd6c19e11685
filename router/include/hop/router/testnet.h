// Two local overlays on loopback. `hopline testnet up|down|status` runs one of node processes
// (run_testnet_command, testnet_cli.cc); `hopline testnet [run]` runs the Testnet below.
//
// The Testnet: N nodes in this process, node i on 127.i.0.1 (distinct /16s),
// each seeded with all the others; nodes 1-3 are floodfills. With `pop`, node 1 is also a POP:
// its geo-proxy listens on 127.1.0.1:pop_port in front of two demo backends, backend-de
// (127.200.0.1) and backend-us (127.201.0.1), and routing.db places clients from 127.101.0.0/16
// in Germany and from 127.102.0.0/16 in the US. `hopline testnet` runs it and reports.
// Thread affinity: the io_context of the AsioRuntime it is given.
#pragma once

#include <filesystem>
#include <memory>
#include <ostream>
#include <string_view>
#include <vector>

#include "hop/router/demo_backend.h"
#include "hop/router/node.h"

namespace hop::router {

// Whether `word` is a subcommand of the process testnet: up, down or status.
bool is_testnet_command(std::string_view word);
// Runs `hopline testnet ARGS` (ARGS[0] is up, down or status): results on `out`, errors on
// `err`. Returns the exit code: 0 done, 1 failed (a node not ready: the others keep running),
// 2 usage, 3 `up` on a testnet that is already running (nothing started). Blocks while `up`
// waits for the nodes (its --timeout) and while `down` waits for them to stop (10 s).
int run_testnet_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

struct TestnetOptions {
  int nodes = 5;
  std::filesystem::path dir;  // each node's data lives in dir/nodeI
  std::uint32_t network_id = 1;
  std::string log_level = "info";
  bool pop = false;               // node 1 runs the geo-proxy with the two demo backends
  std::uint16_t pop_port = 0;     // its listener port (0: any free port)
};

class Testnet {
 public:
  static core::Result<std::unique_ptr<Testnet>> create(core::AsioRuntime& runtime, TestnetOptions options);
  // Starts every node, writes DIR/seeds.txt and hands each node the others as seeds.
  core::Status start();
  void stop();

  // Links up across the overlay, counted from each side (a full mesh has n*(n-1)).
  std::size_t links_up() const;
  std::size_t full_mesh_links() const { return nodes_.size() * (nodes_.size() - 1); }
  // RouterInfos known across the overlay, counted per node (all known everywhere: n*n).
  std::size_t netdb_known() const;
  // A table of every node and its links with RTT, and the POP's backends, for people.
  std::string report() const;
  // With `pop`: the proxy's listener ("127.1.0.1:18080") and commands that show where a client lands.
  std::string pop_address() const;
  std::string pop_howto() const;
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }

 private:
  Testnet(TestnetOptions options) : options_(std::move(options)) {}
  core::Status prepare_pop(core::AsioRuntime& runtime, NodeConfig& config);
  TestnetOptions options_;
  std::vector<std::unique_ptr<DemoBackend>> backends_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace hop::router
