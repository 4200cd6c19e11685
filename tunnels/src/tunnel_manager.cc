#include "hop/tunnels/tunnel_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "hop/core/crypto.h"
#include "hop/core/errors.h"
#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

constexpr auto kManagerTick = std::chrono::milliseconds(250);
constexpr auto kHistoryWindow = std::chrono::minutes(10);
constexpr std::size_t kDeliveryRouterSize = 1 + 32;
constexpr std::size_t kDeliveryTunnelSize = 1 + 32 + 4;
// The owner stops using a tunnel this long before its hops drop it (clocks and builds differ).
constexpr auto kExpirySafety = std::chrono::seconds(2);
// The hops of a tunnel that failed are avoided by new tunnels this long (unless nothing else fits).
constexpr auto kSuspectHopMemory = std::chrono::minutes(2);

core::crypto::Key32 random_key() {
  core::crypto::Key32 k;
  core::crypto::random_bytes(k);
  return k;
}

core::RouterHash hash_at(core::ByteView in, std::size_t at) {
  core::RouterHash h;
  std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(at), h.bytes.size(), h.bytes.begin());
  return h;
}

// Delivery instructions for an outbound endpoint (docs/tunnels.md, "Tunnel messages").
core::Bytes with_delivery(core::ByteView message, const core::RouterHash& router, std::optional<TunnelId> tunnel) {
  core::Bytes out;
  out.reserve(kDeliveryTunnelSize + message.size());
  out.push_back(static_cast<std::uint8_t>(tunnel ? Delivery::kTunnel : Delivery::kRouter));
  out.insert(out.end(), router.bytes.begin(), router.bytes.end());
  if (tunnel) {
    out.resize(out.size() + 4);
    core::put_u32(out.data() + out.size() - 4, *tunnel);
  }
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

core::Bytes test_block(std::uint64_t test_id) {
  core::Bytes body(kTunnelTestBodySize);
  core::put_u64(body.data(), test_id);
  return encode_tunnel_block(TunnelKind::kTunnelTest, 0, body);
}

}  // namespace

std::string_view to_string(TunnelState state) {
  switch (state) {
    case TunnelState::kBuilding: return "building";
    case TunnelState::kEstablished: return "established";
  }
  return "unknown";
}

TunnelManager::TunnelManager(core::Runtime& runtime, transport::LinkLayer& links, const core::Identity& identity,
                             TunnelPeers& peers, TunnelManagerConfig config)
    : runtime_(runtime),
      links_(links),
      identity_(identity),
      peers_(peers),
      config_(config),
      pools_{{kExploratoryPool, config.exploratory}},
      transit_(config.transit),
      transit_bucket_(transit_bucket(config.transit)),
      rng_(core::crypto::random_u64()) {
  tick_timer_ = runtime_.make_timer([this] { on_tick(); });
}

TunnelManager::~TunnelManager() { stop(); }

void TunnelManager::start() {
  running_ = true;
  next_test_ = runtime_.now() + config_.test_interval;
  on_tick();
}

void TunnelManager::stop() {
  running_ = false;
  tick_timer_->cancel();
}

// --- timers -------------------------------------------------------------------------------

void TunnelManager::on_tick() {
  const auto now = runtime_.now();
  std::vector<std::uint64_t> timed_out;
  for (const auto& [id, deadline] : build_deadlines_) {
    if (deadline <= now) timed_out.push_back(id);
  }
  for (auto id : timed_out) {
    if (Owned* t = find_owned(id)) fail_build(*t);
  }
  std::vector<std::uint64_t> expired;
  for (const auto& [id, t] : owned_) {
    if (t.state != TunnelState::kBuilding && t.expires <= now) expired.push_back(id);
  }
  for (auto id : expired) erase(id);
  transit_.expire(now);
  expire_tests();
  if (running_) {
    plan_pools();
    if (now >= next_test_) {
      for (const auto& [pool, c] : pools_) run_tests(pool);
      next_test_ = now + config_.test_interval;
    }
    tick_timer_->arm(now + kManagerTick);
  }
}

// --- our own tunnels: building ------------------------------------------------------------

core::Result<PoolId> TunnelManager::add_pool(PoolConfig config) {
  if (config.inbound_quantity < 1 || config.inbound_quantity > 6 || config.outbound_quantity < 1 ||
      config.outbound_quantity > 6 || config.length > kMaxHops || config.lifetime < kMinLifetime ||
      config.lifetime > kMaxLifetime) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "tunnel pool: quantities must be 1-6, length 0-7, lifetime 10s-10m");
  }
  const PoolId id = next_pool_++;
  pools_[id] = config;
  return id;
}

