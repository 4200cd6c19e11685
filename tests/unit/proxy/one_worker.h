// One ProxyWorker on 127.0.0.1 (any port) on its own thread, routing every client to one backend
// (`be-1`, DE/EU) at `target`. SIGPIPE is ignored, as the node does, so bulk transfers splice.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <csignal>
#include <future>
#include <thread>

#include "hop/core/sqlite.h"
#include "hop/proxy/proxy_worker.h"
#include "hop/proxy/routing_db.h"
#include "hop/proxy/routing_reloader.h"
#include "support/echo_backend.h"
#include "support/temp_dir.h"

namespace hop::proxy {

class OneWorker {
 public:
  OneWorker(const std::string& target, ProxyConfig config) : shared_(std::move(config)) {
    std::signal(SIGPIPE, SIG_IGN);
    const auto db = dir_.path() / "routing.db";
    EXPECT_TRUE(init_routing_db(db).ok());
    core::sqlite::Database sql;
    EXPECT_EQ(sql.open(db, SQLITE_OPEN_READWRITE), SQLITE_OK);
    const std::string row = "INSERT INTO backends(id,country,continent,target,soft_limit,hard_limit) "
                            "VALUES('be-1','DE','EU','" + target + "',100,1000)";
    EXPECT_EQ(sql.exec(row.c_str()), SQLITE_OK) << sql.error();
    auto snapshot = load_snapshot(db, {}, shared_.slots, {}, nullptr);
    EXPECT_TRUE(snapshot.ok()) << snapshot.error().message();
    worker_ = std::make_unique<ProxyWorker>(io_, shared_, 0);
    auto port = worker_->listen({.host = "127.0.0.1", .port = 0});
    EXPECT_TRUE(port.ok()) << port.error().message();
    port_ = port.ok() ? *port : 0;
    if (snapshot.ok()) {
      snapshot_ = *snapshot;
      worker_->install(snapshot_);
    }
    worker_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  OneWorker(const hop::test::EchoBackend& backend, ProxyConfig config) : OneWorker(backend.target(), std::move(config)) {}
  ~OneWorker() {
    boost::asio::post(io_, [this] { worker_->close_all(); });
    guard_.reset();
    thread_.join();
    worker_.reset();  // runs out the cancelled handlers on this thread
  }
  ProxyShared& shared() { return shared_; }
  std::uint16_t port() const { return port_; }
  // Connects a client; true when the backend greets it (it was admitted).
  bool admitted(hop::test::TestClient& client) { return client.connected() && client.read_line() == "be-1"; }
  // The counters of the one backend.
  const BackendState& backend() const { return shared_.slots[*snapshot_->table->slot_of(0)]; }
  // Asked on the worker's thread.
  std::size_t spare_pipes() {
    std::promise<std::size_t> answer;
    boost::asio::post(io_, [&] { answer.set_value(worker_->spare_pipes()); });
    return answer.get_future().get();
  }

 private:
  hop::test::TempDir dir_;
  ProxyShared shared_;
  std::shared_ptr<const RoutingSnapshot> snapshot_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{io_.get_executor()};
  std::unique_ptr<ProxyWorker> worker_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace hop::proxy
