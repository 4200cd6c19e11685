#include "hop/router/node.h"

#include "hop/router/proxy_host.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <ctime>

#include "hop/core/errors.h"
#include "hop/router/console.h"
#include "hop/router/data_dir.h"
#include "hop/router/demo_backend.h"
#include "hop/router/store_thread.h"

namespace hop::router {

namespace {
constexpr auto kHousekeepingInterval = std::chrono::seconds(1);

std::string format_rtt(const std::optional<core::Duration>& rtt) {
  if (!rtt) return "unknown";
  return fmt::format("{:.2f} ms", std::chrono::duration<double, std::milli>(*rtt).count());
}

std::string format_wall(core::WallTime t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}
}  // namespace

core::Result<core::Identity> load_or_create_identity(const std::filesystem::path& data_dir) {
  const auto path = identity_file(data_dir);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return core::Identity::load(path);
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return core::make_error(ec, "creating data directory " + data_dir.string());
  }
  ::chmod(data_dir.c_str(), 0700);
  auto id = core::Identity::generate();
  if (auto st = id.save(path); !st) return st.error();
  spdlog::info("created new identity {} in {}", id.hash().to_string(), path.string());
  return id;
}

Node::Node(core::AsioRuntime& runtime, NodeConfig config, core::Identity identity, Seeds seeds,
           std::unique_ptr<StoreThread> store)
    : runtime_(runtime),
      config_(std::move(config)),
      identity_(std::move(identity)),
      store_(std::move(store)),
      links_(std::make_unique<transport::LinkManager>(runtime_, identity_, config_.link_manager())),
      peers_(config_.bans, config_.selection),
      seeds_(std::move(seeds.contacts), runtime.now()),
      seed_router_infos_(std::move(seeds.router_infos)) {
  links_->set_events(this);
  netdb_ = std::make_unique<netdb::NetDb>(runtime_, *links_, identity_, config_.netdb());
  netdb_->set_on_record([this](const netdb::SignedRouterInfo& r) { on_record(r); });
  netdb_->set_peer_filter([this](const core::RouterHash& h) { return !is_banned(h); });
  auto contact_of = [this](const core::RouterHash& h) -> std::optional<transport::PeerContact> {
    const auto* record = netdb_->find(h);
    return record ? record->info.contact() : std::nullopt;
  };
  netdb::ProbeSink& sink = *this;  // private bases: converted here, inside the class
  prober_ = std::make_unique<netdb::Prober>(runtime_, *links_, contact_of, sink, config_.prober);
  tunnels::TunnelPeers& tunnel_peers = *this;
  tunnels_ = std::make_unique<tunnels::TunnelManager>(runtime_, *links_, identity_, tunnel_peers,
                                                      config_.tunnel_manager());
  tunnels_->set_local_delivery(
      [this](core::ByteView block, std::optional<tunnels::PoolId> pool) { on_tunnel_delivery(block, pool); });
  peers_.set_observer(this);
  housekeeping_timer_ = runtime_.make_timer([this] { on_housekeeping(); });
}

Node::~Node() {
  stop();
  // store_ is destroyed last among the members that post to it; its destructor drains the queue.
}

core::Result<std::pair<std::unique_ptr<StoreThread>, Node::Loaded>> Node::open_store(const NodeConfig& config) {
  auto store = netdb::NetDbStore::open(netdb_file(config.data_dir));
  if (!store) return store.error();
  Loaded loaded;
  std::size_t skipped_routers = 0, skipped_profiles = 0, skipped_bans = 0;
  auto routers = store->load_routers(&skipped_routers);
  if (!routers) return routers.error();
  auto profiles = store->load_profiles(&skipped_profiles);
  if (!profiles) return profiles.error();
  auto bans = store->load_bans(&skipped_bans);
  if (!bans) return bans.error();
  if (skipped_routers + skipped_profiles + skipped_bans > 0) {
    spdlog::warn("NetDB file {}: skipped {} router, {} profile and {} ban row(s) that do not decode",
                 store->file().string(), skipped_routers, skipped_profiles, skipped_bans);
  }
  spdlog::info("NetDB file {}: {} router(s), {} profile(s), {} ban(s)", store->file().string(),
               routers->size(), profiles->size(), bans->size());
  loaded.routers = std::move(*routers);
  loaded.profiles = std::move(*profiles);
  loaded.bans = std::move(*bans);
  return std::pair(std::make_unique<StoreThread>(std::move(*store)), std::move(loaded));
}