void TunnelManager::remove_pool(PoolId pool) {
  if (pool == kExploratoryPool) return;  // the node's own pool lives as long as the manager
  pools_.erase(pool);
  std::vector<std::uint64_t> ids;
  for (const auto& [id, t] : owned_) {
    if (t.pool == pool) ids.push_back(id);
  }
  for (auto id : ids) erase(id);
}

void TunnelManager::plan_pools() {
  std::map<PoolId, std::vector<PoolTunnel>> by_pool;
  for (const auto& [id, t] : owned_) {
    by_pool[t.pool].push_back({t.direction, t.state == TunnelState::kEstablished, t.expires});
  }
  const auto now = runtime_.now();
  for (const auto& [pool, config] : pools_) {
    // After a failed build the pool waits (1 s doubling to 30 s): refusing hops are not asked
    // again at every tick, and our own retries do not trip their per-peer rate limits.
    if (auto b = build_backoff_.find(pool); b != build_backoff_.end() && now < b->second.first) continue;
    const auto builds = plan_builds(by_pool[pool], config, now);
    for (std::size_t i = 0; i < builds.inbound; ++i) build(pool, Direction::kInbound);
    for (std::size_t i = 0; i < builds.outbound; ++i) build(pool, Direction::kOutbound);
  }
}

TunnelId TunnelManager::fresh_id() {
  for (;;) {
    const auto id = static_cast<TunnelId>(core::crypto::random_u64());
    if (id != 0 && !transit_.find(id) && !inbound_by_owner_id_.count(id)) return id;
  }
}

std::optional<TunnelManager::Owned> TunnelManager::plan_tunnel(PoolId pool, Direction direction) {
  const PoolConfig& config = pools_.at(pool);
  HopRequest request{.length = config.length, .self = identity_.hash(), .avoid = {}};
  for (const auto& [id, t] : owned_) {
    // Prefer peers the pool's other tunnels this way do not use.
    if (t.pool != pool || t.direction != direction) continue;
    for (const auto& h : t.hops) request.avoid.push_back(h.plan.router);
  }
  // And peers of tunnels that failed lately: one of them may be dead.
  const auto now = runtime_.now();
  std::erase_if(suspect_hops_, [&](const auto& entry) { return entry.second <= now; });
  for (const auto& [router, until] : suspect_hops_) request.avoid.push_back(router);
  Owned t;
  t.pool = pool;
  t.direction = direction;
  if (request.length > 0) {
    auto choice = select_hops(peers_.hop_candidates(), request, config_.hop_rules, rng_);
    if (!choice) return std::nullopt;
    if (choice->relaxed != last_relaxed_ && !choice->relaxed.empty()) {
      std::string rules;
      for (auto r : choice->relaxed) rules += std::string(rules.empty() ? "" : ", ") + std::string(to_string(r));
      spdlog::info("tunnel hops: the overlay is too small for every rule; relaxed: {}", rules);
    }
    last_relaxed_ = choice->relaxed;
    for (const auto& router : choice->hops) {
      auto contact = peers_.contact_of(router);
      if (!contact) return std::nullopt;
      t.hops.push_back({{router, contact->static_key, {}}, contact->address()});
    }
  }
  const auto expiry = runtime_.wall_now() + std::chrono::duration_cast<core::WallTime::duration>(config.lifetime);
  const auto integrity = random_key();
  for (auto& h : t.hops) {
    auto& r = h.plan.record;
    r.receive_id = fresh_id();
    r.layer_key = random_key();
    r.iv_key = random_key();
    r.reply_key = random_key();
    r.expiry = expiry;
  }
  const std::size_t n = t.hops.size();
  for (std::size_t i = 0; i + 1 < n; ++i) {
    t.hops[i].plan.record.next_router = t.hops[i + 1].plan.router;
    t.hops[i].plan.record.next_id = t.hops[i + 1].plan.record.receive_id;
  }
  if (direction == Direction::kInbound) {
    t.match_id = fresh_id();
    if (n > 0) {
      t.hops[0].plan.record.role = HopRole::kInboundGateway;
      t.hops[0].plan.record.integrity_key = integrity;
      t.hops[n - 1].plan.record.next_router = identity_.hash();
      t.hops[n - 1].plan.record.next_id = t.match_id;
    }
    t.reader = std::make_unique<CellReader>(integrity);
  } else {
    if (n > 0) {
      auto& endpoint = t.hops[n - 1].plan.record;
      endpoint.role = HopRole::kOutboundEndpoint;
      endpoint.integrity_key = integrity;
      endpoint.reply_router = identity_.hash();  // straight back, unless an inbound tunnel can carry it
      if (Owned* in = established_tunnel(pool, Direction::kInbound, true); in && !in->hops.empty()) {
        endpoint.reply_router = in->hops[0].plan.router;
        endpoint.reply_id = in->hops[0].plan.record.receive_id;
      }
      t.reply_direct = endpoint.reply_id == 0;
      t.match_id = endpoint.receive_id;
    }
    t.writer = std::make_unique<CellWriter>(integrity);
  }
  return t;
}

