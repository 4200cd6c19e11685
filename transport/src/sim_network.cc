#include "hop/transport/sim_network.h"

#include <algorithm>

#include "hop/transport/errors.h"

namespace hop::transport {

// --- SimLinkLayer -------------------------------------------------------------------------

SimLinkLayer::SimLinkLayer(SimNetwork& net, const core::Identity& identity, SimNodeOptions options)
    : net_(net), identity_(identity), options_(std::move(options)) {}

PeerContact SimLinkLayer::contact() const {
  PeerContact c;
  c.host = options_.host;
  c.port = options_.port;
  c.static_key = identity_.static_keypair().public_key;
  c.hash = identity_.hash();
  return c;
}

core::Status SimLinkLayer::connect(const PeerContact& contact, ConnectOptions options) {
  if (contact.static_key == identity_.static_keypair().public_key) return core::make_error(Errc::kSelfDial);
  for (auto& [hash, link] : links_) {
    if (link.info.peer_static_key == contact.static_key) {
      link.info.persistent = link.info.persistent || options.persistent;
      return {};
    }
  }
  if (auto it = dials_.find(contact.static_key); it != dials_.end()) {
    it->second.persistent = it->second.persistent || options.persistent;
    return {};
  }
  if (!alive_) return core::make_error(Errc::kClosed, "node is down");
  if (!may_dial(options_.limits, open_connections())) {
    return core::make_error(Errc::kLinkLimit, "soft limit of " + std::to_string(options_.limits.soft) + " links reached");
  }
  const std::uint64_t id = net_.next_dial_id_++;
  dials_[contact.static_key] = Dial{contact, options.persistent, id, {}, 0};
  net_.start_dial(*this, contact, id);
  return {};
}

core::Status SimLinkLayer::send(const core::RouterHash& peer, BlockType type, core::ByteView body) {
  auto it = links_.find(peer);
  if (it == links_.end()) return core::make_error(Errc::kNoLink, peer.short_string());
  if (body.size() > kMaxBlockBody) return core::make_error(Errc::kMalformed, "block too large");
  Link& link = it->second;
  const auto now = net_.runtime_.now();
  const SimLinkProps props = net_.props(identity_.hash(), peer);
  if (props.bandwidth_bytes_per_sec > 0) {
    const double backlog = std::chrono::duration<double>(std::max(link.next_free, now) - now).count() *
                           props.bandwidth_bytes_per_sec;
    if (backlog + static_cast<double>(body.size()) > static_cast<double>(options_.max_queued_bytes)) {
      return core::make_error(Errc::kBackpressure);
    }
  }
  link.info.bytes_out += body.size();
  link.info.last_activity = now;
  net_.deliver(*this, peer, type, core::Bytes(body.begin(), body.end()));
  return {};
}

core::Status SimLinkLayer::send_to(const PeerContact& contact, BlockType type, core::ByteView body) {
  for (const auto& [hash, link] : links_) {
    if (link.info.peer_static_key == contact.static_key) return send(hash, type, body);
  }
  if (auto st = connect(contact); !st) return st;
  Dial& dial = dials_.at(contact.static_key);
  if (dial.queued_bytes + body.size() > options_.max_queued_bytes) return core::make_error(Errc::kBackpressure);
  dial.queued_bytes += body.size();
  dial.queued.emplace_back(type, core::Bytes(body.begin(), body.end()));
  return {};
}

void SimLinkLayer::disconnect(const core::RouterHash& peer) {
  auto it = links_.find(peer);
  if (it == links_.end()) return;
  links_.erase(it);
  emit_down(peer, CloseReason::kLocal, "disconnect requested");
  const auto latency = net_.props(identity_.hash(), peer).latency;
  const auto self = identity_.hash();
  net_.at(net_.runtime_.now() + latency, [this, peer, self] {
    SimLinkLayer* other = net_.by_hash(peer);
    if (other && other->links_.erase(self)) other->emit_down(self, CloseReason::kPeerClosed, "peer disconnected");
  });
}

std::vector<LinkInfo> SimLinkLayer::links() const {
  std::vector<LinkInfo> out;
  out.reserve(links_.size());
  for (const auto& [hash, link] : links_) out.push_back(link.info);
  return out;
}

void SimLinkLayer::emit_up(const core::RouterHash& peer) {
  net_.at(net_.runtime_.now(), [this, peer] {
    auto it = links_.find(peer);
    if (it != links_.end() && events_) events_->on_link_up(it->second.info);
  });
}

void SimLinkLayer::emit_down(const core::RouterHash& peer, CloseReason reason, const std::string& detail) {
  net_.at(net_.runtime_.now(), [this, peer, reason, detail] {
    if (events_) events_->on_link_down(peer, reason, detail);
  });
}

void SimLinkLayer::emit_dial_failed(const core::crypto::Key32& key, std::uint64_t dial_id, CloseReason reason) {
  auto it = dials_.find(key);
  if (it == dials_.end() || it->second.id != dial_id) return;  // already up or failed
  PeerContact contact = it->second.contact;
  dials_.erase(it);
  if (events_) events_->on_dial_failed(contact, reason, std::string(to_string(reason)));
}

void SimLinkLayer::add_link(const SimLinkLayer& peer, LinkDirection direction, bool persistent) {
  const auto hash = peer.identity_.hash();
  if (links_.count(hash)) return;  // simultaneous dials: one link per peer
  const auto now = net_.runtime_.now();
  Link link;
  link.info.peer = hash;
  link.info.peer_static_key = peer.identity_.static_keypair().public_key;
  link.info.remote_address = peer.contact().address();
  link.info.direction = direction;
  link.info.established_at = now;
  link.info.last_activity = now;
  link.info.rtt = 2 * net_.props(identity_.hash(), hash).latency;
  link.info.persistent = persistent;
  links_.emplace(hash, link);
  emit_up(hash);
  evict_if_over_soft_limit();
}

void SimLinkLayer::evict_if_over_soft_limit() {
  std::vector<LinkUsage> usage;
  std::vector<core::RouterHash> hashes;
  for (const auto& [hash, link] : links_) {
    usage.push_back({hashes.size(), link.info.last_activity, link.info.persistent, true});
    hashes.push_back(hash);
  }
  if (auto victim = pick_eviction(options_.limits, usage)) {
    const auto peer = hashes[*victim];
    links_.erase(peer);
    emit_down(peer, CloseReason::kEvicted, "over the soft link limit");
    const auto self = identity_.hash();
    net_.at(net_.runtime_.now() + net_.props(self, peer).latency, [this, peer, self] {
      SimLinkLayer* other = net_.by_hash(peer);
      if (other && other->links_.erase(self)) other->emit_down(self, CloseReason::kEvicted, "evicted by peer");  // as its Close block says
    });
  }
}

// --- SimNetwork ---------------------------------------------------------------------------

SimNetwork::SimNetwork(core::SimRuntime& runtime, std::uint64_t seed) : runtime_(runtime), rng_(seed) {}

SimNetwork::~SimNetwork() { *alive_ = false; }

void SimNetwork::at(core::TimePoint when, std::function<void()> fn) {
  runtime_.schedule(when, [alive = alive_, fn = std::move(fn)] {
    if (*alive) fn();
  });
}

SimLinkLayer& SimNetwork::add_node(const core::Identity& identity, SimNodeOptions options) {
  nodes_.push_back(std::make_unique<SimLinkLayer>(*this, identity, std::move(options)));
  SimLinkLayer& node = *nodes_.back();
  by_hash_[identity.hash()] = &node;
  by_static_[identity.static_keypair().public_key] = &node;
  return node;
}

void SimNetwork::set_link(const core::RouterHash& a, const core::RouterHash& b, const SimLinkProps& props) {
  overrides_[{std::min(a, b), std::max(a, b)}] = props;
}

SimLinkProps SimNetwork::props(const core::RouterHash& a, const core::RouterHash& b) const {
  auto it = overrides_.find({std::min(a, b), std::max(a, b)});
  return it == overrides_.end() ? default_props_ : it->second;
}

SimLinkLayer* SimNetwork::by_hash(const core::RouterHash& h) {
  auto it = by_hash_.find(h);
  return it == by_hash_.end() ? nullptr : it->second;
}

SimLinkLayer* SimNetwork::by_static(const core::crypto::Key32& key) {
  auto it = by_static_.find(key);
  return it == by_static_.end() ? nullptr : it->second;
}

bool SimNetwork::can_talk(const SimLinkLayer& a, const SimLinkLayer& b) const {
  return a.alive_ && b.alive_ && !a.blackholed_ && !b.blackholed_;
}

bool SimNetwork::lose(double probability) {
  return probability > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < probability;
}

void SimNetwork::start_dial(SimLinkLayer& from, const PeerContact& contact, std::uint64_t dial_id) {
  const auto now = runtime_.now();
  const auto key = contact.static_key;
  // Silence (unknown, dead or black-holed peer) ends at the handshake timeout.
  at(now + from.options_.handshake_timeout,
     [&from, key, dial_id] { from.emit_dial_failed(key, dial_id, CloseReason::kHandshakeTimeout); });
  SimLinkLayer* to = by_static(key);
  if (!to) return;
  const auto latency = props(from.identity_.hash(), to->identity_.hash()).latency;
  // Message 1 reaches the responder after one latency.
  at(now + latency, [this, &from, to, key, dial_id, latency] {
    auto dial = from.dials_.find(key);
    if (dial == from.dials_.end() || dial->second.id != dial_id || !can_talk(from, *to)) return;
    const bool refused = to->options_.network_id != from.options_.network_id ||
                         !may_accept(to->options_.limits, to->open_connections());
    if (refused) {
      // The responder closes the connection; the dialer notices one latency later.
      at(runtime_.now() + latency,
         [&from, key, dial_id] { from.emit_dial_failed(key, dial_id, CloseReason::kPeerClosed); });
      return;
    }
    ++to->inbound_handshakes_;
    // Message 2 reaches the dialer: its link is up; message 3 reaches the responder after that.
    at(runtime_.now() + latency, [this, &from, to, key, dial_id, latency] {
      auto d = from.dials_.find(key);
      if (d == from.dials_.end() || d->second.id != dial_id || !can_talk(from, *to)) {
        --to->inbound_handshakes_;
        return;
      }
      auto dial_state = std::move(d->second);
      from.dials_.erase(d);
      from.add_link(*to, LinkDirection::kOutbound, dial_state.persistent);
      // Message 3 is scheduled before the queued blocks, so the responder's link exists when
      // they arrive at the same instant (ties run in scheduling order).
      at(runtime_.now() + latency, [&from, to] {
        --to->inbound_handshakes_;
        if (from.alive_ && to->alive_) to->add_link(from, LinkDirection::kInbound, false);
      });
      for (auto& [type, body] : dial_state.queued) (void)from.send(to->identity_.hash(), type, body);
    });
  });
}

void SimNetwork::deliver(SimLinkLayer& from, const core::RouterHash& to_hash, BlockType type, core::Bytes body) {
  SimLinkLayer* to = by_hash(to_hash);
  const SimLinkProps p = props(from.identity_.hash(), to_hash);
  if (!to || !can_talk(from, *to) || lose(p.loss)) {
    ++counters_.blocks_lost;
    return;
  }
  auto& link = from.links_.at(to_hash);
  const auto now = runtime_.now();
  const auto serialization = p.bandwidth_bytes_per_sec > 0
                                 ? std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(
                                       static_cast<double>(body.size()) / p.bandwidth_bytes_per_sec))
                                 : core::Duration::zero();
  link.next_free = std::max(link.next_free, now) + serialization;
  const auto from_hash = from.identity_.hash();
  at(link.next_free + p.latency, [this, to, from_hash, type, body = std::move(body)] {
    auto it = to->links_.find(from_hash);
    if (it == to->links_.end() || !to->alive_ || to->blackholed_) {
      ++counters_.blocks_lost;
      return;
    }
    it->second.info.bytes_in += body.size();
    it->second.info.last_activity = runtime_.now();
    ++counters_.blocks_delivered;
    counters_.bytes_delivered += body.size();
    if (to->events_) to->events_->on_block(from_hash, type, body);
  });
}