core::Result<std::unique_ptr<Node>> Node::create(core::AsioRuntime& runtime, NodeConfig config) {
  Seeds seeds;
  if (!config.seed_file.empty()) {
    auto parsed = read_seed_file(config.seed_file);
    if (!parsed) return parsed.error();
    seeds = std::move(*parsed);
  }
  return create(runtime, std::move(config), std::move(seeds));
}

core::Result<std::unique_ptr<Node>> Node::create(core::AsioRuntime& runtime, NodeConfig config,
                                                 Seeds seeds) {
  auto identity = load_or_create_identity(config.data_dir);
  if (!identity) return identity.error();
  auto store = open_store(config);
  if (!store) return store.error();
  auto& [thread, loaded] = *store;
  auto node = std::unique_ptr<Node>(
      new Node(runtime, std::move(config), std::move(*identity), std::move(seeds), std::move(thread)));
  node->peers_.load(std::move(loaded.profiles), std::move(loaded.bans));
  node->stored_routers_ = std::move(loaded.routers);
  return node;
}

core::Status Node::start() {
  if (config_.console.enabled) {  // first: a console refused by its config stops the node before it links
    console_ = std::make_unique<ConsoleServer>(runtime_, *this, config_.console);
    if (auto st = console_->start(); !st) return st;
  }
  if (!config_.proxy.listeners.empty()) {  // before linking: a broken routing.db stops the start
    // `….hop` backends are reached through the overlay gateway, from a destination of the POP's.
    auto dest = add_destination(netdb::Destination::generate(), {});
    if (!dest) return dest.error().wrap("the proxy's destination");
    gateway_ = std::make_unique<proxy::OverlayGateway>(runtime_.io(), **dest);
    if (auto st = gateway_->start(); !st) return st;
    proxy::ProxyConfig proxy_config = config_.proxy;
    proxy_config.overlay_gateway_port = gateway_->port();
    auto proxy = ProxyHost::start(proxy_config, config_.data_dir);
    if (!proxy) return proxy.error();
    proxy_ = std::move(*proxy);
  }
  if (const auto& demo = config_.demo_backend; !demo.name.empty()) {  // before the service that targets it
    demo_backend_ = std::make_unique<DemoBackend>(runtime_.io(), demo.name);
    if (auto st = demo_backend_->start(demo.host, demo.port); !st) return st;
    spdlog::info("demo backend {} answering on {}", demo.name, demo_backend_->address());
  }
  if (auto st = links_->start(); !st) return st;
  spdlog::info("node {} listening on {} (network {}), {} seed(s)", identity_.hash().to_string(),
               contact().address(), config_.network_id, seeds_.size() + seed_router_infos_.size());
  spdlog::info("seed line for this node: {}", contact().to_string());
  // Bans that ended while the node was down end now; their peers are tested again.
  peers_.expire_bans(runtime_.wall_now());
  load_stored_routers();
  netdb::RouterInfo info;
  info.addresses = {{"tcp", contact().host, contact().port}};
  info.bandwidth_kbps = config_.shared_kbps();
  info.region = config_.region;
  netdb_->set_local_info(std::move(info));
  add_seed_router_infos();
  netdb_->start();
  prober_->start();
  tunnels_->start();
  on_housekeeping();
  return start_edges();
}

core::Result<tunnels::LocalDestination*> Node::add_destination(netdb::Destination keys, const DestinationPoolKeys& pool) {
  tunnels::LocalDestinationConfig dc;
  dc.pool = config_.destination_pool(pool);
  dc.network_id = config_.network_id;
  auto d = std::make_unique<tunnels::LocalDestination>(runtime_, *tunnels_, *netdb_, std::move(keys), dc);
  if (auto st = d->start(); !st) return st.error();
  auto* raw = d.get();
  destinations_[d->pool()] = std::move(d);
  return raw;
}

namespace {
core::Result<netdb::Destination> load_or_create_destination(const std::filesystem::path& path, const std::string& what) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto loaded = netdb::Destination::load(path);
    if (!loaded) return loaded.error().wrap(what);
    return loaded;
  }
  auto created = netdb::Destination::generate();
  if (auto st = created.save(path); !st) return st.error().wrap(what);
  spdlog::info("{}: created destination {} in {}", what, created.address(), path.string());
  return created;
}
}  // namespace