void TunnelManager::build(PoolId pool, Direction direction) {
  auto planned = plan_tunnel(pool, direction);
  if (!planned) return;  // no usable hops now; plan_pool tries again at the next tick
  const auto now = runtime_.now();
  const std::uint64_t id = next_local_id_++;
  Owned& t = owned_[id] = std::move(*planned);
  t.id = id;
  t.build_started = now;
  ++counters_.builds_started;
  if (t.hops.empty()) {  // 0 hops: our own links, nothing to build
    t.state = TunnelState::kEstablished;
    t.created = now;
    t.expires = now + lifetime_of(pool);
    t.build_latency = core::Duration::zero();
    if (t.direction == Direction::kInbound) inbound_by_owner_id_[t.match_id] = id;
    ++counters_.builds_succeeded;
    record_outcome(true);
    return;
  }
  (t.direction == Direction::kInbound ? inbound_by_owner_id_ : outbound_by_endpoint_)[t.match_id] = id;
  std::vector<HopPlan> plans;
  for (const auto& h : t.hops) plans.push_back(h.plan);
  auto prepared = prepare_build(plans);
  t.slot_of_hop = std::move(prepared.slot_of_hop);
  build_deadlines_[id] = now + config_.build_timeout;
  send_build(t, encode_tunnel_block(TunnelKind::kBuildRequest, t.hops[0].plan.record.receive_id, prepared.slots));
}

void TunnelManager::send_build(Owned& tunnel, core::Bytes block) {
  const auto& first = tunnel.hops[0].plan.router;
  if (tunnel.direction == Direction::kInbound) {
    // So that the gateway does not learn who owns the tunnel, the request leaves through one of
    // our outbound tunnels when there is one.
    if (Owned* out = established_tunnel(tunnel.pool, Direction::kOutbound, true); out && !out->hops.empty()) {
      if (send_through(*out, with_delivery(block, first, std::nullopt))) return;
    }
  }
  send_block(first, transport::BlockType::kMessage, block);
}

void TunnelManager::finish_build(Owned& tunnel, core::ByteView slots) {
  std::vector<HopPlan> plans;
  for (const auto& h : tunnel.hops) plans.push_back(h.plan);
  const auto replies = read_replies(slots, plans, tunnel.slot_of_hop);
  // A reply that does not open may have been spoiled by any hop after it (each layers every
  // slot), so it blames nobody in particular: then every hop is charged as for a timeout. Only
  // a reply that opened says who declined.
  const bool all_opened = std::all_of(replies.begin(), replies.end(), [](const auto& r) { return r.has_value(); });
  bool all = all_opened;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const bool ok = replies[i] == BuildStatus::kAccepted;
    all = all && ok;
    const auto outcome = !all_opened ? netdb::BuildOutcome::kTimedOut
                         : ok        ? netdb::BuildOutcome::kAccepted
                                     : netdb::BuildOutcome::kDeclined;
    peers_.on_build_outcome(tunnel.hops[i].plan.router, outcome);
  }
  build_deadlines_.erase(tunnel.id);
  record_outcome(all);
  if (!all) {
    ++counters_.builds_refused;
    back_off(tunnel.pool);
    erase(tunnel.id);
    return;
  }
  build_backoff_.erase(tunnel.pool);
  const auto now = runtime_.now();
  ++counters_.builds_succeeded;
  tunnel.state = TunnelState::kEstablished;
  tunnel.created = now;
  // The hops were told an expiry counted from the plan (wall time); the owner stops a little
  // earlier than they do, so that it never sends into a tunnel its hops already dropped.
  tunnel.expires = tunnel.build_started + lifetime_of(tunnel.pool) - kExpirySafety;
  tunnel.build_latency = now - tunnel.build_started;
  for (auto& h : tunnel.hops) h.plan.record.reply_key = {};  // no longer needed
}

void TunnelManager::fail_build(Owned& tunnel) {
  // Nobody answered: any hop may have lost the request, so each is charged.
  for (const auto& h : tunnel.hops) peers_.on_build_outcome(h.plan.router, netdb::BuildOutcome::kTimedOut);
  remember_suspect_hops(tunnel);
  ++counters_.builds_timed_out;
  record_outcome(false);
  back_off(tunnel.pool);
  erase(tunnel.id);
}

