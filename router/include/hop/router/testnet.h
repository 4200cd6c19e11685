// A local overlay on loopback: N nodes in this process, node i on 127.i.0.1 (distinct /16s),
// each seeded with all the others; nodes 1-3 are floodfills. `hopline testnet` runs it and reports the links it forms.
// Thread affinity: the io_context of the AsioRuntime it is given.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "hop/router/node.h"

namespace hop::router {

struct TestnetOptions {
  int nodes = 5;
  std::filesystem::path dir;  // each node's data lives in dir/nodeI
  std::uint32_t network_id = 1;
  std::string log_level = "info";
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
  // A table of every node and its links with RTT, for people.
  std::string report() const;
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }

 private:
  Testnet(TestnetOptions options) : options_(std::move(options)) {}
  TestnetOptions options_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

}  // namespace hop::router