core::Status Node::start_edges() {
  auto& io = runtime_.io();
  for (const auto& s : config_.services) {
    const auto file = resolve_in(config_.data_dir, s.keys.empty() ? std::filesystem::path("service-" + s.name + ".dst") : s.keys);
    auto keys = load_or_create_destination(file, "service " + s.name);
    if (!keys) return keys.error();
    auto dest = add_destination(std::move(*keys), s.pool);
    if (!dest) return dest.error();
    auto host = std::make_unique<proxy::ServiceHost>(io, **dest, s.name, s.target_host, s.target_port);
    host->start();
    spdlog::info("service {}: {} -> {}", s.name, (*dest)->hash().address(), host->target());
    services_.push_back(std::move(host));
  }
  for (const auto& c : config_.clients) {
    auto remote = netdb::parse_address(c.destination);
    if (!remote) return remote.error().wrap("client." + c.name + ".destination");
    auto keys = c.keys.empty() ? core::Result<netdb::Destination>(netdb::Destination::generate())
                               : load_or_create_destination(resolve_in(config_.data_dir, c.keys), "client " + c.name);
    if (!keys) return keys.error();
    auto dest = add_destination(std::move(*keys), c.pool);
    if (!dest) return dest.error();
    auto tunnel = std::make_unique<proxy::ClientTunnel>(io, **dest, c.name, *remote);
    if (auto st = tunnel->start(c.listen_host, c.listen_port); !st) return st;
    clients_.push_back(std::move(tunnel));
  }
  return {};
}

std::vector<const tunnels::LocalDestination*> Node::destinations() const {
  std::vector<const tunnels::LocalDestination*> out;
  for (const auto& [pool, d] : destinations_) out.push_back(d.get());
  return out;
}

void Node::add_seed_router_infos() {
  // An exported RouterInfo is a seed like a host:port:key line: it is kept linked, and its
  // record is already known, so no bootstrap lookup is needed.
  for (const auto& wire : seed_router_infos_) {
    auto added = netdb_->add_record(wire);
    if (!added) {
      spdlog::warn("seed file {}: a RouterInfo was refused: {}", config_.seed_file.string(),
                   added.error().message());
      continue;
    }
    if (auto contact = netdb_->find(*added)->info.contact()) seeds_.add(*contact, runtime_.now());
  }
  seed_router_infos_ = {};
}

void Node::load_stored_routers() {
  std::size_t kept = 0, stale = 0;
  loading_stored_ = true;  // these are in the store already
  for (const auto& stored : stored_routers_) {
    if (stored.hash == identity_.hash()) continue;  // we sign a fresh one
    if (netdb_->add_record(stored.wire)) {
      ++kept;
      continue;
    }
    // Expired or otherwise no longer valid: the store keeps only what the NetDB would accept.
    ++stale;
    const auto hash = stored.hash;
    store_->post("removing a stale RouterInfo", [hash](netdb::NetDbStore& s) { return s.remove_router(hash); });
  }
  loading_stored_ = false;
  if (kept + stale > 0) spdlog::info("NetDB: {} stored RouterInfo(s) loaded, {} stale one(s) dropped", kept, stale);
  stored_routers_ = {};
}

void Node::stop() {
  if (proxy_) proxy_->drain();  // clients first: they finish while the overlay still runs
  proxy_.reset();
  if (console_) console_->stop();
  if (gateway_) gateway_->stop();
  for (auto& c : clients_) c->stop();
  for (auto& s : services_) s->stop();
  if (demo_backend_) demo_backend_->stop();
  for (auto& [pool, d] : destinations_) d->stop();
  clients_.clear();
  services_.clear();
  gateway_.reset();
  destinations_.clear();
  housekeeping_timer_->cancel();
  tunnels_->stop();
  prober_->stop();
  netdb_->stop();
  links_->stop();
}

void Node::flush_store() { store_->flush(); }

void Node::reload_proxy(const std::filesystem::path& routing_db) {
  if (proxy_) proxy_->reload(resolve_in(config_.data_dir, routing_db));
}

void Node::reload_limits(const NodeConfig& next) {
  proxy::copy_live_limits(next.proxy, config_.proxy);
  if (proxy_) proxy_->apply_limits(config_.proxy);
  const std::uint32_t shared_before = config_.shared_kbps();
  config_.bandwidth_kbps = next.bandwidth_kbps;
  config_.share_percent = next.share_percent;
  config_.tunnels.transit.max_transit = next.tunnels.transit.max_transit;
  config_.tunnels.transit.build_requests_per_peer_per_minute = next.tunnels.transit.build_requests_per_peer_per_minute;
  tunnels_->set_transit_limits(config_.tunnel_manager().transit);
  const auto* own = netdb_->find(identity_.hash());  // none before start(), which advertises config_
  if (config_.shared_kbps() == shared_before || !own) return;
  netdb::RouterInfo info = own->info;
  info.bandwidth_kbps = config_.shared_kbps();
  netdb_->set_local_info(std::move(info));  // re-signed, and published to the floodfills at once
  spdlog::info("reload: shared bandwidth {} -> {} KB/s: transit cells are shaped to it, and our RouterInfo "
               "advertising it is published", shared_before, config_.shared_kbps());
}