core::Duration TunnelManager::lifetime_of(PoolId pool) const {
  auto it = pools_.find(pool);
  return it != pools_.end() ? it->second.lifetime : config_.exploratory.lifetime;
}

void TunnelManager::back_off(PoolId pool) {
  const auto now = runtime_.now();
  auto [it, inserted] = build_backoff_.try_emplace(pool, now, std::chrono::seconds(1));
  if (!inserted) it->second.second = std::min<core::Duration>(2 * it->second.second, std::chrono::seconds(30));
  it->second.first = now + it->second.second;
}

void TunnelManager::record_outcome(bool success) {
  const auto now = runtime_.now();
  ++builds_finished_;
  build_history_.emplace_back(now, success);
  while (!build_history_.empty() && now - build_history_.front().first > kHistoryWindow) build_history_.pop_front();
}

void TunnelManager::erase(std::uint64_t id) {
  auto it = owned_.find(id);
  if (it == owned_.end()) return;
  auto& index = it->second.direction == Direction::kInbound ? inbound_by_owner_id_ : outbound_by_endpoint_;
  index.erase(it->second.match_id);
  build_deadlines_.erase(id);
  owned_.erase(it);
}

// --- messages from the link ---------------------------------------------------------------

void TunnelManager::on_message(const core::RouterHash& from, core::ByteView block) {
  auto decoded = decode_tunnel_block(block);
  if (!decoded) {
    ++counters_.malformed;
    return;
  }
  switch (decoded->kind) {
    case TunnelKind::kBuildRequest: return on_build_request(from, *decoded);
    case TunnelKind::kBuildReply: return on_build_reply(decoded->tunnel_id, decoded->body, from);
    case TunnelKind::kGatewayMessage: return on_gateway_message(*decoded);
    case TunnelKind::kTunnelTest:
      ++counters_.malformed;  // tests come back only through our own inbound tunnels
      return;
  }
}

void TunnelManager::on_build_request(const core::RouterHash& from, const TunnelBlock& block) {
  ++counters_.build_requests_received;
  auto opened = open_build_request(block.body, identity_);
  if (!opened) {
    // No slot names us: it may be the last hop handing us our own inbound tunnel's build.
    auto it = inbound_by_owner_id_.find(block.tunnel_id);
    if (opened.error().code == Errc::kNotForUs && it != inbound_by_owner_id_.end()) {
      Owned& t = owned_.at(it->second);
      if (t.state == TunnelState::kBuilding && !t.hops.empty() && from == t.hops.back().plan.router) {
        return finish_build(t, block.body);
      }
    }
    ++counters_.malformed;
    return;
  }
  const BuildRecord& rec = opened->record;
  const auto wall = runtime_.wall_now();
  const bool endpoint = rec.role == HopRole::kOutboundEndpoint;
  if (rec.receive_id != block.tunnel_id || rec.expiry <= wall || rec.expiry > wall + kMaxExpiryAhead ||
      (!endpoint && rec.next_router == identity_.hash()) || (endpoint && rec.reply_router == core::RouterHash{})) {
    ++counters_.malformed;  // the owner's build times out
    return;
  }
  const auto now = runtime_.now();
  // One id space: a transit tunnel may not take an id our own inbound tunnels receive on.
  BuildStatus status = transit_.admit(rec, from, now);
  if (status == BuildStatus::kAccepted && inbound_by_owner_id_.count(rec.receive_id)) status = BuildStatus::kIdInUse;
  core::Bytes slots(block.body.begin(), block.body.end());
  answer_build_request(slots, opened->slot, rec.reply_key, status);
  if (status == BuildStatus::kAccepted) {
    const auto left = std::chrono::duration_cast<core::Duration>(rec.expiry - wall);
    transit_.add(rec, from, now, now + left);
    ++counters_.transit_accepted;
  } else {
    ++counters_.transit_refused;
  }
  // A peer over its rate gets nothing forwarded for it: otherwise its flood would make us send
  // and dial at its command (its owner's build times out).
  if (status == BuildStatus::kRateLimited) return;
  forward_request(rec, std::move(slots));
}

void TunnelManager::forward_request(const BuildRecord& rec, core::Bytes slots) {
  if (rec.role != HopRole::kOutboundEndpoint) {
    send_block(rec.next_router, transport::BlockType::kMessage,
               encode_tunnel_block(TunnelKind::kBuildRequest, rec.next_id, slots));
    return;
  }
  const auto reply = encode_tunnel_block(TunnelKind::kBuildReply, rec.receive_id, slots);
  if (rec.reply_id == 0) {
    deliver_to(rec.reply_router, reply);
  } else {
    deliver_to(rec.reply_router, encode_tunnel_block(TunnelKind::kGatewayMessage, rec.reply_id, reply));
  }
}

