// Test support: a whole overlay on the simulated clock and network. Each node has a NetDb (the
// first `floodfills` are floodfills; every node starts knowing every RouterInfo), a
// TunnelManager whose hop candidates are the other reachable nodes, and LocalDestinations wired
// as router/src/node.cc wires them (session messages go by pool id to their destination). Real
// keys, real cell and session crypto; only links and time are simulated. Stream users for the
// tests (a paced client and an echo or sink server) are here too.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hop/core/sim_runtime.h"
#include "hop/netdb/netdb.h"
#include "hop/transport/sim_network.h"
#include "hop/tunnels/local_destination.h"
#include "hop/tunnels/session_crypto.h"
#include "hop/tunnels/tunnel_manager.h"

namespace hop::tunnels::overlay {

using namespace std::chrono_literals;

struct OverlayConfig {
  int nodes = 10;
  int floodfills = 3;
  transport::SimLinkProps link{.latency = 50ms};
  std::uint64_t seed = 7;
  core::Duration lifetime = kTunnelLifetime;  // of every pool, the exploratory one included
  // Per link and direction; with a bandwidth limit, what may wait before sends fail.
  std::size_t max_queued_bytes = transport::kDefaultMaxQueuedBytes;
};

class Overlay;

// One node: link layer, NetDB, tunnels, and the destinations it hosts.
class SimNode final : public TunnelPeers, public transport::LinkEvents {
 public:
  SimNode(Overlay& world, int index);
  ~SimNode() override { destinations_.clear(); }  // before the tunnels they use

  const core::RouterHash& hash() const { return identity.hash(); }
  // A destination on this node with the overlay's pool settings, started.
  LocalDestination& add_destination();
  // The process dies: nothing leaves it any more (no RSTs), and its timers stop.
  void crash();

  std::optional<transport::PeerContact> contact_of(const core::RouterHash& router) override;
  std::vector<HopCandidate> hop_candidates() override;
  void on_build_outcome(const core::RouterHash&, netdb::BuildOutcome) override {}

  void on_link_up(const transport::LinkInfo& link) override { netdb->on_peer_linked(link.peer); }
  void on_link_down(const core::RouterHash&, transport::CloseReason, const std::string&) override {}
  void on_block(const core::RouterHash& from, transport::BlockType type, core::ByteView body) override;

  Overlay& world;
  int index;
  core::Identity identity = core::Identity::generate();
  transport::SimLinkLayer* links = nullptr;
  std::unique_ptr<netdb::NetDb> netdb;
  std::unique_ptr<TunnelManager> tunnels;
  bool crashed = false;

 private:
  void on_tunnel_delivery(core::ByteView block, std::optional<PoolId> pool);
  std::map<PoolId, std::unique_ptr<LocalDestination>> destinations_;
};

class Overlay {
 public:
  explicit Overlay(OverlayConfig config = {}) : config_(config), net_(rt_, config.seed) {
    net_.set_default_link(config.link);
    for (int i = 0; i < config.nodes; ++i) nodes_.push_back(std::make_unique<SimNode>(*this, i));
    // Every node knows every RouterInfo from the start, as after a bootstrap.
    for (auto& n : nodes_) {
      for (auto& other : nodes_) {
        if (n == other) continue;
        EXPECT_TRUE(n->netdb->add_record(other->netdb->find(other->hash())->wire).ok());
      }
    }
    for (auto& n : nodes_) {
      n->netdb->start();
      n->tunnels->start();
    }
  }
  ~Overlay() { nodes_.clear(); }  // before the network their links belong to

  core::SimRuntime& rt() { return rt_; }
  transport::SimNetwork& net() { return net_; }
  const OverlayConfig& config() const { return config_; }
  SimNode& node(int i) { return *nodes_.at(static_cast<std::size_t>(i)); }
  int size() const { return static_cast<int>(nodes_.size()); }
  SimNode* by_hash(const core::RouterHash& h) {
    for (auto& n : nodes_) {
      if (n->hash() == h) return n.get();
    }
    return nullptr;
  }
  // Hop selection leaves these out, as the NetDB's selection pool drops a peer its probes lost.
  std::set<core::RouterHash> unreachable;
  // And these: nodes a test keeps out of every tunnel (the ends it must not kill by accident).
  std::set<core::RouterHash> no_hops;