void Node::set_seeds(std::vector<transport::PeerContact> seeds) {
  seeds_ = SeedDialer(std::move(seeds), runtime_.now());
}

bool Node::is_banned(const core::RouterHash& peer) const { return peers_.is_banned(peer, runtime_.wall_now()); }

void Node::on_housekeeping() {
  const auto now = runtime_.now();
  for (const auto& contact : seeds_.due(now)) {
    auto known = seed_hashes_.find(contact.static_key);
    if (known != seed_hashes_.end() && is_banned(known->second)) {
      seeds_.on_failed(contact.static_key, now);  // a banned seed is not dialed either
      continue;
    }
    if (auto st = links_->connect(contact, {.persistent = true}); !st) {
      spdlog::warn("not dialing seed {}: {}", contact.address(), st.error().message());
      seeds_.on_failed(contact.static_key, now);
    }
  }
  for (const auto& peer : peers_.expire_bans(runtime_.wall_now())) {
    spdlog::info("ban of peer {} ended; testing it again", peer.short_string());
  }
  housekeeping_timer_->arm(now + kHousekeepingInterval);
}

void Node::on_record(const netdb::SignedRouterInfo& record) {
  const auto hash = record.info.hash();
  if (!loading_stored_) store_->post("storing a RouterInfo", [hash, wire = record.wire, published = record.info.published](
                                           netdb::NetDbStore& s) { return s.put_router(hash, wire, published); });
  if (hash == identity_.hash()) return;
  if (!peers_.profile(hash)) {
    // A peer linked before its RouterInfo arrived (a seed) is alive: it may serve as a hop now.
    const auto links = links_->links();
    if (std::any_of(links.begin(), links.end(), [&](const auto& l) { return l.peer == hash; })) {
      peers_.record_seen(hash, runtime_.wall_now());
    }
  }
  const auto* ban = peers_.ban_of(hash);
  prober_->add(hash, ban && is_banned(hash) ? std::optional(ban->end) : std::nullopt);
}

void Node::on_link_up(const transport::LinkInfo& link) {
  if (is_banned(link.peer)) {
    // Only time lifts a ban: the link is refused and the ban stays as it was.
    spdlog::info("closing link with banned peer {} at {} (ban ends {})", link.peer.short_string(),
                 link.remote_address, format_wall(peers_.ban_of(link.peer)->end));
    links_->disconnect(link.peer);
    return;
  }
  linked_static_keys_[link.peer] = link.peer_static_key;
  if (seeds_.on_linked(link.peer_static_key)) {
    seed_hashes_[link.peer_static_key] = link.peer;
    // Ask a seed for its current RouterInfo, our way into the NetDB; even when we have one
    // stored, its address may have changed while we were down.
    transport::PeerContact seed;
    seed.static_key = link.peer_static_key;
    seed.hash = link.peer;
    netdb_->bootstrap_from(seed);
  }
  netdb_->on_peer_linked(link.peer);
  // Only peers we know (a RouterInfo) get a profile: identities are free to make, and a stranger
  // linking to us must not grow our profiles and store.
  if (netdb_->find(link.peer)) peers_.record_seen(link.peer, runtime_.wall_now());
  prober_->on_link_up(link);
  spdlog::info("link up: peer {} at {} ({}), rtt {}", link.peer.short_string(), link.remote_address,
               link.direction == transport::LinkDirection::kInbound ? "inbound" : "outbound",
               format_rtt(link.rtt));
}

void Node::on_link_down(const core::RouterHash& peer, transport::CloseReason reason,
                        const std::string& detail) {
  // LinkManager logs the link-down line itself; a seed is redialed after its backoff.
  (void)detail;
  const bool lost = transport::is_lost(reason) && !is_banned(peer);
  prober_->on_link_down(peer, lost);
  // It may have died or restarted (and lost our tunnels through it): test them now, not at
  // their turn, and build new ones elsewhere.
  if (lost && tunnels_) tunnels_->suspect_hop(peer);
  if (auto it = linked_static_keys_.find(peer); it != linked_static_keys_.end()) {
    seeds_.on_failed(it->second, runtime_.now());
    linked_static_keys_.erase(it);
  }
}

