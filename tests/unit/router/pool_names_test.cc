// The names the console gives a node's tunnel pools (console_services.h): a POP's overlay gateway
// destination has one too, on the tunnels page and in /api/v1/services.
#include <gtest/gtest.h>

#include "console_services.h"
#include "hop/proxy/routing_db.h"
#include "support/local_nodes.h"

namespace hop::router {
namespace {

TEST(PoolNames, APopsOverlayGatewayIsNamed) {
  hop::test::LocalNodes nodes;
  auto c = nodes.small_node_config(215, 0);  // 127.215: apart from other tests
  c.console.enabled = false;
  const auto db = nodes.dir.path() / "routing.db";
  ASSERT_TRUE(proxy::init_routing_db(db).ok());
  c.proxy.listeners = {{.host = "127.0.0.1", .port = 0}};
  c.proxy.workers = 1;
  c.proxy.routing_db = db;
  c.proxy.drain_timeout = std::chrono::seconds(1);
  Node* pop = nodes.add(c);
  ASSERT_TRUE(pop && pop->overlay_gateway());

  const auto names = pool_names(*pop);
  const auto gateway_pool = pop->overlay_gateway()->destination().pool();
  EXPECT_EQ(pool_name(names, gateway_pool), "proxy:gateway");
  EXPECT_EQ(pool_name(names, tunnels::kExploratoryPool), "exploratory");
  const auto destinations = read_destinations(*pop);
  ASSERT_EQ(destinations.size(), 1u);
  EXPECT_EQ(destinations[0].name, "proxy:gateway") << "the name /api/v1/services and the metrics use";
}

}  // namespace
}  // namespace hop::router
