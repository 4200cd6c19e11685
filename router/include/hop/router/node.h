// One Hopline node: its identity, its link manager and the links it keeps to its seeds.
// The composition root for a node; later issues add the NetDB, tunnels and the proxy here.
// Thread affinity: the io_context of the AsioRuntime it is given.
#pragma once

#include <memory>
#include <unordered_map>

#include "hop/core/asio_runtime.h"
#include "hop/core/identity.h"
#include "hop/router/config.h"
#include "hop/router/seed_dialer.h"
#include "hop/netdb/netdb.h"
#include "hop/transport/link_manager.h"

namespace hop::router {

// Loads DIR/identity.key, or creates it (and DIR, mode 0700) when it does not exist.
core::Result<core::Identity> load_or_create_identity(const std::filesystem::path& data_dir);

class Node final : private transport::LinkEvents {
 public:
  // Start-up errors (identity, seed file) are returned, with what to do about them.
  static core::Result<std::unique_ptr<Node>> create(core::AsioRuntime& runtime, NodeConfig config);
  // Same, with seeds given directly instead of a seed file (the testnet uses this).
  static core::Result<std::unique_ptr<Node>> create(core::AsioRuntime& runtime, NodeConfig config,
                                                   std::vector<transport::PeerContact> seeds);
  ~Node() override;

  // Binds the listener and starts dialing seeds.
  core::Status start();
  // Closes every link; the node can then be destroyed.
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

 private:
  Node(core::AsioRuntime& runtime, NodeConfig config, core::Identity identity,
       std::vector<transport::PeerContact> seeds);

  void on_link_up(const transport::LinkInfo& link) override;
  void on_link_down(const core::RouterHash& peer, transport::CloseReason reason,
                    const std::string& detail) override;
  void on_block(const core::RouterHash& peer, transport::BlockType type, core::ByteView body) override;
  void on_dial_failed(const transport::PeerContact& contact, transport::CloseReason reason,
                      const std::string& detail) override;
  void on_seed_timer();

  core::AsioRuntime& runtime_;
  NodeConfig config_;
  core::Identity identity_;
  std::unique_ptr<transport::LinkManager> links_;
  std::unique_ptr<netdb::NetDb> netdb_;
  SeedDialer seeds_;
  std::unique_ptr<core::Timer> seed_timer_;  // redials seeds that are due; every second
  std::unordered_map<core::RouterHash, core::crypto::Key32> linked_static_keys_;
};

}  // namespace hop::router
