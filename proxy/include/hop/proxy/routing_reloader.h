// Keeps the proxy's routing state current: polls routing.db and the GeoIP file and, when either
// changed, loads, validates and compiles a new RoutingSnapshot and publishes it to the workers.
// A load that fails keeps the last good snapshot and says why (log + status()).
// Timers: the poll timer, every config.reload_poll.
// Thread affinity: the control io_context (its own thread); status() and current() may be read
// from any thread.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hop/core/result.h"
#include "hop/proxy/proxy_state.h"
#include "hop/proxy/routing_db.h"

namespace hop::proxy {

// What the last loads did, for the console and `hopline proxy`.
struct ReloadStatus {
  std::uint64_t version = 0;          // successful routing.db loads so far
  core::WallTime loaded_at{};         // of the snapshot in use
  std::size_t backends = 0;           // in the snapshot in use
  std::size_t overrides = 0;
  std::vector<SkippedRow> skipped;    // rows the last successful load left out
  std::string routing_db;             // the path watched
  std::string last_error;             // the last failed load ("" after a success)
  core::WallTime last_error_at{};
  std::string geoip;                  // description of the GeoIP database in use, or ""
  std::string geoip_error;            // why the last GeoIP (re)open failed, or ""
};

class RoutingReloader {
 public:
  using Publish = std::function<void(std::shared_ptr<const RoutingSnapshot>)>;
  RoutingReloader(boost::asio::io_context& io, ProxyShared& shared, SelectionPolicy policy, Publish publish);

  // First load of both files (start-up: an error names the file and what to do; nothing is
  // published), then polling. Call on the control thread.
  core::Status start(const std::filesystem::path& routing_db, const std::filesystem::path& geoip);
  // Re-reads both files now (SIGHUP), switching to `routing_db` when it differs; a failure keeps
  // the last good state. Control thread.
  void reload(const std::filesystem::path& routing_db);
  void stop();

  std::shared_ptr<const RoutingSnapshot> current() const { return current_.load(); }
  std::shared_ptr<const ReloadStatus> status() const { return status_.load(); }

 private:
  core::Status load_routing();
  core::Status load_geoip(bool force);
  void publish(std::shared_ptr<const RoutingTable> table, std::shared_ptr<const GeoIp> geoip);
  void arm();
  void poll();
  void set_status(const std::function<void(ReloadStatus&)>& change);

  boost::asio::io_context& io_;
  ProxyShared& shared_;
  SelectionPolicy policy_;
  Publish publish_;
  boost::asio::steady_timer timer_;
  std::filesystem::path routing_db_;
  std::filesystem::path geoip_path_;
  std::optional<RoutingDbWatcher> watcher_;
  std::optional<std::filesystem::file_time_type> geoip_mtime_;
  std::uint64_t version_ = 0;
  bool stopped_ = false;
  std::atomic<std::shared_ptr<const RoutingSnapshot>> current_;
  std::atomic<std::shared_ptr<const ReloadStatus>> status_;
};

// Loads, compiles and checks one routing.db + GeoIP pair without a running proxy: what
// `hopline proxy explain` uses. Errors name the file.
core::Result<std::shared_ptr<const RoutingSnapshot>> load_snapshot(const std::filesystem::path& routing_db,
                                                                   const std::filesystem::path& geoip,
                                                                   BackendSlots& slots, SelectionPolicy policy,
                                                                   std::vector<SkippedRow>* skipped);

}  // namespace hop::proxy