void TunnelManager::on_build_reply(TunnelId tunnel_id, core::ByteView slots, std::optional<core::RouterHash> from) {
  auto it = outbound_by_endpoint_.find(tunnel_id);
  if (it == outbound_by_endpoint_.end()) return;  // late (timed out) or not ours
  Owned& t = owned_.at(it->second);
  if (t.state != TunnelState::kBuilding) return;
  // Only the way we told the endpoint to answer counts: straight from the endpoint, or through
  // an inbound tunnel. Another hop that knows the id cannot fail the build with a forged reply.
  const bool expected = t.reply_direct ? from == t.hops.back().plan.router : !from.has_value();
  if (!expected) {
    ++counters_.malformed;
    return;
  }
  finish_build(t, slots);
}

void TunnelManager::on_gateway_message(const TunnelBlock& block) {
  // Our own 0-hop inbound tunnel: we are its gateway.
  if (auto own = inbound_by_owner_id_.find(block.tunnel_id); own != inbound_by_owner_id_.end()) {
    Owned& t = owned_.at(own->second);
    if (t.hops.empty()) {
      t.bytes += block.body.size();
      return dispatch_local(block.body, t);
    }
  }
  TransitHop* hop = transit_.find(block.tunnel_id);
  if (hop && hop->record.role == HopRole::kInboundGateway) {
    auto cells = hop->writer->write(block.body, hop->record.next_id);
    if (!cells) {
      ++counters_.malformed;
      return;
    }
    for (auto& cell : *cells) {
      // The gateway adds its layer like every later hop; forward_cell would rewrite the id
      // again, so the gateway's own layer is applied here and the cell sent as written.
      apply_hop_layer(cell, {hop->record.layer_key, hop->record.iv_key});
      if (!transit_bucket_.take(kCellSize, runtime_.now())) {
        ++hop->dropped;
        ++counters_.cells_over_bandwidth;
        continue;
      }
      ++hop->cells;
      hop->bytes += kCellSize;
      send_block(hop->record.next_router, transport::BlockType::kCell, cell);
    }
    return;
  }
  ++counters_.cells_unknown_tunnel;
}

// --- cells --------------------------------------------------------------------------------

void TunnelManager::on_cell(const core::RouterHash& from, core::ByteView block) {
  auto cell = cell_from_block(block);
  if (!cell) {
    ++counters_.malformed;
    return;
  }
  const TunnelId id = cell_tunnel_id(*cell);
  TransitHop* hop = transit_.find(id);
  if (hop && hop->previous == from && hop->record.role != HopRole::kInboundGateway) {
    if (hop->record.role == HopRole::kParticipant) return forward_cell(*hop, *cell);
    // The endpoint's work (and its reassembly memory) is transit work too.
    if (!transit_bucket_.take(kCellSize, runtime_.now())) {
      ++hop->dropped;
      ++counters_.cells_over_bandwidth;
      return;
    }
    apply_hop_layer(*cell, {hop->record.layer_key, hop->record.iv_key});
    ++hop->cells;
    hop->bytes += kCellSize;
    auto message = hop->reader->read(*cell, runtime_.now());
    if (!message) {
      ++counters_.cells_rejected;
    } else if (*message) {
      deliver_at_endpoint(**message);
    }
    return;
  }
  auto it = inbound_by_owner_id_.find(id);
  if (it != inbound_by_owner_id_.end()) {
    Owned& t = owned_.at(it->second);
    if (t.state != TunnelState::kBuilding && !t.hops.empty() && t.hops.back().plan.router == from) {
      return deliver_inbound(t, *cell);
    }
  }
  ++counters_.cells_unknown_tunnel;
}

void TunnelManager::forward_cell(TransitHop& hop, Cell& cell) {
  apply_hop_layer(cell, {hop.record.layer_key, hop.record.iv_key});
  set_cell_tunnel_id(cell, hop.record.next_id);
  if (!transit_bucket_.take(kCellSize, runtime_.now())) {
    ++hop.dropped;
    ++counters_.cells_over_bandwidth;
    return;
  }
  ++hop.cells;
  hop.bytes += kCellSize;
  ++counters_.cells_forwarded;
  send_block(hop.record.next_router, transport::BlockType::kCell, cell);
}

std::vector<HopLayer> TunnelManager::layers_of(const Owned& tunnel) const {
  std::vector<HopLayer> layers;
  layers.reserve(tunnel.hops.size());
  for (const auto& h : tunnel.hops) layers.push_back({h.plan.record.layer_key, h.plan.record.iv_key});
  return layers;
}

