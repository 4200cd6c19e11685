#include "hop/netdb/netdb.h"

#include <spdlog/spdlog.h>

#include "hop/core/crypto.h"
#include "hop/netdb/kademlia.h"

namespace hop::netdb {
namespace {

constexpr auto kLookupTick = std::chrono::milliseconds(250);
// An exploration asks at most this many floodfills: it wants breadth, not a particular key.
constexpr std::size_t kExploreQueries = 6;

core::RouterHash random_key() {
  core::RouterHash h;
  core::crypto::random_bytes(h.bytes);
  return h;
}

}  // namespace

NetDb::NetDb(core::Runtime& runtime, transport::LinkLayer& links, const core::Identity& identity,
             NetDbConfig config)
    : runtime_(runtime),
      links_(links),
      identity_(identity),
      config_(config),
      next_lookup_id_(core::crypto::random_u64() >> 1) {
  publish_timer_ = runtime_.make_timer([this] {
    publish();
    arm_publish();
  });
  explore_timer_ = runtime_.make_timer([this] {
    explore();
    arm_explore();
  });
  lookup_timer_ = runtime_.make_timer([this] { on_lookup_tick(); });
  lease_set_timer_ = runtime_.make_timer([this] {
    publish_lease_sets();
    purge_lease_sets();
    arm_lease_sets();
  });
}

NetDb::~NetDb() {
  *alive_ = false;
  stop();
}

void NetDb::arm_publish() { publish_timer_->arm(runtime_.now() + config_.publish_interval); }

void NetDb::arm_lease_sets() { lease_set_timer_->arm(runtime_.now() + config_.lease_set_republish); }

void NetDb::arm_explore() {
  // Jitter (75-125 %) so that nodes started together do not explore in lockstep.
  const auto jitter = config_.explore_interval * (75 + static_cast<int>(core::crypto::random_uniform(51))) / 100;
  explore_timer_->arm(runtime_.now() + jitter);
}

void NetDb::set_local_info(RouterInfo info) {
  info.network_id = config_.network_id;
  info.floodfill = config_.floodfill;
  info.published = runtime_.wall_now();
  local_ = sign_router_info(identity_, std::move(info));
  records_[identity_.hash()] = *local_;
  if (running_) publish_router_info();
}

core::Result<core::RouterHash> NetDb::add_record(core::ByteView wire) {
  Refusal refusal{};
  auto verified = verify_router_info(wire, {.network_id = config_.network_id, .now = runtime_.wall_now()}, &refusal);
  if (!verified) {
    counters_.refusals.count(refusal);
    return verified.error();
  }
  const auto hash = verified->info.hash();
  accept(wire, hash);
  return hash;
}

void NetDb::start() {
  running_ = true;
  publish();
  arm_publish();
  arm_lease_sets();
  explore_timer_->arm(runtime_.now() + config_.explore_interval / 10);
}

void NetDb::stop() {
  running_ = false;
  publish_timer_->cancel();
  explore_timer_->cancel();
  lookup_timer_->cancel();
  lease_set_timer_->cancel();
  auto pending = std::move(lookups_);
  lookups_.clear();
  for (auto& [id, lookup] : pending) {
    for (auto& done : lookup.callbacks) done(nullptr);
    for (auto& done : lookup.lease_set_callbacks) done(nullptr);
  }
}

const SignedRouterInfo* NetDb::find(const core::RouterHash& hash) const {
  auto it = records_.find(hash);
  return it == records_.end() ? nullptr : &it->second;
}

std::vector<const SignedRouterInfo*> NetDb::routers() const {
  std::vector<const SignedRouterInfo*> out;
  out.reserve(records_.size());
  for (const auto& [hash, record] : records_) out.push_back(&record);
  return out;
}

std::vector<core::RouterHash> NetDb::floodfills() const {
  std::vector<core::RouterHash> out;
  for (const auto& [hash, record] : records_) {
    if (record.info.floodfill && hash != identity_.hash()) out.push_back(hash);
  }
  return out;
}

const SignedRouterInfo* NetDb::accept(core::ByteView wire, std::optional<core::RouterHash> expected) {
  Refusal refusal{};
  auto verified = verify_router_info(
      wire, {.network_id = config_.network_id, .now = runtime_.wall_now(), .expected_hash = expected}, &refusal);
  if (!verified) {
    counters_.refusals.count(refusal);
    spdlog::debug("NetDB refused a RouterInfo: {}", verified.error().message());
    return nullptr;
  }
  const auto hash = verified->info.hash();
  if (hash == identity_.hash()) return local_ ? &*local_ : nullptr;  // only we speak for us
  auto it = records_.find(hash);
  if (it != records_.end() && it->second.info.published >= verified->info.published) return &it->second;
  const bool new_floodfill = verified->info.floodfill && (it == records_.end() || !it->second.info.floodfill);
  auto& slot = records_[hash];
  slot = std::move(*verified);
  if (on_record_) on_record_(slot);
  if (new_floodfill) schedule_publish();  // it may be one of the K closest to our key
  return &slot;
}

std::vector<core::RouterHash> NetDb::closest_floodfills(const core::RouterHash& target, std::size_t k,
                                                        const std::set<core::RouterHash>& skip) const {
  std::vector<core::RouterHash> candidates;
  for (const auto& h : floodfills()) {
    if (!skip.count(h) && (!usable_ || usable_(h))) candidates.push_back(h);
  }
  return closest(target, candidates, k);
}

void NetDb::send(const core::RouterHash& to, const NetDbMessage& msg) {
  const core::Bytes block = encode_netdb_message(msg);
  if (links_.send(to, transport::BlockType::kMessage, block)) return;
  const SignedRouterInfo* record = find(to);
  if (!record) return;
  if (auto contact = record->info.contact()) {
    (void)links_.send_to(*contact, transport::BlockType::kMessage, block);
  }
}

void NetDb::on_peer_linked(const core::RouterHash& peer) {
  const SignedRouterInfo* record = find(peer);
  if (record && record->info.floodfill && peer != identity_.hash()) schedule_publish();
}

void NetDb::schedule_publish() {
  if (!running_ || publish_posted_) return;
  publish_posted_ = true;  // a burst of new floodfills costs one publish
  runtime_.post([this, alive = alive_] {
    if (!*alive) return;
    publish_posted_ = false;
    if (running_) publish();
  });
}

void NetDb::publish() {
  publish_router_info();
  publish_lease_sets();
}

void NetDb::publish_router_info() {
  if (!local_) return;
  local_->info.published = runtime_.wall_now();
  local_ = sign_router_info(identity_, local_->info);
  records_[identity_.hash()] = *local_;
  if (on_record_) on_record_(*local_);
  const auto target = routing_key(identity_.hash(), runtime_.wall_now());
  for (const auto& ff : closest_floodfills(target, config_.replication, {})) {
    send(ff, StoreMsg{identity_.hash(), local_->wire, /*flood=*/true});
  }
}

void NetDb::explore() {
  Lookup l;
  l.key = random_key();
  l.exploratory = true;
  start_lookup(std::move(l));
}

void NetDb::lookup(const core::RouterHash& key, LookupDone done) {
  for (auto& [id, l] : lookups_) {
    if (l.kind == RecordKind::kRouterInfo && !l.exploratory && !l.direct && l.key == key) {  // join it
      l.callbacks.push_back(std::move(done));
      return;
    }
  }
  Lookup l;
  l.key = key;
  l.callbacks.push_back(std::move(done));
  start_lookup(std::move(l));
}

void NetDb::bootstrap_from(const transport::PeerContact& seed) {
  Lookup l;  // the all-zero key asks the peer for its own RouterInfo
  l.direct = seed;
  start_lookup(std::move(l));
}

std::uint64_t NetDb::start_lookup(Lookup l) {
  ++(l.kind == RecordKind::kLeaseSet ? counters_.lease_set_lookups_started : counters_.lookups_started);
  l.target = routing_key(l.key, runtime_.wall_now());
  l.deadline = runtime_.now() + config_.lookup_timeout;
  const std::uint64_t id = next_lookup_id_++;
  lookups_.emplace(id, std::move(l));
  if (lookups_.size() == 1) lookup_timer_->arm(runtime_.now() + kLookupTick);
  advance(id);
  return id;
}

void NetDb::advance(std::uint64_t id) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  Lookup& l = it->second;
  const auto now = runtime_.now();
  for (auto q = l.in_flight.begin(); q != l.in_flight.end();) {
    q = now - q->second >= config_.query_timeout ? l.in_flight.erase(q) : std::next(q);
  }
  if (now >= l.deadline) return fail(id);
  if (l.direct) {
    if (l.asked.empty()) {
      l.asked.insert(core::RouterHash{});
      l.in_flight[core::RouterHash{}] = now;
      (void)links_.send_to(*l.direct, transport::BlockType::kMessage,
                           encode_netdb_message(LookupMsg{core::RouterHash{}, id, false, {}}));
    } else if (l.in_flight.empty()) {
      fail(id);
    }
    return;
  }
  const std::size_t budget = l.exploratory ? kExploreQueries : SIZE_MAX;
  const std::size_t room = config_.alpha > l.in_flight.size() ? config_.alpha - l.in_flight.size() : 0;
  const std::size_t can_ask = std::min(room, budget > l.asked.size() ? budget - l.asked.size() : 0);
  LookupMsg msg{l.key, id, l.exploratory, {}, l.kind};
  if (l.exploratory) {
    // Tell the floodfill whom we know already, so it answers with routers new to us.
    std::vector<core::RouterHash> known;
    for (const auto& [h, r] : records_) known.push_back(h);
    msg.exclude = closest(l.target, known, kMaxExcluded);
  }
  for (const auto& ff : closest_floodfills(l.target, can_ask, l.asked)) {
    l.asked.insert(ff);
    l.in_flight[ff] = now;
    send(ff, msg);
  }
  if (l.in_flight.empty()) fail(id);
}

