#include "hop/tunnels/local_destination.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "hop/core/crypto.h"
#include "hop/netdb/netdb.h"
#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

// Inner messages of a session (docs/sessions.md, "Inside a session"): kind, path epoch, body.
constexpr std::uint8_t kInnerStream = 1;    // body: one stream packet
constexpr std::uint8_t kInnerLeaseSet = 2;  // body: the sender's signed LeaseSet
constexpr std::size_t kInnerHeader = 2;

constexpr auto kHousekeeping = 250ms;
// A path is left this long before its tunnel or lease expires.
constexpr auto kPathMargin = 5s;
// A path a retransmission timeout fired on is avoided this long: about until the tunnel tests
// (every 30 s) have replaced a tunnel through a dead hop, or the peer's LeaseSet dropped it.
constexpr auto kFailedPathMemory = 30s;
// After a path failed, packets go over this many paths at most (2 x 2 by default)...
constexpr std::size_t kMaxSpreadPaths = 8;
// ...for three smoothed round trips, at least this long: the streams' first packets after a
// timeout and the answers to them. Longer would mostly multiply traffic: under random loss
// timeouts come every few seconds.
constexpr auto kMinSpread = 2s;
// After a path failed the floodfills are asked for the peer's LeaseSet, at most this often: when
// every lease it pushed is broken, its new ones may only be found there.
constexpr auto kLeaseRefreshInterval = 5s;
// Retransmitted INITs are recognised by their ephemeral key; this many are remembered.
constexpr std::size_t kMaxRememberedInits = 4096;
// One read or write of a user never moves more than this (the bridge reads 64 KiB at a time).
constexpr std::size_t kMaxRead = 256 * 1024;

core::TimePoint steady_of(core::WallTime wall, core::WallTime wall_now, core::TimePoint now) {
  return now + std::chrono::duration_cast<core::Duration>(wall - wall_now);
}

bool carries_data(const StreamPacket& packet) { return !packet.payload.empty() || packet.has(kStreamFin); }

}  // namespace

std::string_view to_string(StreamEnd end) {
  switch (end) {
    case StreamEnd::kFinished: return "finished";
    case StreamEnd::kReset: return "reset";
    case StreamEnd::kTimeout: return "timed out";
    case StreamEnd::kNoLeaseSet: return "no LeaseSet found";
    case StreamEnd::kConnectTimeout: return "connect timed out";
    case StreamEnd::kRefused: return "refused";
    case StreamEnd::kStopped: return "destination stopped";
  }
  return "unknown";
}

LocalDestination::Session::Session(SessionId id, const netdb::DestinationHash& peer, MuxSide side,
                                   const StreamMuxConfig& config, core::TimePoint now)
    : local_id(id), remote(peer), mux(config, side), created(now), last_receive(now), last_activity(now) {}

LocalDestination::LocalDestination(core::Runtime& runtime, TunnelManager& tunnels, netdb::NetDb& netdb,
                                   netdb::Destination keys, LocalDestinationConfig config)
    : runtime_(runtime),
      tunnels_(tunnels),
      netdb_(netdb),
      keys_(std::move(keys)),
      config_(std::move(config)),
      rng_(core::crypto::random_u64()) {
  timer_ = runtime_.make_timer([this] { on_timer(); });
}

LocalDestination::~LocalDestination() {
  *alive_ = false;
  stop();
}

core::Status LocalDestination::start() {
  if (running_) return {};
  auto pool = tunnels_.add_pool(config_.pool);
  if (!pool) return pool.error();
  pool_ = *pool;
  running_ = true;
  next_lease_check_ = runtime_.now();
  next_housekeeping_ = runtime_.now() + kHousekeeping;
  arm_timer(next_lease_check_);
  spdlog::info("destination {} started (pool {}, {}+{} tunnels of {} hops)", keys_.address(), pool_,
               config_.pool.inbound_quantity, config_.pool.outbound_quantity, config_.pool.length);
  return {};
}

void LocalDestination::stop() {
  if (!running_) return;
  running_ = false;
  timer_->cancel();
  timer_at_.reset();
  std::vector<StreamEvents*> users;
  for (auto& [id, s] : sessions_) {
    for (auto& [sid, a] : s.attached) {
      if (Stream* st = s.mux.find(sid)) st->reset(runtime_.now());
      users.push_back(a.events);
    }
    s.attached.clear();
    flush(s);  // the RSTs go out while the tunnels still exist
  }
  sessions_.clear();
  by_remote_.clear();
  if (lease_set_) netdb_.withdraw_lease_set(keys_.hash());
  tunnels_.remove_pool(pool_);
  for (auto* u : users) u->on_stream_closed(StreamEnd::kStopped);
}

