// The proxy's live limits (SIGHUP): one worker on its own thread on loopback, in front of an echo
// backend, whose max_connections and client_rate change while a client stays connected.
#include "hop/proxy/live_limits.h"

#include <gtest/gtest.h>

#include "one_worker.h"

namespace hop::proxy {
namespace {

using namespace std::chrono_literals;
using hop::test::EchoBackend;
using hop::test::TestClient;

TEST(LiveLimits, ALowerMaxConnectionsRefusesNewClientsAndKeepsTheOpenOne) {
  EchoBackend backend("be-1");
  ProxyConfig config;
  config.max_connections = 4;
  OneWorker proxy(backend, config);
  TestClient open(proxy.port());
  ASSERT_TRUE(proxy.admitted(open));
  ASSERT_TRUE(open.echoes("before"));

  config.max_connections = 1;  // one is open: at the limit
  proxy.shared().apply_limits(config);
  EXPECT_EQ(proxy.shared().limits.max_connections(), 1u);
  TestClient refused(proxy.port());
  ASSERT_TRUE(refused.connected()) << "the kernel accepts; the worker closes it";
  EXPECT_TRUE(refused.closed_without_data());
  EXPECT_EQ(proxy.shared().counters.refused(Refusal::kMaxConnections), 1u);
  EXPECT_TRUE(open.echoes("still here")) << "the open connection was dropped by the lower limit";

  config.max_connections = 3;
  proxy.shared().apply_limits(config);
  TestClient again(proxy.port());
  EXPECT_TRUE(proxy.admitted(again)) << "raised: new clients are admitted again";
  EXPECT_TRUE(again.echoes("hello"));
  EXPECT_TRUE(open.echoes("and still"));
  EXPECT_EQ(proxy.shared().counters.current(), 2u);
}

TEST(LiveLimits, ClientRateTakesItsNewValueAtTheNextConnection) {
  EchoBackend backend("be-1");
  ProxyConfig config;  // client_rate 0: no limit
  OneWorker proxy(backend, config);
  TestClient first(proxy.port());
  ASSERT_TRUE(proxy.admitted(first));

  // One connection a second from 127.0.0.1, counted from now: within the next ten connections
  // at least one falls into a second that has had one already (they take far less than 1 s).
  config.client_rate = 1;
  proxy.shared().apply_limits(config);
  EXPECT_EQ(proxy.shared().rate.per_second(), 1u);
  int refused = 0;
  for (int i = 0; i < 10 && refused == 0; ++i) {
    TestClient c(proxy.port());
    if (!proxy.admitted(c)) ++refused;
  }
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(proxy.shared().counters.refused(Refusal::kClientRate), 1u);
  EXPECT_TRUE(first.echoes("open")) << "a lower rate closes no open connection";

  config.client_rate = 0;
  proxy.shared().apply_limits(config);
  for (int i = 0; i < 5; ++i) {
    TestClient c(proxy.port());
    EXPECT_TRUE(proxy.admitted(c)) << "no limit again, connection " << i;
  }
}

TEST(LiveLimits, ApplyTakesEveryLiveFieldAndNothingElse) {
  ProxyConfig start;
  LiveLimits limits(start);
  EXPECT_EQ(limits.max_connections(), start.max_connections);
  EXPECT_EQ(limits.idle_timeout(), start.idle_timeout);
  ProxyConfig next;
  next.max_connections = 7;
  next.connect_tries = 2;
  next.connect_timeout = 750ms;
  next.idle_timeout = 42s;
  next.header_timeout = 2s;
  next.drain_timeout = 1min;
  next.client_rate = 9;
  next.workers = 99;
  limits.apply(next);
  EXPECT_EQ(limits.max_connections(), 7u);
  EXPECT_EQ(limits.connect_tries(), 2u);
  EXPECT_EQ(limits.connect_timeout(), 750ms);
  EXPECT_EQ(limits.idle_timeout(), 42s);
  EXPECT_EQ(limits.header_timeout(), 2s);
  EXPECT_EQ(limits.drain_timeout(), 1min);

  ProxyConfig running;
  copy_live_limits(next, running);
  EXPECT_EQ(running.max_connections, 7u);
  EXPECT_EQ(running.client_rate, 9u);
  EXPECT_EQ(running.connect_timeout, 750ms);
  EXPECT_EQ(running.drain_timeout, 1min);
  EXPECT_EQ(running.workers, ProxyConfig{}.workers) << "workers needs a restart";
}

}  // namespace
}  // namespace hop::proxy