void NetDb::finish(std::uint64_t id, const SignedRouterInfo* result) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  Lookup l = std::move(it->second);
  lookups_.erase(it);
  if (!l.exploratory && !l.direct) ++(result ? counters_.lookups_found : counters_.lookups_failed);
  for (auto& done : l.callbacks) done(result);
}

void NetDb::fail(std::uint64_t id) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  if (it->second.kind == RecordKind::kLeaseSet) return finish_lease_set(id, nullptr);
  finish(id, nullptr);
}

void NetDb::on_lookup_tick() {
  std::vector<std::uint64_t> ids;
  for (const auto& [id, l] : lookups_) ids.push_back(id);
  for (auto id : ids) advance(id);
  if (!lookups_.empty()) lookup_timer_->arm(runtime_.now() + kLookupTick);
}

void NetDb::on_message(const core::RouterHash& from, core::ByteView block) {
  auto msg = decode_netdb_message(block);
  if (!msg) {
    ++counters_.malformed_messages;
    return;
  }
  if (auto* s = std::get_if<StoreMsg>(&*msg)) {
    if (s->kind == RecordKind::kLeaseSet) return on_lease_set_store(from, *s);
    return on_store(from, std::move(*s));
  }
  if (auto* l = std::get_if<LookupMsg>(&*msg)) {
    if (l->kind == RecordKind::kLeaseSet) return on_lease_set_lookup(from, *l);
    return on_lookup(from, *l);
  }
  on_search_reply(from, std::move(std::get<SearchReplyMsg>(*msg)));
}

