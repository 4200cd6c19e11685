// One Hopline node: its identity, its link manager, its NetDB (records, peer profiles, bans,
// the prober), the store thread that persists them, and its tunnels (the exploratory pool and
// the transit tunnels it carries), and on a POP the geo-proxy (its own threads). The composition
// root for a node; destinations join it with the end-to-end issue.
// Timers: the housekeeping timer (every second) redials due seeds and ends expired bans.
// Thread affinity: the io_context of the AsioRuntime it is given (the store has its own thread).
#pragma once

#include <map>
#include <memory>
#include <unordered_map>

#include "hop/core/asio_runtime.h"
#include "hop/core/identity.h"
#include "hop/netdb/netdb.h"
#include "hop/netdb/peer_book.h"
#include "hop/netdb/prober.h"
#include "hop/netdb/store.h"
#include "hop/router/config.h"
#include "hop/router/seed_dialer.h"
#include "hop/router/seed_file.h"
#include "hop/proxy/services.h"
#include "hop/transport/link_manager.h"
#include "hop/tunnels/local_destination.h"

namespace hop::router {

class StoreThread;
class ConsoleServer;
class ProxyHost;
class DemoBackend;

// Loads DIR/identity.key, or creates it (and DIR, mode 0700) when it does not exist.
core::Result<core::Identity> load_or_create_identity(const std::filesystem::path& data_dir);

class Node final : private transport::LinkEvents,
                   private netdb::ProbeSink,
                   private netdb::PeerBookObserver,
                   private tunnels::TunnelPeers {
 public:
  // Start-up errors (identity, seed file, a damaged NetDB file) are returned, with what to do.
  static core::Result<std::unique_ptr<Node>> create(core::AsioRuntime& runtime, NodeConfig config);
  // Same, with seeds given directly instead of a seed file (the testnet uses this).
  static core::Result<std::unique_ptr<Node>> create(core::AsioRuntime& runtime, NodeConfig config,
                                                   Seeds seeds);
  ~Node() override;

  // Binds the listener, loads the stored NetDB into the services and starts dialing seeds.
  core::Status start();
  // Closes every link; the node can then be destroyed (which finishes the pending store writes).
  void stop();
  // Replaces the seeds (before or after start).
  void set_seeds(std::vector<transport::PeerContact> seeds);

  const core::Identity& identity() const { return identity_; }
  const NodeConfig& config() const { return config_; }
  transport::LinkManager& links() { return *links_; }
  const transport::LinkManager& links() const { return *links_; }
  transport::PeerContact contact() const { return links_->local_contact(); }
  netdb::NetDb& netdb() { return *netdb_; }
  const netdb::NetDb& netdb() const { return *netdb_; }
  const netdb::PeerBook& peers() const { return peers_; }
  const netdb::Prober& prober() const { return *prober_; }
  tunnels::TunnelManager& tunnels() { return *tunnels_; }
  const tunnels::TunnelManager& tunnels() const { return *tunnels_; }
  // The console, when config().console.enabled and after start(); nullptr otherwise.
  const ConsoleServer* console() const { return console_.get(); }
  // The geo-proxy, when proxy.listen is set and after start(); nullptr otherwise.
  const ProxyHost* proxy() const { return proxy_.get(); }
  // The destinations this node hosts (services and client tunnels), after start().
  std::vector<const tunnels::LocalDestination*> destinations() const;
  const std::vector<std::unique_ptr<proxy::ServiceHost>>& services() const { return services_; }
  const std::vector<std::unique_ptr<proxy::ClientTunnel>>& clients() const { return clients_; }
  // A POP's overlay gateway (its proxy's streams to destination backends); nullptr elsewhere.
  const proxy::OverlayGateway* overlay_gateway() const { return gateway_.get(); }
  // SIGHUP: re-reads routing.db (from `routing_db`, which may be a new path) and the GeoIP file.
  void reload_proxy(const std::filesystem::path& routing_db);
  // SIGHUP: applies the limits of `next` that can change live (docs/operations.md, "Reloading
  // the config"): the proxy's (ProxyHost::apply_limits), transit admission and its bandwidth
  // share's token bucket, and, when the shared bandwidth changed after start(), our RouterInfo is
  // re-signed and published with it. Open connections and transit tunnels are kept; config()
  // shows the new values. Other fields of `next` are ignored.
  void reload_limits(const NodeConfig& next);
  // Waits until every store write posted so far is on disk.
  void flush_store();

 private:
  struct Loaded {  // what the store held at start-up
    std::vector<netdb::StoredRouter> routers;
    netdb::Profiles profiles;
    netdb::BanList bans;
  };
  Node(core::AsioRuntime& runtime, NodeConfig config, core::Identity identity, Seeds seeds,
       std::unique_ptr<StoreThread> store);
  static core::Result<std::pair<std::unique_ptr<StoreThread>, Loaded>> open_store(const NodeConfig& config);

  void on_link_up(const transport::LinkInfo& link) override;
  void on_link_down(const core::RouterHash& peer, transport::CloseReason reason,
                    const std::string& detail) override;
  void on_block(const core::RouterHash& peer, transport::BlockType type, core::ByteView body) override;
  void on_dial_failed(const transport::PeerContact& contact, transport::CloseReason reason,
                      const std::string& detail) override;
  std::optional<core::WallTime> on_probe_result(const core::RouterHash& peer, bool reachable,
                                                std::optional<core::Duration> rtt) override;
  void on_bandwidth_result(const core::RouterHash& peer, std::uint64_t bytes, core::Duration elapsed) override;
  void on_profile_changed(const core::RouterHash& peer, const netdb::PeerProfile& profile) override;
  void on_banned(const core::RouterHash& peer, const netdb::Ban& ban) override;
  void on_ban_ended(const core::RouterHash& peer) override;
  std::optional<transport::PeerContact> contact_of(const core::RouterHash& router) override;
  std::vector<tunnels::HopCandidate> hop_candidates() override;
  void on_build_outcome(const core::RouterHash& hop, netdb::BuildOutcome outcome) override;
  void on_tunnel_delivery(core::ByteView block, std::optional<tunnels::PoolId> pool);
  core::Status start_edges();
  core::Result<tunnels::LocalDestination*> add_destination(netdb::Destination keys, const DestinationPoolKeys& pool);
  void on_record(const netdb::SignedRouterInfo& record);
  void load_stored_routers();
  void add_seed_router_infos();
  void on_housekeeping();
  bool is_banned(const core::RouterHash& peer) const;

  core::AsioRuntime& runtime_;
  NodeConfig config_;
  core::Identity identity_;
  std::unique_ptr<StoreThread> store_;
  std::unique_ptr<transport::LinkManager> links_;
  std::unique_ptr<netdb::NetDb> netdb_;
  netdb::PeerBook peers_;
  std::unique_ptr<netdb::Prober> prober_;
  std::unique_ptr<tunnels::TunnelManager> tunnels_;
  SeedDialer seeds_;
  std::vector<core::Bytes> seed_router_infos_;  // from the seed file, added at start()
  std::vector<netdb::StoredRouter> stored_routers_;  // from the store, added at start()
  bool loading_stored_ = false;
  std::unique_ptr<core::Timer> housekeeping_timer_;
  std::unordered_map<core::RouterHash, core::crypto::Key32> linked_static_keys_;
  std::map<core::crypto::Key32, core::RouterHash> seed_hashes_;  // learned when a seed links
  std::unique_ptr<ProxyHost> proxy_;
  std::map<tunnels::PoolId, std::unique_ptr<tunnels::LocalDestination>> destinations_;
  std::vector<std::unique_ptr<proxy::ServiceHost>> services_;   // before destinations_ in stop()
  std::vector<std::unique_ptr<proxy::ClientTunnel>> clients_;
  std::unique_ptr<DemoBackend> demo_backend_;  // demo.backend: a testnet's built-in responder
  std::unique_ptr<proxy::OverlayGateway> gateway_;  // a POP's way to `….hop` backends
  std::unique_ptr<ConsoleServer> console_;  // last: destroyed first, it reads the rest
};

}  // namespace hop::router
