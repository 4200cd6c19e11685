#include "hop/proxy/routing_reloader.h"

#include <spdlog/spdlog.h>

#include "hop/proxy/errors.h"

namespace hop::proxy {
namespace {

using boost::system::error_code;

// Backend ids in table order, for BackendSlots::assign.
std::vector<std::string> ids_of(const RoutingTable& table) {
  std::vector<std::string> ids;
  ids.reserve(table.backends.size());
  for (const auto& b : table.backends) ids.push_back(b.id);
  return ids;
}

std::shared_ptr<const CompiledTable> compile(std::shared_ptr<const RoutingTable> table, BackendSlots& slots,
                                             const SelectionPolicy& policy) {
  const auto assigned = slots.assign(ids_of(*table));
  for (std::size_t i = 0; i < assigned.size(); ++i) {
    if (!assigned[i]) spdlog::error("proxy: backend '{}' left out: every backend slot is in use", table->backends[i].id);
  }
  return std::make_shared<const CompiledTable>(std::move(table), assigned, policy);
}

void log_skipped(const std::filesystem::path& path, const std::vector<SkippedRow>& skipped) {
  for (const auto& row : skipped) {
    spdlog::warn("proxy: {}: {} row '{}' skipped: {}", path.string(), row.table, row.key, row.reason);
  }
}

std::optional<std::filesystem::file_time_type> mtime_of(const std::filesystem::path& path) {
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(path, ec);
  if (ec) return std::nullopt;
  return t;
}

}  // namespace

RoutingReloader::RoutingReloader(boost::asio::io_context& io, ProxyShared& shared, SelectionPolicy policy,
                                 Publish publish)
    : io_(io), shared_(shared), policy_(std::move(policy)), publish_(std::move(publish)), timer_(io),
      status_(std::make_shared<const ReloadStatus>()) {}

core::Status RoutingReloader::start(const std::filesystem::path& routing_db, const std::filesystem::path& geoip) {
  routing_db_ = routing_db;
  geoip_path_ = geoip;
  set_status([&](ReloadStatus& s) { s.routing_db = routing_db_.string(); });
  if (auto status = load_geoip(true); !status) return status;
  watcher_.emplace(routing_db_);
  (void)watcher_->changed();  // the first call is always true: this load covers it
  if (auto status = load_routing(); !status) return status;
  arm();
  return core::ok_status();
}

void RoutingReloader::reload(const std::filesystem::path& routing_db) {
  if (routing_db != routing_db_) {
    spdlog::info("proxy: routing.db is now {}", routing_db.string());
    routing_db_ = routing_db;
    watcher_.emplace(routing_db_);
    (void)watcher_->changed();
    set_status([&](ReloadStatus& s) { s.routing_db = routing_db_.string(); });
  }
  (void)load_geoip(true);
  (void)load_routing();
}

void RoutingReloader::stop() {
  stopped_ = true;
  timer_.cancel();
}

void RoutingReloader::arm() {
  if (stopped_) return;
  timer_.expires_after(shared_.config.reload_poll);
  timer_.async_wait([this](const error_code& ec) {
    if (!ec) poll();
  });
}

void RoutingReloader::poll() {
  (void)load_geoip(false);
  if (watcher_ && watcher_->changed()) (void)load_routing();
  arm();
}

core::Status RoutingReloader::load_routing() {
  auto loaded = load_routing_db(routing_db_);
  if (!loaded) {
    const std::string why = loaded.error().message();
    spdlog::error("proxy: {} (keeping the routing table loaded before, version {})", why, version_);
    set_status([&](ReloadStatus& s) {
      s.last_error = why;
      s.last_error_at = core::WallClock::now();
    });
    return loaded.error();
  }
  log_skipped(routing_db_, loaded->skipped);
  auto table = std::make_shared<RoutingTable>(std::move(loaded->table));
  table->version = ++version_;
  spdlog::info("proxy: routing table version {}: {} backends, {} geo overrides, {} rows skipped", version_,
               table->backends.size(), table->overrides.size(), loaded->skipped.size());
  set_status([&](ReloadStatus& s) {
    s.version = version_;
    s.loaded_at = core::WallClock::now();
    s.backends = table->backends.size();
    s.overrides = table->overrides.size();
    s.skipped = loaded->skipped;
    s.last_error.clear();
  });
  const auto old = current();
  publish(std::move(table), old ? old->geoip : nullptr);
  return core::ok_status();
}

core::Status RoutingReloader::load_geoip(bool force) {
  if (geoip_path_.empty()) return core::ok_status();
  const auto mtime = mtime_of(geoip_path_);
  if (!force && mtime == geoip_mtime_) return core::ok_status();
  geoip_mtime_ = mtime;
  auto opened = GeoIp::open(geoip_path_);
  if (!opened) {
    const std::string why = opened.error().message();
    spdlog::error("proxy: {} (keeping the GeoIP database opened before)", why);
    set_status([&](ReloadStatus& s) { s.geoip_error = why; });
    return opened.error();
  }
  std::shared_ptr<const GeoIp> geoip = std::move(*opened);
  spdlog::info("proxy: GeoIP {}", geoip->description());
  set_status([&](ReloadStatus& s) {
    s.geoip = geoip->description();
    s.geoip_error.clear();
  });
  const auto old = current();
  if (old && old->table) {
    publish(std::shared_ptr<const RoutingTable>(old->table, &old->table->table()), std::move(geoip));
  } else {
    current_.store(std::make_shared<const RoutingSnapshot>(RoutingSnapshot{nullptr, std::move(geoip)}));
  }
  return core::ok_status();
}

void RoutingReloader::publish(std::shared_ptr<const RoutingTable> table, std::shared_ptr<const GeoIp> geoip) {
  auto snapshot = std::make_shared<const RoutingSnapshot>(
      RoutingSnapshot{table ? compile(std::move(table), shared_.slots, policy_) : nullptr, std::move(geoip)});
  current_.store(snapshot);
  publish_(std::move(snapshot));
}

void RoutingReloader::set_status(const std::function<void(ReloadStatus&)>& change) {
  auto next = std::make_shared<ReloadStatus>(*status_.load());
  change(*next);
  status_.store(std::move(next));
}

core::Result<std::shared_ptr<const RoutingSnapshot>> load_snapshot(const std::filesystem::path& routing_db,
                                                                   const std::filesystem::path& geoip,
                                                                   BackendSlots& slots, SelectionPolicy policy,
                                                                   std::vector<SkippedRow>* skipped) {
  std::shared_ptr<const GeoIp> db;
  if (!geoip.empty()) {
    auto opened = GeoIp::open(geoip);
    if (!opened) return opened.error();
    db = std::move(*opened);
  }
  auto loaded = load_routing_db(routing_db);
  if (!loaded) return loaded.error();
  if (skipped) *skipped = loaded->skipped;
  auto table = std::make_shared<RoutingTable>(std::move(loaded->table));
  table->version = 1;
  return std::make_shared<const RoutingSnapshot>(RoutingSnapshot{compile(std::move(table), slots, policy), std::move(db)});
}

}  // namespace hop::proxy