void SimNetwork::blackhole(const core::RouterHash& node, bool on) {
  SimLinkLayer* n = by_hash(node);
  if (!n || n->blackholed_ == on) return;
  n->blackholed_ = on;
  const std::uint64_t epoch = ++n->blackhole_epoch_;
  if (!on) return;
  // Pings go unanswered: after dead_link_timeout both ends give the links up.
  at(runtime_.now() + n->options_.dead_link_timeout, [this, n, epoch] {
    if (!n->blackholed_ || n->blackhole_epoch_ != epoch) return;
    const auto self = n->identity_.hash();
    auto links = std::move(n->links_);
    n->links_.clear();
    for (auto& [peer, link] : links) {
      n->emit_down(peer, CloseReason::kUnresponsive, "ping not answered");
      SimLinkLayer* other = by_hash(peer);
      if (other && other->links_.erase(self)) other->emit_down(self, CloseReason::kUnresponsive, "ping not answered");
    }
  });
}

void SimNetwork::kill(const core::RouterHash& node) {
  SimLinkLayer* n = by_hash(node);
  if (!n || !n->alive_) return;
  n->alive_ = false;
  n->dials_.clear();
  auto links = std::move(n->links_);
  n->links_.clear();
  for (auto& entry : links) {
    const core::RouterHash peer = entry.first;  // clang 14 cannot capture structured bindings
    at(runtime_.now() + props(node, peer).latency, [this, peer, node] {
      SimLinkLayer* other = by_hash(peer);
      if (other && other->links_.erase(node)) other->emit_down(node, CloseReason::kPeerClosed, "connection closed by peer");
    });
  }
}

}  // namespace hop::transport