void TunnelManager::deliver_inbound(Owned& tunnel, const Cell& arrived) {
  Cell cell = arrived;
  remove_inbound_layers(cell, layers_of(tunnel));
  ++tunnel.cells;
  tunnel.bytes += kCellSize;
  auto message = tunnel.reader->read(cell, runtime_.now());
  if (!message) {
    ++counters_.cells_rejected;
    return;
  }
  if (*message) dispatch_local(**message, tunnel);
}

void TunnelManager::deliver_at_endpoint(core::ByteView message) {
  if (message.empty()) {
    ++counters_.malformed;
    return;
  }
  const auto kind = static_cast<Delivery>(message[0]);
  if (kind == Delivery::kRouter && message.size() > kDeliveryRouterSize) {
    ++counters_.messages_delivered;
    return deliver_to(hash_at(message, 1), message.subspan(kDeliveryRouterSize));
  }
  if (kind == Delivery::kTunnel && message.size() > kDeliveryTunnelSize) {
    ++counters_.messages_delivered;
    return deliver_to(hash_at(message, 1), encode_tunnel_block(TunnelKind::kGatewayMessage, core::get_u32(message.data() + 33),
                                                               message.subspan(kDeliveryTunnelSize)));
  }
  ++counters_.malformed;
}

void TunnelManager::deliver_to(const core::RouterHash& router, core::ByteView block) {
  if (router != identity_.hash()) {
    send_block(router, transport::BlockType::kMessage, block);
    return;
  }
  // We are the endpoint and the target: a gateway message (into a tunnel we are the gateway of)
  // or a build request (we are the first hop of the tunnel being built) is handled as if it had
  // come over a link from us; a plain message is for a local service.
  if (!block.empty() && block[0] == kTunnelService) {
    auto decoded = decode_tunnel_block(block);
    if (decoded && decoded->kind == TunnelKind::kGatewayMessage) return on_gateway_message(*decoded);
    if (decoded && decoded->kind == TunnelKind::kBuildRequest) return on_build_request(router, *decoded);
    ++counters_.malformed;
    return;
  }
  if (local_delivery_) local_delivery_(block, std::nullopt);
}

void TunnelManager::dispatch_local(core::ByteView block, const Owned& via) {
  ++counters_.messages_delivered;
  if (!block.empty() && block[0] == kTunnelService) {
    // Build replies and tunnel tests come back to us through our inbound tunnels.
    auto decoded = decode_tunnel_block(block);
    if (!decoded) {
      ++counters_.malformed;
      return;
    }
    if (decoded->kind == TunnelKind::kBuildReply) return on_build_reply(decoded->tunnel_id, decoded->body, std::nullopt);
    if (decoded->kind == TunnelKind::kTunnelTest) return on_test(decoded->body, via.id);
    ++counters_.malformed;  // requests and gateway messages never arrive this way
    return;
  }
  if (local_delivery_) local_delivery_(block, via.pool);
}

// --- sending ------------------------------------------------------------------------------

bool TunnelManager::send_block(const core::RouterHash& to, transport::BlockType type, core::ByteView body) {
  if (links_.send(to, type, body)) return true;
  auto contact = peers_.contact_of(to);
  return contact && links_.send_to(*contact, type, body).ok();
}

TunnelManager::Owned* TunnelManager::established_tunnel(PoolId pool, Direction direction, bool or_exploratory) {
  // Tunnels whose last test passed (or that were not tested yet) first: one that failed may be
  // broken. With or_exploratory, the exploratory pool's come before this pool's failing ones.
  std::vector<Owned*> passing, failing;
  auto collect = [&](PoolId p) {
    for (auto& [id, t] : owned_) {
      if (t.pool == p && t.direction == direction && t.state == TunnelState::kEstablished &&
          t.expires - runtime_.now() > kExpirySafety) {
        (t.test_failures == 0 ? passing : failing).push_back(&t);
      }
    }
  };
  collect(pool);
  if (passing.empty() && or_exploratory && pool != kExploratoryPool) collect(kExploratoryPool);
  const auto& from = !passing.empty() ? passing : failing;
  return from.empty() ? nullptr : from[rng_() % from.size()];  // spread traffic over the pool
}

core::Status TunnelManager::send_through(Owned& outbound, core::ByteView message) {
  if (outbound.hops.empty()) {
    deliver_at_endpoint(message);
    return {};
  }
  auto cells = outbound.writer->write(message, outbound.hops[0].plan.record.receive_id);
  if (!cells) return cells.error();
  const auto layers = layers_of(outbound);
  for (auto& cell : *cells) {
    add_outbound_layers(cell, layers);
    ++outbound.cells;
    outbound.bytes += kCellSize;
    if (!send_block(outbound.hops[0].plan.router, transport::BlockType::kCell, cell)) {
      return core::make_error(Errc::kNoRoute, "no link to the tunnel's first hop");
    }
  }
  return {};
}

