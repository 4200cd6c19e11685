// Whole nodes in this test process on one io_context (real TCP on loopback), each on its own
// 127.x.0.1 so they sit in distinct /16s. Header-only; for tests that link hop_router.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <vector>

#include "hop/core/asio_runtime.h"
#include "hop/router/node.h"
#include "support/temp_dir.h"

namespace hop::test {

class LocalNodes {
 public:
  boost::asio::io_context io;
  core::AsioRuntime rt{io};
  TempDir dir;
  std::vector<std::unique_ptr<router::Node>> nodes;

  // Creates and starts a node; a failure is a test failure (and the node is not added).
  router::Node* add(router::NodeConfig config) {
    auto node = router::Node::create(rt, std::move(config), {});
    EXPECT_TRUE(node.ok()) << node.error().message();
    if (!node.ok()) return nullptr;
    auto st = (*node)->start();
    EXPECT_TRUE(st.ok()) << st.error().message();
    nodes.push_back(std::move(*node));
    return nodes.back().get();
  }
  // Every node seeded with every other.
  void mesh() {
    for (auto& n : nodes) {
      std::vector<transport::PeerContact> others;
      for (auto& o : nodes) {
        if (o != n) others.push_back(o->contact());
      }
      n->set_seeds(others);
    }
  }
  router::Node& front() { return *nodes.front(); }

  // A small test node: node i on 127.(first_octet + i).0.1, any port, warn logs, probes every
  // second; node 0 is a floodfill and serves the console on 127.0.0.1 (any port).
  router::NodeConfig small_node_config(int first_octet, int i) const {
    router::NodeConfig c;
    c.data_dir = dir.path() / ("node" + std::to_string(i));
    c.listen_host = "127." + std::to_string(first_octet + i) + ".0.1";
    c.listen_port = 0;
    c.log.level = "warn";
    c.floodfill = i == 0;
    c.prober.interval = std::chrono::seconds(1);
    c.console = {.enabled = i == 0, .host = "127.0.0.1", .port = 0, .token = ""};
    return c;
  }
};

}  // namespace hop::test
