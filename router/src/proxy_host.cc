#include "hop/router/proxy_host.h"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <csignal>
#include <future>
#include <thread>

#include "hop/proxy/proxy_worker.h"

namespace hop::router {

namespace asio = boost::asio;

struct ProxyHost::Threads {
  using Guard = asio::executor_work_guard<asio::io_context::executor_type>;
  struct Worker {
    asio::io_context io{1};
    std::optional<Guard> guard;
    std::unique_ptr<proxy::ProxyWorker> worker;
    std::thread thread;
  };
  asio::io_context control_io{1};
  std::optional<Guard> control_guard;
  std::unique_ptr<proxy::RoutingReloader> reloader;
  std::thread control_thread;
  std::vector<std::unique_ptr<Worker>> workers;

  void publish(const std::shared_ptr<const proxy::RoutingSnapshot>& snapshot) {
    for (auto& w : workers) {
      asio::post(w->io, [worker = w->worker.get(), snapshot] { worker->install(snapshot); });
    }
  }
  void join() {
    if (control_guard) {
      asio::post(control_io, [this] { reloader->stop(); });
      control_guard.reset();
    }
    for (auto& w : workers) {
      if (!w->guard) continue;
      asio::post(w->io, [worker = w->worker.get()] { worker->close_all(); });
      w->guard.reset();
    }
    if (control_thread.joinable()) control_thread.join();
    for (auto& w : workers) {
      if (w->thread.joinable()) w->thread.join();
    }
  }
};

std::filesystem::path resolve_in(const std::filesystem::path& data_dir, const std::filesystem::path& path) {
  if (path.empty() || path.is_absolute()) return path;
  return data_dir / path;
}

ProxyHost::ProxyHost(proxy::ProxyConfig config)
    : shared_(std::make_unique<proxy::ProxyShared>(std::move(config))), threads_(std::make_unique<Threads>()) {}

ProxyHost::~ProxyHost() {
  threads_->join();
  threads_->workers.clear();  // each worker runs out its cancelled handlers on this thread
}

core::Result<std::unique_ptr<ProxyHost>> ProxyHost::start(proxy::ProxyConfig config,
                                                          const std::filesystem::path& data_dir) {
  std::unique_ptr<ProxyHost> host(new ProxyHost(std::move(config)));
  if (auto st = host->begin(data_dir); !st) return st.error().wrap("starting the geo-proxy");
  return host;
}

core::Status ProxyHost::begin(const std::filesystem::path& data_dir) {
  const auto& config = shared_->config;
  const unsigned count = config.workers != 0 ? config.workers : std::max(1u, std::thread::hardware_concurrency());
  // Workers splice(2) bulk transfers, and splice has no MSG_NOSIGNAL: a write into a reset socket
  // would raise SIGPIPE and end the node. Ignored, it is EPIPE and closes that one connection.
  std::signal(SIGPIPE, SIG_IGN);
  for (unsigned i = 0; i < count; ++i) {
    auto w = std::make_unique<Threads::Worker>();
    w->worker = std::make_unique<proxy::ProxyWorker>(w->io, *shared_, i);
    threads_->workers.push_back(std::move(w));
  }
  // Every worker binds the port the first one got (port 0 in tests).
  for (const auto& listener : config.listeners) {
    proxy::ListenerConfig bound = listener;
    for (auto& w : threads_->workers) {
      auto port = w->worker->listen(bound);
      if (!port) return port.error();
      bound.port = *port;
    }
    endpoints_.emplace_back(asio::ip::make_address(bound.host), bound.port);
  }
  proxy::SelectionPolicy policy{.pop_region = config.region, .breaker = config.breaker,
                                .overlay_streams = config.overlay_gateway_port != 0};
  threads_->reloader = std::make_unique<proxy::RoutingReloader>(
      threads_->control_io, *shared_, policy,
      [threads = threads_.get()](std::shared_ptr<const proxy::RoutingSnapshot> s) { threads->publish(s); });
  // The first load runs here, before any thread: workers start with a table installed.
  if (auto st = threads_->reloader->start(resolve_in(data_dir, config.routing_db), resolve_in(data_dir, config.geoip)); !st) {
    return st;
  }
  threads_->control_guard.emplace(threads_->control_io.get_executor());
  threads_->control_thread = std::thread([io = &threads_->control_io] { io->run(); });
  for (auto& w : threads_->workers) {
    w->guard.emplace(w->io.get_executor());
    asio::post(w->io, [worker = w->worker.get()] { worker->start(); });
    w->thread = std::thread([io = &w->io] { io->run(); });
  }
  for (const auto& e : endpoints_) spdlog::info("proxy: listening on {}:{} ({} workers)", e.address().to_string(), e.port(), count);
  return core::ok_status();
}

void ProxyHost::drain() {
  for (auto& w : threads_->workers) {
    asio::post(w->io, [worker = w->worker.get()] { worker->stop_accepting(); });
  }
  const auto deadline = core::SteadyClock::now() + shared_->limits.drain_timeout();
  while (shared_->counters.current() > 0 && core::SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (const auto left = shared_->counters.current(); left > 0) {
    spdlog::warn("proxy: drain timeout: closing {} connection(s) still open", left);
  }
  threads_->join();
}

void ProxyHost::reload(const std::filesystem::path& routing_db) {
  asio::post(threads_->control_io, [reloader = threads_->reloader.get(), routing_db] { reloader->reload(routing_db); });
}

std::shared_ptr<const proxy::RoutingSnapshot> ProxyHost::snapshot() const { return threads_->reloader->current(); }
std::shared_ptr<const proxy::ReloadStatus> ProxyHost::status() const { return threads_->reloader->status(); }
unsigned ProxyHost::workers() const { return static_cast<unsigned>(threads_->workers.size()); }
std::size_t ProxyHost::affinity_bindings() const { return shared_->affinity.live(core::SteadyClock::now()); }

}  // namespace hop::router