  // Advances in `step`s until `done` or `limit` passed; `each` runs after every step.
  bool run_until(const std::function<bool()>& done, core::Duration limit,
                 const std::function<void()>& each = {}, core::Duration step = 100ms) {
    const core::TimePoint end = rt_.now() + limit;
    while (!done()) {
      if (rt_.now() >= end) return false;
      rt_.advance(step);
      if (each) each();
    }
    return true;
  }

 private:
  OverlayConfig config_;
  core::SimRuntime rt_;
  transport::SimNetwork net_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
};

inline TunnelManagerConfig manager_config(const OverlayConfig& c) {
  TunnelManagerConfig config;
  config.exploratory.lifetime = c.lifetime;
  // The bandwidth a test models is the links'; each node's transit share must not be a second,
  // hidden bottleneck.
  config.transit.share_bytes_per_sec = 64.0 * 1024 * 1024;
  return config;
}

inline SimNode::SimNode(Overlay& w, int i) : world(w), index(i) {
  // 127.(10+i).0.1: every node in its own /16, as the hop rules want.
  const std::string host = "127." + std::to_string(10 + i) + ".0.1";
  links = &world.net().add_node(identity, {.host = host, .max_queued_bytes = world.config().max_queued_bytes});
  links->set_events(this);
  netdb = std::make_unique<netdb::NetDb>(world.rt(), *links, identity,
                                         netdb::NetDbConfig{.floodfill = i < world.config().floodfills});
  netdb::RouterInfo info;
  info.addresses = {{"tcp", host, links->options().port}};
  info.bandwidth_kbps = 10'000;
  netdb->set_local_info(info);
  tunnels = std::make_unique<TunnelManager>(world.rt(), *links, identity, *this, manager_config(world.config()));
  tunnels->set_local_delivery([this](core::ByteView b, std::optional<PoolId> pool) { on_tunnel_delivery(b, pool); });
}

inline LocalDestination& SimNode::add_destination() {
  LocalDestinationConfig config;
  config.pool.lifetime = world.config().lifetime;
  auto d = std::make_unique<LocalDestination>(world.rt(), *tunnels, *netdb, netdb::Destination::generate(), config);
  EXPECT_TRUE(d->start().ok());
  LocalDestination& ref = *d;
  destinations_[d->pool()] = std::move(d);
  return ref;
}

inline void SimNode::crash() {
  world.net().kill(hash());
  crashed = true;
  for (auto& [pool, d] : destinations_) d->stop();
  tunnels->stop();
  netdb->stop();
}

inline void SimNode::on_block(const core::RouterHash& from, transport::BlockType type, core::ByteView body) {
  if (crashed) return;
  if (type == transport::BlockType::kCell) return tunnels->on_cell(from, body);
  if (body.empty()) return;
  if (body[0] == netdb::kNetDbService) return netdb->on_message(from, body);
  if (body[0] == kTunnelService) return tunnels->on_message(from, body);
}

inline void SimNode::on_tunnel_delivery(core::ByteView block, std::optional<PoolId> pool) {
  // As router/src/node.cc: session messages go to the destination whose inbound tunnel carried them.
  if (!pool || block.empty() || block[0] != kSessionService) return;
  if (auto it = destinations_.find(*pool); it != destinations_.end()) it->second->on_message(block);
}

inline std::optional<transport::PeerContact> SimNode::contact_of(const core::RouterHash& router) {
  const auto* record = netdb->find(router);
  return record ? record->info.contact() : std::nullopt;
}

inline std::vector<HopCandidate> SimNode::hop_candidates() {
  std::vector<HopCandidate> out;
  for (int i = 0; i < world.size(); ++i) {
    SimNode& n = world.node(i);
    if (&n == this || world.unreachable.count(n.hash()) || world.no_hops.count(n.hash())) continue;
    out.push_back({n.hash(), 0.5, n.links->options().host, 10'000});
  }
  return out;
}

// --- stream users -------------------------------------------------------------------------

inline core::Bytes pattern(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  core::Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

// Opens a stream, writes `data` (all at once, or `allowed` bytes so far when paced), half-closes
// after the last byte, and keeps what comes back.
class Client final : public StreamEvents {
 public:
  Client(LocalDestination& local, core::Bytes data) : local_(local), data_(std::move(data)) {}
  ~Client() override {
    if (!end) local_.release(key_);
  }

  void connect(const netdb::DestinationHash& remote) {
    key_ = local_.connect(remote, *this);
    pump();
  }
  // Paced: at most `bytes` written in all (std::nullopt: no limit).
  void allow(std::optional<std::size_t> bytes) {
    allowed_ = bytes;
    pump();
  }
  void pump() {
    if (end) return;
    const std::size_t limit = allowed_ ? std::min(*allowed_, data_.size()) : data_.size();
    if (written < limit) {
      written += local_.write(key_, core::ByteView(data_).subspan(written, limit - written));
    }
    if (written == data_.size() && !shut_) {
      local_.shutdown_write(key_);
      shut_ = true;
    }
  }
  bool echoed_all() const { return received == data_; }
  const core::Bytes& data() const { return data_; }

  void on_stream_readable() override {
    for (;;) {
      core::Bytes got = local_.read(key_, 64 * 1024);
      if (got.empty()) break;
      received.insert(received.end(), got.begin(), got.end());
    }
    eof = eof || local_.read_closed(key_);
  }
  void on_stream_writable() override { pump(); }
  void on_stream_closed(StreamEnd why) override { end = why; }

  std::size_t written = 0;
  core::Bytes received;
  bool eof = false;
  std::optional<StreamEnd> end;

 private:
  LocalDestination& local_;
  core::Bytes data_;
  StreamKey key_;
  std::optional<std::size_t> allowed_;
  bool shut_ = false;
};

// Accepts every stream of a destination: echoes what it reads (or only keeps it), and
// half-closes once the peer finished and everything was echoed.
class Server {
 public:
  enum class Mode { kEcho, kSink };
  Server(LocalDestination& local, Mode mode) : local_(local), mode_(mode) {
    local_.set_accept_handler([this](StreamKey key, const netdb::DestinationHash&) {
      auto conn = std::make_unique<Connection>(*this, key);
      local_.attach(key, *conn);
      connections.push_back(std::move(conn));
    });
  }
  ~Server() { local_.set_accept_handler({}); }

  struct Connection final : StreamEvents {
    Connection(Server& s, StreamKey k) : server(s), key(k) {}
    ~Connection() override {
      if (!end) server.local_.release(key);
    }
    void on_stream_readable() override { pump(); }
    void on_stream_writable() override { pump(); }
    void on_stream_closed(StreamEnd why) override { end = why; }
    void pump() {
      for (;;) {
        while (!pending.empty()) {
          const std::size_t n = server.local_.write(key, pending);
          pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
          if (n == 0) return;  // on_stream_writable follows
        }
        core::Bytes got = server.local_.read(key, 64 * 1024);
        if (got.empty()) break;
        received.insert(received.end(), got.begin(), got.end());
        if (server.mode_ == Mode::kEcho) pending = std::move(got);
      }
      if (!shut && server.local_.read_closed(key)) {
        server.local_.shutdown_write(key);
        shut = true;
      }
    }
    Server& server;
    StreamKey key;
    core::Bytes pending;
    core::Bytes received;
    bool shut = false;
    std::optional<StreamEnd> end;
  };

  std::vector<std::unique_ptr<Connection>> connections;

 private:
  LocalDestination& local_;
  Mode mode_;
};

}  // namespace hop::tunnels::overlay