void NetDb::on_store(const core::RouterHash& from, StoreMsg msg) {
  ++counters_.stores_received;
  const SignedRouterInfo* record = accept(msg.record, msg.key);
  if (!record) return;
  ++counters_.stores_accepted;
  if (!config_.floodfill || !msg.flood) return;
  // Flood to the other floodfills closest to the key, so a lookup finds it at any of them.
  const auto target = routing_key(msg.key, runtime_.wall_now());
  for (const auto& ff : closest_floodfills(target, config_.replication, {from, msg.key})) {
    ++counters_.floods_sent;
    send(ff, StoreMsg{msg.key, msg.record, /*flood=*/false});
  }
}

void NetDb::on_lookup(const core::RouterHash& from, const LookupMsg& msg) {
  ++counters_.lookups_received;
  SearchReplyMsg reply;
  reply.lookup_id = msg.lookup_id;
  reply.key = msg.key;
  if (msg.key == core::RouterHash{}) {
    // Bootstrap: a peer that knows only our address and static key asks for our record.
    if (!local_) return;
    reply.key = identity_.hash();
    reply.found = local_->wire;
    return send(from, reply);
  }
  if (!msg.exploratory) {
    if (const auto* found = find(msg.key)) {
      reply.found = found->wire;
      return send(from, reply);
    }
  }
  if (!config_.floodfill) return;  // only floodfills answer for others
  reply.closer = closer_records(from, msg);
  send(from, reply);
}

std::vector<core::Bytes> NetDb::closer_records(const core::RouterHash& from, const LookupMsg& msg) const {
  std::set<core::RouterHash> skip(msg.exclude.begin(), msg.exclude.end());
  skip.insert(from);
  skip.insert(identity_.hash());
  std::vector<core::RouterHash> candidates;
  for (const auto& [h, r] : records_) {
    if (!skip.count(h) && (msg.exploratory || r.info.floodfill)) candidates.push_back(h);
  }
  const auto target = routing_key(msg.key, runtime_.wall_now());
  std::vector<core::Bytes> out;
  for (const auto& h : closest(target, candidates, kMaxCloserRecords)) out.push_back(records_.at(h).wire);
  return out;
}

void NetDb::on_search_reply(const core::RouterHash& from, SearchReplyMsg msg) {
  auto it = lookups_.find(msg.lookup_id);
  if (it == lookups_.end()) return;  // unsolicited or late: records in it are not taken
  const std::uint64_t id = it->first;
  Lookup& l = it->second;
  const bool direct = l.direct.has_value();
  const bool exploratory = l.exploratory;
  const auto key = l.key;
  const std::optional<transport::PeerContact> seed = l.direct;
  l.in_flight.erase(direct ? core::RouterHash{} : from);
  for (const auto& wire : msg.closer) accept(wire, std::nullopt);
  if (msg.kind != l.kind) msg.found.clear();  // a record of another kind answers nothing asked
  if (l.kind == RecordKind::kLeaseSet) return on_lease_set_reply(id, msg);
  if (!msg.found.empty()) {
    const SignedRouterInfo* record = accept(msg.found, direct ? std::optional<core::RouterHash>(from) : key);
    // A seed must be the router whose static key we dialed.
    if (record && direct && record->info.identity.static_key != seed->static_key) record = nullptr;
    if (record && !exploratory) return finish(id, record);
  }
  advance(id);
}

}  // namespace hop::netdb