// --- sessions -----------------------------------------------------------------------------

SessionId LocalDestination::fresh_session_id() {
  SessionId id = 0;
  while (id == 0 || sessions_.contains(id)) id = core::crypto::random_u64();
  return id;
}

MuxSide LocalDestination::side_towards(const netdb::DestinationHash& remote) const {
  return keys_.hash() < remote ? MuxSide::kOdd : MuxSide::kEven;
}

LocalDestination::Session& LocalDestination::new_session(const netdb::DestinationHash& remote, bool initiator) {
  const SessionId id = fresh_session_id();
  auto [it, inserted] =
      sessions_.try_emplace(id, id, remote, side_towards(remote), config_.streams, runtime_.now());
  it->second.initiator = initiator;
  return it->second;
}

LocalDestination::Session* LocalDestination::find_session(SessionId id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

StreamKey LocalDestination::connect(const netdb::DestinationHash& remote, StreamEvents& events) {
  const auto now = runtime_.now();
  Session* s = nullptr;
  if (auto it = by_remote_.find(remote); it != by_remote_.end()) {
    s = find_session(it->second);
    // A session that has been silent may be dead at the other end (its node restarted): new
    // streams get a new session, the old one keeps its streams until they end.
    if (s && (s->state == SessionState::kFailed ||
              (s->state == SessionState::kEstablished && now - s->last_receive > config_.session_silence))) {
      s = nullptr;
    }
  }
  if (!s && sessions_.size() >= config_.max_sessions) {
    // No room for another session: the stream fails at once, from the next turn.
    runtime_.post([ev = &events, alive = alive_] {
      if (*alive) ev->on_stream_closed(StreamEnd::kRefused);
    });
    return {};
  }
  if (!s) {
    s = &new_session(remote, /*initiator=*/true);
    by_remote_[remote] = s->local_id;
    ++counters_.sessions_initiated;
    const SessionId id = s->local_id;
    netdb_.lookup_lease_set(remote, [this, id, alive = alive_](const netdb::SignedLeaseSet* found) {
      if (*alive) on_lease_set_found(id, found);
    });
    s = find_session(id);  // the lookup may have answered at once
    if (!s) {
      runtime_.post([ev = &events, alive = alive_] {
        if (*alive) ev->on_stream_closed(StreamEnd::kNoLeaseSet);
      });
      return {};
    }
  }
  auto opened = s->mux.open(now);
  if (!opened) {
    runtime_.post([ev = &events, alive = alive_] {
      if (*alive) ev->on_stream_closed(StreamEnd::kRefused);
    });
    return {};
  }
  ++counters_.streams_opened;
  s->attached[*opened] = {&events};
  s->last_activity = now;
  const StreamKey key{s->local_id, *opened};
  schedule_flush(*s);
  return key;
}

void LocalDestination::on_lease_set_found(SessionId id, const netdb::SignedLeaseSet* found) {
  Session* s = find_session(id);
  if (!s || s->state != SessionState::kLookup) return;
  if (!found) return fail(*s, StreamEnd::kNoLeaseSet, "no LeaseSet found for " + s->remote.address());
  s->remote_lease_set = *found;
  begin_handshake(*s);
}

void LocalDestination::begin_handshake(Session& s) {
  if (!lease_set_) {  // the INIT carries our LeaseSet: wait for our first inbound tunnel
    s.state = SessionState::kWaitingTunnels;
    return;
  }
  auto handshake = InitiatorHandshake::start(keys_, lease_set_->wire, s.remote_lease_set->lease_set.destination,
                                             s.local_id);
  if (!handshake) return fail(s, StreamEnd::kRefused, "cannot start a session: " + handshake.error().message());
  s.state = SessionState::kHandshake;
  s.handshake.emplace(std::move(*handshake));
  s.init_lease_set = lease_set_->lease_set.published;
  s.init_retries = 0;
  send_init(s);
}

void LocalDestination::send_init(Session& s) {
  const auto now = runtime_.now();
  // Each retry takes another path: the last one may be what lost the INIT or the ACCEPT.
  if (!s.path || s.next_init != core::TimePoint{}) choose_path(s, s.path.has_value());
  s.next_init = now + config_.handshake_retry;
  if (s.path) send_raw(s, s.handshake->init_message());
}

void LocalDestination::established(Session& s) {
  s.state = SessionState::kEstablished;
  s.last_receive = runtime_.now();
  s.handshake.reset();
  flush(s);
}

void LocalDestination::fail(Session& s, StreamEnd why, const std::string& reason) {
  spdlog::info("destination {}: session with {} failed: {}", keys_.hash().short_string(), s.remote.short_string(),
               reason);
  ++counters_.sessions_failed;
  s.state = SessionState::kFailed;
  s.failure = why;
  auto attached = std::move(s.attached);
  s.attached.clear();
  if (auto it = by_remote_.find(s.remote); it != by_remote_.end() && it->second == s.local_id) by_remote_.erase(it);
  const SessionId id = s.local_id;
  sessions_.erase(id);
  // The users hear of it from the next turn, never inside their own call.
  std::vector<StreamEvents*> users;
  for (auto& [sid, a] : attached) users.push_back(a.events);
  runtime_.post([users, why, alive = alive_] {
    if (!*alive) return;
    for (auto* u : users) u->on_stream_closed(why);
  });
}

// --- receiving ----------------------------------------------------------------------------

void LocalDestination::on_message(core::ByteView message) {
  if (!running_) return;
  auto header = peek_session_message(message);
  if (!header) {
    ++counters_.messages_refused;
    return;
  }
  counters_.bytes_received += message.size();
  switch (header->kind) {
    case SessionMessageKind::kInit: return on_init(message);
    case SessionMessageKind::kAccept: return on_accept_message(*header, message);
    case SessionMessageKind::kData: return on_data(*header, message);
  }
}

void LocalDestination::on_init(core::ByteView message) {
  const auto now = runtime_.now();
  // A repeated INIT (the initiator did not get our ACCEPT) is known by its ephemeral key, in the
  // clear after the service and kind bytes: answered again without any crypto.
  core::crypto::Key32 ephemeral{};
  std::copy_n(message.begin() + 2, ephemeral.size(), ephemeral.begin());  // peek checked the size
  if (auto seen = init_ephemerals_.find(ephemeral); seen != init_ephemerals_.end()) {
    if (Session* s = find_session(seen->second); s && s->state == SessionState::kEstablished) {
      choose_path(*s, true);  // the last path may be what lost it
      suspect_paths(*s);
      send_raw(*s, s->accept_message);
    }
    return;
  }
  if (sessions_.size() >= config_.max_sessions) {
    ++counters_.messages_refused;
    return;
  }
  netdb::LeaseSetVerifyContext context{.network_id = config_.network_id, .now = runtime_.wall_now()};
  const SessionId id = fresh_session_id();
  auto accepted = accept_session(keys_, message, context, id);
  if (!accepted) {
    ++counters_.messages_refused;
    spdlog::debug("destination {}: INIT refused: {}", keys_.hash().short_string(), accepted.error().message());
    return;
  }
  const auto remote = accepted->initiator_lease_set.lease_set.hash();
  auto [it, inserted] = sessions_.try_emplace(id, id, remote, side_towards(remote), config_.streams, now);
  Session& s = it->second;
  s.initiator = false;
  s.remote_lease_set = std::move(accepted->initiator_lease_set);
  s.cipher.emplace(std::move(accepted->cipher));
  s.accept_message = std::move(accepted->accept_message);
  s.state = SessionState::kEstablished;
  if (lease_set_) s.lease_set_pushed = lease_set_->lease_set.published;  // the INIT carried it
  ++counters_.sessions_accepted;
  if (!by_remote_.contains(remote)) by_remote_[remote] = id;
  init_ephemerals_[accepted->initiator_ephemeral] = id;
  init_order_.push_back(accepted->initiator_ephemeral);
  if (init_order_.size() > kMaxRememberedInits) {
    init_ephemerals_.erase(init_order_.front());
    init_order_.pop_front();
  }
  (void)netdb_.add_lease_set(s.remote_lease_set->wire, remote);  // a cache for our own later lookups
  choose_path(s, false);
  send_raw(s, s.accept_message);
  // Our LeaseSet may be newer than the one the initiator looked up.
  push_lease_set(s);
}

void LocalDestination::on_accept_message(const SessionHeader& header, core::ByteView message) {
  Session* s = find_session(header.receiver);
  if (!s || s->state != SessionState::kHandshake || !s->handshake) {
    ++counters_.messages_refused;  // a duplicate ACCEPT, or not ours
    return;
  }
  auto cipher = s->handshake->on_accept(message);
  if (!cipher) {
    ++counters_.messages_refused;
    return;
  }
  ++counters_.messages_received;
  ++s->messages_received;
  s->cipher.emplace(std::move(*cipher));
  if (lease_set_) s->lease_set_pushed = lease_set_->lease_set.published;
  established(*s);
}

void LocalDestination::on_data(const SessionHeader& header, core::ByteView message) {
  Session* s = find_session(header.receiver);
  if (!s || s->state != SessionState::kEstablished) {
    ++counters_.messages_refused;
    return;
  }
  auto inner = s->cipher->open(message);
  if (!inner) {
    ++counters_.messages_refused;
    return;
  }
  ++counters_.messages_received;
  ++s->messages_received;
  s->last_receive = runtime_.now();
  on_inner(*s, *inner);
  // The users hear of it, and acks go out, once this turn's messages are all in.
  if (Session* still = find_session(header.receiver)) schedule_flush(*still);
}

void LocalDestination::on_inner(Session& s, core::ByteView inner) {
  if (inner.size() < kInnerHeader) {
    ++counters_.messages_refused;
    return;
  }
  const std::uint8_t kind = inner[0];
  const std::uint8_t epoch = inner[1];
  // The peer moved its path after a timeout; whether ours is broken too, its next data tells.
  if (s.peer_epoch && *s.peer_epoch != epoch) s.peer_timed_out = true;
  s.peer_epoch = epoch;
  const auto body = inner.subspan(kInnerHeader);
  if (kind == kInnerStream) {
    auto packet = decode_stream_packet(body);
    if (!packet) {
      ++counters_.messages_refused;
      return;
    }
    on_stream_packet(s, *packet);
    while (auto id = s.mux.accept()) {
      ++counters_.streams_accepted;
      s.last_activity = runtime_.now();
      if (!on_accept_) {
        if (Stream* st = s.mux.find(*id)) st->reset(runtime_.now());
        continue;
      }
      on_accept_({s.local_id, *id}, s.remote);
    }
    return;
  }
  if (kind == kInnerLeaseSet) {
    auto kept = netdb_.add_lease_set(body, s.remote);
    if (!kept) {
      ++counters_.messages_refused;
      return;
    }
    on_peer_lease_set(s, **kept);
    return;
  }
  ++counters_.messages_refused;
}

void LocalDestination::on_stream_packet(Session& s, const StreamPacket& packet) {
  // After the peer's timeout, the data it resends first decides: data we had already means its
  // packets got through and our acks were lost, so our half of the round trip is broken: move
  // it, and send the answer over every path. New data means the peer's half lost it, and ours
  // stays: moving at every timeout of the peer would leave a working half whenever the other
  // one broke.
  Stream* stream = s.peer_timed_out && carries_data(packet) ? s.mux.find(packet.stream_id) : nullptr;
  const std::uint64_t duplicates = stream ? stream->stats().receiver.duplicate_bytes : 0;
  s.mux.on_packet(packet, runtime_.now());
  if (!stream) return;
  s.peer_timed_out = false;
  if (stream->stats().receiver.duplicate_bytes > duplicates) on_path_failed(s, /*our_timeout=*/false);
}

void LocalDestination::on_peer_lease_set(Session& s, const netdb::SignedLeaseSet& lease_set) {
  if (s.remote_lease_set && lease_set.lease_set.published <= s.remote_lease_set->lease_set.published) return;
  s.remote_lease_set = lease_set;
  // Its leases changed: a path to a lease that is gone would be lost.
  if (s.path) {
    const auto& leases = s.remote_lease_set->lease_set.leases;
    const bool still = std::any_of(leases.begin(), leases.end(), [&](const netdb::Lease& l) {
      return l.gateway == s.path->gateway && l.tunnel_id == s.path->tunnel;
    });
    if (!still) choose_path(s, false);
  }
  on_new_paths(s);
}

void LocalDestination::on_new_paths(Session& s) {
  if (s.state != SessionState::kEstablished || !s.mux.stalled()) return;
  // The current path has not carried an answer since the timeout: it goes to the failed ones,
  // so that the new tunnel or lease is taken, and for a few round trips every path is used.
  const auto now = runtime_.now();
  leave_path(s);
  s.spread_until = std::max(s.spread_until, now + kMinSpread);
  s.mux.on_path_changed(now);
  schedule_flush(s);
}

void LocalDestination::check_outbound_tunnels() {
  std::set<std::uint64_t> now_up;
  bool grew = false;
  for (const auto& o : tunnels_.outbound_tunnels(pool_)) {
    now_up.insert(o.id);
    grew = grew || !outbound_seen_.count(o.id);
  }
  outbound_seen_ = std::move(now_up);
  if (!grew) return;
  for (auto& [id, s] : sessions_) on_new_paths(s);
}

// --- sending ------------------------------------------------------------------------------

std::vector<LocalDestination::Path> LocalDestination::paths_of(const Session& s) const {
  const auto now = runtime_.now();
  const auto wall = runtime_.wall_now();
  auto outs = tunnels_.outbound_tunnels(pool_);
  std::vector<const netdb::Lease*> leases;
  if (s.remote_lease_set) {
    for (const auto& l : s.remote_lease_set->lease_set.leases) {
      if (l.expires > wall + kPathMargin) leases.push_back(&l);
    }
    if (leases.empty()) {  // all about to expire: the live ones still beat nothing
      for (const auto& l : s.remote_lease_set->lease_set.leases) {
        if (l.expires > wall) leases.push_back(&l);
      }
    }
  }
  std::erase_if(outs, [&](const auto& o) { return o.expires - now <= kPathMargin; });
  if (outs.empty()) outs = tunnels_.outbound_tunnels(pool_);
  std::vector<Path> paths;
  for (const auto& o : outs) {
    for (const auto* l : leases) {
      Path p{o.id, l->gateway, l->tunnel_id, std::min(o.expires, steady_of(l->expires, wall, now)) - kPathMargin};
      if (p.valid_until <= now) p.valid_until = now + 1s;  // expiring soon: re-check shortly
      paths.push_back(p);
    }
  }
  return paths;
}

bool LocalDestination::same_route(const Path& a, const Path& b) {
  return a.outbound == b.outbound && a.gateway == b.gateway && a.tunnel == b.tunnel;
}

bool LocalDestination::choose_path(Session& s, bool move) {
  const auto now = runtime_.now();
  const auto paths = paths_of(s);
  if (paths.empty()) {
    s.path.reset();
    return false;
  }
  const auto previous = s.path;
  std::erase_if(s.failed_paths, [&](const Path& p) { return p.valid_until <= now; });
  // Moving: any pair but the current one, so a move may keep either half (which one is broken
  // is unknown; changing both each time would alternate between two pairs and never try the
  // others). Pairs that failed lately come last.
  std::vector<const Path*> fresh, failed;
  for (const auto& p : paths) {
    if (move && previous && same_route(p, *previous)) continue;
    const bool has_failed = std::any_of(s.failed_paths.begin(), s.failed_paths.end(),
                                        [&](const Path& f) { return same_route(f, p); });
    (has_failed ? failed : fresh).push_back(&p);
  }
  const auto& candidates = !fresh.empty() ? fresh : failed;
  if (candidates.empty()) return s.path.has_value();  // moving, but the current pair is the only one
  const Path& chosen = *candidates[rng_() % candidates.size()];
  if (previous && !same_route(*previous, chosen)) {
    ++s.path_changes;
    ++counters_.path_changes;
  }
  s.path = chosen;
  return true;
}

void LocalDestination::leave_path(Session& s) {
  if (s.path) {
    s.failed_paths.push_back(*s.path);
    s.failed_paths.back().valid_until = runtime_.now() + kFailedPathMemory;
  }
  choose_path(s, true);
}

void LocalDestination::on_path_failed(Session& s, bool our_timeout) {
  // Once per move: the timers of a session's other streams fire too, and while it still sends
  // over every path after the last move they tell nothing new (200 streams would otherwise move
  // the session 200 times, each move pushing a LeaseSet and spreading over every path).
  if (runtime_.now() < s.spread_until) return;
  if (our_timeout) ++s.our_epoch;  // the new epoch makes the peer check its half (on_stream_packet)
  leave_path(s);
  // The new path may be broken as well, and finding out costs a timeout each, backing off. For a
  // few round trips everything goes over every path instead: it reaches the peer if any pair
  // works, so the streams make progress (and their timers stop backing off) while paths are
  // tried one by one.
  core::Duration round_trip{};
  for (const auto& [id, a] : s.attached) {
    if (const Stream* st = s.mux.find(id)) round_trip = std::max(round_trip, st->stats().srtt);
  }
  s.spread_until = runtime_.now() + std::max<core::Duration>(kMinSpread, 3 * round_trip);
  // The peer may have missed a LeaseSet we pushed over the broken path and still send to leases
  // that are gone: push the current one again, over every path while spreading.
  s.lease_set_pushed = {};
  push_lease_set(s);
  suspect_paths(s);
}

void LocalDestination::suspect_paths(Session& s) {
  // Which tunnel broke is unknown: the pool's tunnels are tested now, so that a broken one is
  // replaced within seconds (and check_outbound_tunnels sees its successor). Our own tunnels are
  // half of the round trip; the peer's leases are the other half, and the LeaseSet it pushed
  // with new ones may have been lost on a broken path: the floodfills are asked for it too.
  tunnels_.suspect_pool(pool_);
  const auto now = runtime_.now();
  if (now >= s.next_lease_refresh) {
    s.next_lease_refresh = now + kLeaseRefreshInterval;
    netdb_.lookup_lease_set(
        s.remote,
        [this, id = s.local_id, alive = alive_](const netdb::SignedLeaseSet* found) {
          if (!*alive || !found) return;
          Session* cur = find_session(id);
          if (cur && (cur->state == SessionState::kEstablished || cur->state == SessionState::kHandshake)) {
            on_peer_lease_set(*cur, *found);
          }
        },
        netdb::NetDb::LeaseSetLookup::kRefresh);
  }
}

bool LocalDestination::send_raw(Session& s, core::ByteView message) {
  const auto now = runtime_.now();
  if (now < s.spread_until) return send_spread(s, message);
  if (!s.path || now >= s.path->valid_until) choose_path(s, false);
  for (int attempt = 0; attempt < 2 && s.path; ++attempt) {
    if (tunnels_.send_via(s.path->outbound, message, s.path->gateway, s.path->tunnel)) {
      ++counters_.messages_sent;
      ++s.messages_sent;
      counters_.bytes_sent += message.size();
      return true;
    }
    choose_path(s, true);  // that tunnel is gone
  }
  ++counters_.send_failures;
  return false;
}

bool LocalDestination::send_spread(Session& s, core::ByteView message) {
  // The same sealed message each way: the peer takes the first copy and refuses the others as
  // replays, so the streams never see a duplicate.
  std::size_t sent = 0;
  auto paths = paths_of(s);
  // Paths that did not fail lately first: kMaxSpreadPaths may not cover them all.
  std::stable_partition(paths.begin(), paths.end(), [&](const Path& p) {
    return std::none_of(s.failed_paths.begin(), s.failed_paths.end(), [&](const Path& f) { return same_route(f, p); });
  });
  for (const auto& p : paths) {
    if (sent == kMaxSpreadPaths) break;
    if (tunnels_.send_via(p.outbound, message, p.gateway, p.tunnel)) {
      ++sent;
      counters_.bytes_sent += message.size();
    }
  }
  if (sent == 0) {
    ++counters_.send_failures;
    return false;
  }
  ++counters_.messages_sent;
  ++s.messages_sent;
  return true;
}

void LocalDestination::send_inner(Session& s, std::uint8_t kind, core::ByteView body) {
  core::Bytes inner;
  inner.reserve(kInnerHeader + body.size());
  inner.push_back(kind);
  inner.push_back(s.our_epoch);
  inner.insert(inner.end(), body.begin(), body.end());
  const core::Bytes sealed = s.cipher->seal(inner);
  send_raw(s, sealed);
}

void LocalDestination::schedule_flush(Session& s) {
  if (s.flush_posted) return;
  s.flush_posted = true;  // writes of one turn go out together
  runtime_.post([this, id = s.local_id, alive = alive_] {
    if (!*alive) return;
    if (Session* session = find_session(id)) {
      session->flush_posted = false;
      flush(*session);
    }
  });
}

void LocalDestination::flush(Session& s) {
  if (s.state != SessionState::kEstablished) return;
  const auto now = runtime_.now();
  // Users first: a stream the peer reset is reported before polling removes it.
  notify(s);
  if (!find_session(s.local_id)) return;
  if (s.mux.stats().rtos != s.rtos_seen) {
    // A retransmission timer fired: our half of the round trip or the peer's may be broken. We
    // move ours, and the peer checks its half.
    s.rtos_seen = s.mux.stats().rtos;
    on_path_failed(s, /*our_timeout=*/true);
  }
  while (auto packet = s.mux.poll_transmit(now)) {
    auto bytes = encode_stream_packet(*packet);
    if (!bytes) continue;  // never for packets the stream built itself
    send_inner(s, kInnerStream, *bytes);
  }
  if (s.mux.size() > 0) s.last_activity = now;
  notify(s);
  if (auto deadline = s.mux.next_deadline()) arm_timer(*deadline);
}

void LocalDestination::notify(Session& s) {
  const SessionId id = s.local_id;
  std::vector<StreamId> ids;
  for (const auto& [sid, a] : s.attached) ids.push_back(sid);
  for (StreamId sid : ids) {
    Session* cur = find_session(id);
    if (!cur) return;
    auto it = cur->attached.find(sid);
    if (it == cur->attached.end()) continue;
    Attached& a = it->second;
    StreamEvents* ev = a.events;
    Stream* st = cur->mux.find(sid);
    if (!st || st->reset_reason() != ResetReason::kNone || st->is_closed()) {
      StreamEnd end = StreamEnd::kFinished;
      if (st && st->reset_reason() == ResetReason::kPeer) end = StreamEnd::kReset;
      if (st && (st->reset_reason() == ResetReason::kTimeout || st->reset_reason() == ResetReason::kIdle)) {
        end = StreamEnd::kTimeout;
      }
      if (st && st->reset_reason() == ResetReason::kLocal) end = StreamEnd::kReset;
      cur->attached.erase(it);
      ev->on_stream_closed(end);
      continue;
    }
    if (!a.established_told && st->is_established()) {
      a.established_told = true;
      ev->on_stream_established();
      cur = find_session(id);
      if (!cur) return;
      it = cur->attached.find(sid);
      if (it == cur->attached.end()) continue;
      st = cur->mux.find(sid);
      if (!st) continue;
    }
    if (st->readable() > 0 || (st->read_closed() && !it->second.eof_told)) {
      if (st->read_closed()) it->second.eof_told = true;
      ev->on_stream_readable();
      cur = find_session(id);
      if (!cur) return;
      it = cur->attached.find(sid);
      if (it == cur->attached.end()) continue;
      st = cur->mux.find(sid);
      if (!st) continue;
    }
    if (it->second.write_blocked && st->write_room() > 0) {
      it->second.write_blocked = false;
      ev->on_stream_writable();
    }
  }
}

// --- the user's calls ---------------------------------------------------------------------

Stream* LocalDestination::stream_of(StreamKey key, Session** session) {
  Session* s = find_session(key.session);
  if (session) *session = s;
  return s ? s->mux.find(key.stream) : nullptr;
}

void LocalDestination::attach(StreamKey key, StreamEvents& events) {
  Session* s = nullptr;
  if (!stream_of(key, &s)) return;
  s->attached[key.stream] = {&events};
  s->last_activity = runtime_.now();
  schedule_flush(*s);  // tells it what is readable already
}

std::size_t LocalDestination::write(StreamKey key, core::ByteView data) {
  Session* s = nullptr;
  Stream* st = stream_of(key, &s);
  if (!st) return 0;
  const std::size_t taken = st->write(data, runtime_.now());
  if (taken < data.size()) {
    if (auto it = s->attached.find(key.stream); it != s->attached.end()) it->second.write_blocked = true;
  }
  if (taken > 0) schedule_flush(*s);
  return taken;
}

core::Bytes LocalDestination::read(StreamKey key, std::size_t max) {
  Session* s = nullptr;
  Stream* st = stream_of(key, &s);
  if (!st) return {};
  core::Bytes out = st->read(std::min(max, kMaxRead));
  if (!out.empty()) schedule_flush(*s);  // a window update may be due
  return out;
}

bool LocalDestination::read_closed(StreamKey key) {
  Stream* st = stream_of(key);
  return !st || st->read_closed();
}

void LocalDestination::shutdown_write(StreamKey key) {
  Session* s = nullptr;
  if (Stream* st = stream_of(key, &s)) {
    st->shutdown_write(runtime_.now());
    schedule_flush(*s);
  }
}

void LocalDestination::release(StreamKey key) {
  if (Session* s = find_session(key.session)) s->attached.erase(key.stream);
}

void LocalDestination::reset(StreamKey key) {
  Session* s = nullptr;
  if (Stream* st = stream_of(key, &s)) {
    st->reset(runtime_.now());
    schedule_flush(*s);
  }
  if (s) s->attached.erase(key.stream);
}

// --- LeaseSet, timers ---------------------------------------------------------------------

void LocalDestination::check_lease_set() {
  const auto now = runtime_.now();
  const auto wall = runtime_.wall_now();
  std::vector<netdb::Lease> leases;
  for (const auto& l : tunnels_.inbound_leases(pool_)) {
    if (l.expires <= now) continue;
    leases.push_back({l.gateway, l.tunnel, wall + std::chrono::duration_cast<core::WallClock::duration>(l.expires - now)});
  }
  if (leases.empty()) return;  // the last LeaseSet stays until its leases expire
  if (leases.size() > netdb::kMaxLeases) leases.resize(netdb::kMaxLeases);
  auto same = [&](const std::vector<netdb::Lease>& old) {
    if (old.size() != leases.size()) return false;
    for (std::size_t i = 0; i < old.size(); ++i) {
      if (old[i].gateway != leases[i].gateway || old[i].tunnel_id != leases[i].tunnel_id) return false;
    }
    return true;
  };
  if (lease_set_ && same(lease_set_->lease_set.leases)) return;
  auto signed_set = netdb::sign_lease_set(keys_, std::move(leases), wall, config_.network_id);
  if (!signed_set) {
    spdlog::warn("destination {}: cannot sign its LeaseSet: {}", keys_.hash().short_string(),
                 signed_set.error().message());
    return;
  }
  lease_set_ = std::move(*signed_set);
  netdb_.publish_lease_set(*lease_set_);
  ++counters_.lease_sets_published;
  for (auto& [id, s] : sessions_) {
    if (s.state == SessionState::kWaitingTunnels) begin_handshake(s);
    else push_lease_set(s);
  }
}

void LocalDestination::push_lease_set(Session& s) {
  if (!lease_set_ || s.state != SessionState::kEstablished) return;
  if (s.lease_set_pushed == lease_set_->lease_set.published) return;
  s.lease_set_pushed = lease_set_->lease_set.published;
  ++counters_.lease_sets_pushed;
  send_inner(s, kInnerLeaseSet, lease_set_->wire);
}

void LocalDestination::housekeeping() {
  const auto now = runtime_.now();
  std::vector<SessionId> ids;
  for (const auto& [id, s] : sessions_) ids.push_back(id);
  for (SessionId id : ids) {
    Session* s = find_session(id);
    if (!s) continue;
    if (s->state != SessionState::kEstablished) {
      if (now - s->created > config_.connect_timeout) {
        fail(*s, StreamEnd::kConnectTimeout,
             s->state == SessionState::kWaitingTunnels ? "no inbound tunnel of ours yet" : "no answer to the handshake");
        continue;
      }
      if (s->state == SessionState::kHandshake && now >= s->next_init) {
        // Our leases changed since the INIT was sealed: the peer would answer to the old ones.
        if (lease_set_ && lease_set_->lease_set.published != s->init_lease_set) {
          begin_handshake(*s);
          continue;
        }
        if (++s->init_retries >= 2) suspect_paths(*s);  // two retries unanswered: a path may be dead
        send_init(*s);
      }
      continue;
    }
    if (s->mux.size() > 0 || !s->attached.empty()) {
      s->last_activity = now;
    } else if (now - s->last_activity > config_.session_idle) {
      if (auto it = by_remote_.find(s->remote); it != by_remote_.end() && it->second == id) by_remote_.erase(it);
      sessions_.erase(id);
      continue;
    }
    if (s->path && now >= s->path->valid_until) choose_path(*s, false);
  }
}

void LocalDestination::on_timer() {
  timer_at_.reset();
  if (!running_) return;
  const auto now = runtime_.now();
  if (now >= next_lease_check_) {
    next_lease_check_ = now + config_.lease_check;
    check_lease_set();
    check_outbound_tunnels();
  }
  if (now >= next_housekeeping_) {
    next_housekeeping_ = now + kHousekeeping;
    housekeeping();
  }
  std::vector<SessionId> due;
  for (auto& [id, s] : sessions_) {
    if (s.state != SessionState::kEstablished) continue;
    auto deadline = s.mux.next_deadline();
    if (deadline && *deadline <= now) due.push_back(id);
  }
  for (SessionId id : due) {
    if (Session* s = find_session(id)) {
      s->mux.on_timeout(now);
      flush(*s);
    }
  }
  core::TimePoint next = std::min(next_lease_check_, next_housekeeping_);
  for (const auto& [id, s] : sessions_) {
    if (s.state != SessionState::kEstablished) continue;
    if (auto d = s.mux.next_deadline(); d && *d < next) next = *d;
  }
  arm_timer(next);
}

void LocalDestination::arm_timer(core::TimePoint at) {
  if (!running_ || (timer_at_ && *timer_at_ <= at)) return;
  timer_at_ = at;
  timer_->arm(at);
}

// --- views --------------------------------------------------------------------------------

std::vector<SessionView> LocalDestination::sessions() const {
  std::vector<SessionView> out;
  for (const auto& [id, s] : sessions_) {
    static constexpr std::string_view kStates[] = {"lookup", "waiting for tunnels", "handshake", "established",
                                                   "failed"};
    out.push_back({id, s.remote, std::string(kStates[static_cast<int>(s.state)]), s.initiator, s.mux.size(),
                   s.path_changes, s.messages_sent, s.messages_received, s.created, s.last_receive,
                   s.path ? s.path->outbound : 0, s.path ? s.path->gateway : core::RouterHash{}});
  }
  return out;
}

std::size_t LocalDestination::open_streams() const {
  std::size_t n = 0;
  for (const auto& [id, s] : sessions_) n += s.mux.size();
  return n;
}

}  // namespace hop::tunnels