core::Status TunnelManager::send_out(core::ByteView message, const core::RouterHash& router,
                                     std::optional<TunnelId> tunnel, PoolId pool) {
  Owned* out = established_tunnel(pool, Direction::kOutbound);
  if (!out) return core::make_error(Errc::kNoRoute, "no established outbound tunnel");
  return send_through(*out, with_delivery(message, router, tunnel));
}

std::vector<TunnelManager::OutboundTunnel> TunnelManager::outbound_tunnels(PoolId pool) const {
  std::vector<OutboundTunnel> out;
  for (const auto& [id, t] : owned_) {
    if (t.pool == pool && t.direction == Direction::kOutbound && t.state == TunnelState::kEstablished &&
        t.expires - runtime_.now() > kExpirySafety) {
      out.push_back({id, t.expires});
    }
  }
  return out;
}

core::Status TunnelManager::send_via(std::uint64_t outbound, core::ByteView message, const core::RouterHash& router,
                                     std::optional<TunnelId> tunnel) {
  Owned* out = find_owned(outbound);
  if (!out || out->direction != Direction::kOutbound || out->state != TunnelState::kEstablished) {
    return core::make_error(Errc::kNoRoute, "the outbound tunnel is gone");
  }
  return send_through(*out, with_delivery(message, router, tunnel));
}

// --- tunnel tests -------------------------------------------------------------------------

void TunnelManager::run_tests(PoolId pool) {
  std::vector<Owned*> outs, ins;
  for (auto& [id, t] : owned_) {
    if (t.pool != pool || t.state != TunnelState::kEstablished) continue;
    (t.direction == Direction::kOutbound ? outs : ins).push_back(&t);
  }
  if (outs.empty() || ins.empty()) return;
  // Every tunnel is tested once per interval; the pairing rotates so that a bad tunnel fails
  // with every partner while a good one passes with the others.
  const std::size_t pairs = std::max(outs.size(), ins.size());
  for (std::size_t k = 0; k < pairs; ++k) {
    Owned& out = *outs[k % outs.size()];
    Owned& in = *ins[(k + test_rotation_[pool]) % ins.size()];
    const std::uint64_t test_id = core::crypto::random_u64();
    const auto gateway = in.hops.empty() ? identity_.hash() : in.hops[0].plan.router;
    const TunnelId gateway_id = in.hops.empty() ? in.match_id : in.hops[0].plan.record.receive_id;
    // 8 round trips of the pair: a test is not failed by the queue of a busy tunnel, nor waits
    // 10 s on a tunnel that answers in a millisecond.
    // Before a tunnel's first test, its build's round trip stands in for its latency.
    const auto out_latency = out.latency ? out.latency : out.build_latency;
    const auto in_latency = in.latency ? in.latency : in.build_latency;
    core::Duration timeout = config_.test_timeout;
    if (out_latency && in_latency) {
      timeout = std::clamp<core::Duration>(8 * std::max(*out_latency, *in_latency), config_.min_test_timeout,
                                           config_.test_timeout);
    }
    tests_[test_id] = {out.id, in.id, runtime_.now(), runtime_.now() + timeout};
    ++counters_.tests_sent;
    (void)send_through(out, with_delivery(test_block(test_id), gateway, gateway_id));
  }
  ++test_rotation_[pool];
}

void TunnelManager::on_test(core::ByteView body, std::uint64_t via) {
  if (body.size() != kTunnelTestBodySize) return;
  const std::uint64_t test_id = core::get_u64(body.data());
  auto it = tests_.find(test_id);
  if (it == tests_.end() || it->second.inbound != via) return;  // must come back the way it was sent
  const auto rtt = runtime_.now() - it->second.sent;
  for (auto id : {it->second.outbound, it->second.inbound}) {
    if (Owned* t = find_owned(id)) {
      t->latency = rtt;
      t->test_failures = 0;
    }
  }
  tests_.erase(it);
  ++counters_.tests_passed;
}

void TunnelManager::expire_tests() {
  const auto now = runtime_.now();
  for (auto it = tests_.begin(); it != tests_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    ++counters_.tests_failed;
    for (auto id : {it->second.outbound, it->second.inbound}) {
      Owned* t = find_owned(id);
      if (!t || ++t->test_failures < config_.test_failures_before_replace) continue;
      // Failed with more than one partner: replace it now and charge its hops.
      for (const auto& h : t->hops) peers_.on_build_outcome(h.plan.router, netdb::BuildOutcome::kTimedOut);
      remember_suspect_hops(*t);
      spdlog::info("tunnel {} failed {} tests; replacing it", t->id, t->test_failures);
      erase(id);
    }
    it = tests_.erase(it);
  }
}

