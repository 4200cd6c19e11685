// The proxy's live limits (SIGHUP): one worker on its own thread on loopback, in front of an echo
// backend, whose max_connections and client_rate change while a client stays connected.
#include "hop/proxy/live_limits.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "hop/core/sqlite.h"
#include "hop/proxy/proxy_worker.h"
#include "hop/proxy/routing_db.h"
#include "hop/proxy/routing_reloader.h"
#include "support/echo_backend.h"
#include "support/temp_dir.h"

namespace hop::proxy {
namespace {

using namespace std::chrono_literals;
using hop::test::EchoBackend;
using hop::test::TestClient;

// One ProxyWorker on 127.0.0.1 (any port) routing every client to `backend`.
class OneWorker {
 public:
  OneWorker(const EchoBackend& backend, ProxyConfig config) : shared_(std::move(config)) {
    const auto db = dir_.path() / "routing.db";
    EXPECT_TRUE(init_routing_db(db).ok());
    core::sqlite::Database sql;
    EXPECT_EQ(sql.open(db, SQLITE_OPEN_READWRITE), SQLITE_OK);
    const std::string row = "INSERT INTO backends(id,country,continent,target,soft_limit,hard_limit) "
                            "VALUES('be-1','DE','EU','" + backend.target() + "',100,1000)";
    EXPECT_EQ(sql.exec(row.c_str()), SQLITE_OK) << sql.error();
    auto snapshot = load_snapshot(db, {}, shared_.slots, {}, nullptr);
    EXPECT_TRUE(snapshot.ok()) << snapshot.error().message();
    worker_ = std::make_unique<ProxyWorker>(io_, shared_, 0);
    auto port = worker_->listen({.host = "127.0.0.1", .port = 0});
    EXPECT_TRUE(port.ok()) << port.error().message();
    port_ = port.ok() ? *port : 0;
    if (snapshot.ok()) worker_->install(*snapshot);
    worker_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~OneWorker() {
    boost::asio::post(io_, [this] { worker_->close_all(); });
    guard_.reset();
    thread_.join();
    worker_.reset();  // runs out the cancelled handlers on this thread
  }
  ProxyShared& shared() { return shared_; }
  std::uint16_t port() const { return port_; }
  // Connects a client; true when the backend greets it (it was admitted).
  bool admitted(TestClient& client) { return client.connected() && client.read_line() == "be-1"; }

 private:
  hop::test::TempDir dir_;
  ProxyShared shared_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{io_.get_executor()};
  std::unique_ptr<ProxyWorker> worker_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

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
