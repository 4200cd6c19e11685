// The geo-proxy of a POP, as threads: one worker thread per core (each its own io_context, with
// SO_REUSEPORT acceptors on every listener) and a control thread that watches routing.db and the
// GeoIP file and hands new routing snapshots to the workers. Node creates it when proxy.listen
// is set; `hopline proxy explain` uses the same loading code without it.
// Thread affinity: create, drain and destroy from one thread (the node's); the read accessors
// may be called from any thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <filesystem>
#include <memory>
#include <vector>

#include "hop/core/result.h"
#include "hop/proxy/proxy_config.h"
#include "hop/proxy/proxy_state.h"
#include "hop/proxy/routing_reloader.h"

namespace hop::router {

class ProxyHost {
 public:
  // Loads routing.db and the GeoIP database (an error names the file and what to do), binds
  // every listener and starts the threads. Relative paths are taken from `data_dir`.
  static core::Result<std::unique_ptr<ProxyHost>> start(proxy::ProxyConfig config,
                                                        const std::filesystem::path& data_dir);
  // Closes every connection at once and joins the threads (drain() first for a graceful stop).
  ~ProxyHost();

  // Stops accepting and waits until the open connections end, at most proxy.drain_timeout;
  // the rest are then closed. Blocks the calling thread.
  void drain();
  // Re-reads routing.db (from `path`, which may differ from before) and the GeoIP database.
  void reload(const std::filesystem::path& routing_db);
  // SIGHUP: the workers use the live limits of `next` (proxy::LiveLimits, client_rate) from
  // their next accept, connect or sweep on; open connections are kept. Any thread.
  void apply_limits(const proxy::ProxyConfig& next) { shared_->apply_limits(next); }

  const proxy::ProxyShared& shared() const { return *shared_; }
  std::shared_ptr<const proxy::RoutingSnapshot> snapshot() const;
  std::shared_ptr<const proxy::ReloadStatus> status() const;
  // The bound listener addresses, in config order (port 0 resolved).
  const std::vector<boost::asio::ip::tcp::endpoint>& endpoints() const { return endpoints_; }
  unsigned workers() const;
  // Live client affinity bindings (a scan of the table; for the console).
  std::size_t affinity_bindings() const;

 private:
  struct Threads;
  explicit ProxyHost(proxy::ProxyConfig config);
  core::Status begin(const std::filesystem::path& data_dir);

  std::unique_ptr<proxy::ProxyShared> shared_;
  std::unique_ptr<Threads> threads_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
};

// Where a configured path lives: absolute as given, relative inside `data_dir`.
std::filesystem::path resolve_in(const std::filesystem::path& data_dir, const std::filesystem::path& path);

}  // namespace hop::router
