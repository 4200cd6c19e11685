// An in-memory network of link layers on simulated time: per-link latency, bandwidth and loss,
// black holes and killed nodes. It implements LinkLayer with the TCP LinkManager's semantics
// (limits, one link per peer, dial on demand, events) but moves blocks, not bytes: no handshake
// crypto runs, so hundreds of nodes simulate in milliseconds. Upper layers (NetDB, tunnels,
// streams) are tested on it unchanged.
//
// Timing of a dial from A to B with one-way latency L: A's link is up at 2L (message 2 arrived),
// B's at 3L (message 3 arrived). Failures as A sees them:
//   B unknown, killed or black-holed      -> kHandshakeTimeout after A's handshake_timeout
//   B at its hard limit, other network id -> kPeerClosed at 2L (B closed the connection)
// A black-holed node's links go down on both sides (kUnresponsive) after dead_link_timeout.
// Links have no idle timeout here (nothing in a simulation idles long enough to matter).
// Thread affinity: single-threaded, driven by the SimRuntime.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/sim_runtime.h"
#include "hop/transport/link_layer.h"
#include "hop/transport/link_policy.h"

namespace hop::transport {

struct SimLinkProps {
  core::Duration latency = std::chrono::milliseconds(10);  // one way
  double bandwidth_bytes_per_sec = 0;                      // 0: unlimited
  double loss = 0;                                         // probability a block is dropped
};

struct SimNodeOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7100;
  std::uint32_t network_id = 1;
  LinkLimits limits;
  core::Duration handshake_timeout = kDefaultHandshakeTimeout;
  core::Duration dead_link_timeout = kDefaultPingInterval + kDefaultPingTimeout;
  std::size_t max_queued_bytes = kDefaultMaxQueuedBytes;
};

struct SimCounters {
  std::uint64_t blocks_delivered = 0;
  std::uint64_t blocks_lost = 0;  // to loss or a black hole
  std::uint64_t bytes_delivered = 0;
};

class SimNetwork;

// One node's link layer in a SimNetwork. Owned by the network.
class SimLinkLayer final : public LinkLayer {
 public:
  SimLinkLayer(SimNetwork& net, const core::Identity& identity, SimNodeOptions options);

  void set_events(LinkEvents* events) override { events_ = events; }
  core::Status connect(const PeerContact& contact, ConnectOptions options = {}) override;
  core::Status send(const core::RouterHash& peer, BlockType type, core::ByteView body) override;
  core::Status send_to(const PeerContact& contact, BlockType type, core::ByteView body) override;
  void disconnect(const core::RouterHash& peer) override;
  std::vector<LinkInfo> links() const override;

  const core::Identity& identity() const { return identity_; }
  const SimNodeOptions& options() const { return options_; }
  // How to dial this node (with its router hash).
  PeerContact contact() const;
  std::size_t open_connections() const { return links_.size() + dials_.size() + inbound_handshakes_; }

 private:
  friend class SimNetwork;
  struct Link {
    LinkInfo info;
    core::TimePoint next_free{};  // when the outgoing direction finishes sending what it has
  };
  struct Dial {
    PeerContact contact;
    bool persistent = false;
    std::uint64_t id = 0;
    std::vector<std::pair<BlockType, core::Bytes>> queued;
    std::size_t queued_bytes = 0;
  };

  void emit_up(const core::RouterHash& peer);
  void emit_down(const core::RouterHash& peer, CloseReason reason, const std::string& detail);
  void emit_dial_failed(const core::crypto::Key32& key, std::uint64_t dial_id, CloseReason reason);
  void add_link(const SimLinkLayer& peer, LinkDirection direction, bool persistent);
  void evict_if_over_soft_limit();

  SimNetwork& net_;
  const core::Identity& identity_;
  SimNodeOptions options_;
  LinkEvents* events_ = nullptr;
  std::map<core::RouterHash, Link> links_;
  std::map<core::crypto::Key32, Dial> dials_;
  std::size_t inbound_handshakes_ = 0;
  bool alive_ = true;
  bool blackholed_ = false;
  std::uint64_t blackhole_epoch_ = 0;
};

class SimNetwork {
 public:
  SimNetwork(core::SimRuntime& runtime, std::uint64_t seed);
  ~SimNetwork();

  // The identity must outlive the network.
  SimLinkLayer& add_node(const core::Identity& identity, SimNodeOptions options = {});
  void set_default_link(const SimLinkProps& props) { default_props_ = props; }
  // Symmetric per-pair properties.
  void set_link(const core::RouterHash& a, const core::RouterHash& b, const SimLinkProps& props);
  // A black-holed node sends and receives nothing; lifting it restores new dials.
  void blackhole(const core::RouterHash& node, bool on);
  // The node's process dies: peers see their links close after one latency.
  void kill(const core::RouterHash& node);
  const SimCounters& counters() const { return counters_; }
  core::SimRuntime& runtime() { return runtime_; }

 private:
  friend class SimLinkLayer;
  SimLinkProps props(const core::RouterHash& a, const core::RouterHash& b) const;
  SimLinkLayer* by_hash(const core::RouterHash& h);
  SimLinkLayer* by_static(const core::crypto::Key32& key);
  bool can_talk(const SimLinkLayer& a, const SimLinkLayer& b) const;
  void start_dial(SimLinkLayer& from, const PeerContact& contact, std::uint64_t dial_id);
  void deliver(SimLinkLayer& from, const core::RouterHash& to, BlockType type, core::Bytes body);
  bool lose(double probability);
  // Schedules on the runtime; the call is skipped if the network is gone by then.
  void at(core::TimePoint when, std::function<void()> fn);

  core::SimRuntime& runtime_;
  std::mt19937_64 rng_;
  SimLinkProps default_props_;
  std::map<std::pair<core::RouterHash, core::RouterHash>, SimLinkProps> overrides_;
  std::vector<std::unique_ptr<SimLinkLayer>> nodes_;
  std::map<core::RouterHash, SimLinkLayer*> by_hash_;
  std::map<core::crypto::Key32, SimLinkLayer*> by_static_;
  std::uint64_t next_dial_id_ = 1;
  SimCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hop::transport