void TunnelManager::suspect_pool(PoolId pool) {
  if (!pools_.count(pool)) return;
  const auto now = runtime_.now();
  auto [it, first] = suspected_.try_emplace(pool, now);
  if (!first && now - it->second < config_.min_test_timeout) return;  // its tests are still out
  it->second = now;
  run_tests(pool);  // the pairing rotates between the two rounds
  run_tests(pool);
}

void TunnelManager::remember_suspect_hops(const Owned& tunnel) {
  const auto until = runtime_.now() + kSuspectHopMemory;
  for (const auto& h : tunnel.hops) suspect_hops_[h.plan.router] = until;
}

bool TunnelManager::passes_through(const Owned& tunnel, const core::RouterHash& peer) {
  return std::any_of(tunnel.hops.begin(), tunnel.hops.end(), [&](const Hop& h) { return h.plan.router == peer; });
}

void TunnelManager::suspect_hop(const core::RouterHash& peer) {
  suspect_hops_[peer] = runtime_.now() + kSuspectHopMemory;
  std::set<PoolId> pools;
  std::vector<std::uint64_t> builds;
  for (const auto& [id, t] : owned_) {
    if (!passes_through(t, peer)) continue;
    if (t.state == TunnelState::kBuilding) {
      builds.push_back(id);
    } else {
      pools.insert(t.pool);
    }
  }
  for (auto id : builds) {
    spdlog::info("tunnel {}: build given up, its hop {} may be gone", id, peer.short_string());
    erase(id);  // the pool is filled again at the next tick, with other hops
  }
  for (auto pool : pools) suspect_pool(pool);
}

void TunnelManager::drop_tunnels_through(const core::RouterHash& peer) {
  std::vector<std::uint64_t> ids;
  for (const auto& [id, t] : owned_) {
    if (passes_through(t, peer)) ids.push_back(id);
  }
  for (auto id : ids) {
    spdlog::info("tunnel {} dropped: its hop {} is unreachable", id, peer.short_string());
    erase(id);
  }
}

// --- views --------------------------------------------------------------------------------

TunnelManager::Owned* TunnelManager::find_owned(std::uint64_t id) {
  auto it = owned_.find(id);
  return it == owned_.end() ? nullptr : &it->second;
}

std::size_t TunnelManager::established(Direction direction, PoolId pool) const {
  return static_cast<std::size_t>(std::count_if(owned_.begin(), owned_.end(), [&](const auto& kv) {
    return kv.second.pool == pool && kv.second.direction == direction && kv.second.state == TunnelState::kEstablished;
  }));
}

std::vector<TunnelManager::InboundLease> TunnelManager::inbound_leases(PoolId pool) const {
  std::vector<InboundLease> out;
  for (const auto& [id, t] : owned_) {
    if (t.pool != pool || t.direction != Direction::kInbound || t.state != TunnelState::kEstablished) continue;
    if (t.hops.empty()) {
      out.push_back({identity_.hash(), t.match_id, t.expires});
    } else {
      out.push_back({t.hops[0].plan.router, t.hops[0].plan.record.receive_id, t.expires});
    }
  }
  return out;
}

std::vector<TunnelView> TunnelManager::tunnels() const {
  std::vector<TunnelView> out;
  for (const auto& [id, t] : owned_) {
    TunnelView v{id, t.pool, t.direction, {}, t.state, t.created, t.expires, t.build_latency, t.latency,
                 t.test_failures, t.bytes, t.cells};
    for (const auto& h : t.hops) v.hops.push_back({h.plan.router, h.address, h.plan.record.receive_id});
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<TransitView> TunnelManager::transit() const {
  std::vector<TransitView> out;
  for (const auto& [id, h] : transit_.hops()) {
    out.push_back({id, h.record.role, h.previous, h.record.next_router, h.created, h.expires, h.cells, h.bytes,
                   h.dropped});
  }
  return out;
}

std::optional<double> TunnelManager::build_success_rate(core::Duration window) const {
  const auto now = runtime_.now();
  std::size_t n = 0, ok = 0;
  for (const auto& [at, success] : build_history_) {
    if (now - at > window) continue;
    ++n;
    ok += success;
  }
  if (n == 0) return std::nullopt;
  return static_cast<double>(ok) / static_cast<double>(n);
}

std::optional<double> TunnelManager::build_success_rate_since_start() const {
  if (builds_finished_ == 0) return std::nullopt;
  return static_cast<double>(counters_.builds_succeeded) / static_cast<double>(builds_finished_);
}

}  // namespace hop::tunnels