void Node::on_block(const core::RouterHash& peer, transport::BlockType type, core::ByteView body) {
  // kMessage blocks start with a service byte.
  if (type == transport::BlockType::kCell) return tunnels_->on_cell(peer, body);
  if (type == transport::BlockType::kMessage && !body.empty()) {
    if (body[0] == netdb::kNetDbService) return netdb_->on_message(peer, body);
    if (body[0] == netdb::kProbeService) return prober_->on_message(peer, body);
    if (body[0] == tunnels::kTunnelService) return tunnels_->on_message(peer, body);
  }
  spdlog::debug("block type {} of {} bytes from {} ignored", static_cast<int>(type), body.size(),
                peer.short_string());
}

void Node::on_dial_failed(const transport::PeerContact& contact, transport::CloseReason reason,
                          const std::string& detail) {
  (void)reason, (void)detail;
  seeds_.on_failed(contact.static_key, runtime_.now());
  prober_->on_dial_failed(contact);
}

std::optional<core::WallTime> Node::on_probe_result(const core::RouterHash& peer, bool reachable,
                                                    std::optional<core::Duration> rtt) {
  peers_.record_reachability(peer, reachable, rtt, runtime_.wall_now());
  if (!reachable && tunnels_) tunnels_->suspect_hop(peer);
  if (!is_banned(peer)) return std::nullopt;
  return peers_.ban_of(peer)->end;
}

void Node::on_bandwidth_result(const core::RouterHash& peer, std::uint64_t bytes, core::Duration elapsed) {
  peers_.record_bandwidth(peer, bytes, elapsed, runtime_.wall_now());
  spdlog::debug("bandwidth of peer {}: {:.0f} KB/s ({} bytes in {:.1f} ms)", peer.short_string(),
                peers_.profile(peer)->bandwidth / 1000, bytes,
                std::chrono::duration<double, std::milli>(elapsed).count());
}

std::optional<transport::PeerContact> Node::contact_of(const core::RouterHash& router) {
  if (is_banned(router)) return std::nullopt;
  const auto* record = netdb_->find(router);
  return record ? record->info.contact() : std::nullopt;
}

std::vector<tunnels::HopCandidate> Node::hop_candidates() {
  const auto now = runtime_.wall_now();
  std::vector<tunnels::HopCandidate> out;
  for (const auto& hash : peers_.selection(now)) {
    const auto* record = netdb_->find(hash);
    if (!record || record->info.addresses.empty()) continue;  // no RouterInfo: no key to seal to
    out.push_back({hash, netdb::score(*peers_.profile(hash), now), record->info.addresses.front().host,
                   record->info.bandwidth_kbps});
  }
  return out;
}

void Node::on_build_outcome(const core::RouterHash& hop, netdb::BuildOutcome outcome) {
  peers_.record_build(hop, outcome, runtime_.wall_now());
}

void Node::on_tunnel_delivery(core::ByteView block, std::optional<tunnels::PoolId> pool) {
  // Session messages are for the destination whose inbound tunnel carried them.
  if (pool && !block.empty() && block[0] == tunnels::kSessionService) {
    if (auto it = destinations_.find(*pool); it != destinations_.end()) return it->second->on_message(block);
  }
  spdlog::debug("message of {} bytes for service {} arrived through a tunnel; no such service here", block.size(),
                block.empty() ? -1 : int{block[0]});
}

void Node::on_profile_changed(const core::RouterHash& peer, const netdb::PeerProfile& profile) {
  store_->post("storing a profile", [peer, profile](netdb::NetDbStore& s) { return s.put_profile(peer, profile); });
}

void Node::on_banned(const core::RouterHash& peer, const netdb::Ban& ban) {
  spdlog::warn("banned peer {} until {}: {}", peer.short_string(), format_wall(ban.end), ban.reason);
  store_->post("storing a ban", [peer, ban](netdb::NetDbStore& s) { return s.put_ban(peer, ban); });
  links_->disconnect(peer);
  if (tunnels_) tunnels_->drop_tunnels_through(peer);  // none of them carries anything now
}

void Node::on_ban_ended(const core::RouterHash& peer) {
  store_->post("removing an ended ban", [peer](netdb::NetDbStore& s) { return s.remove_ban(peer); });
}

}  // namespace hop::router
