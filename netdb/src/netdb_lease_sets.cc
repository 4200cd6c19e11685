// NetDb, the LeaseSet half: our destinations' LeaseSets, those a floodfill stores and floods,
// lookups of them and the cache. The lookup machinery (advance, timeouts) is shared with
// RouterInfos in netdb.cc. docs/netdb.md, "In the DHT".
#include <spdlog/spdlog.h>

#include "hop/netdb/errors.h"
#include "hop/netdb/kademlia.h"
#include "hop/netdb/netdb.h"

namespace hop::netdb {
namespace {

bool is_live(const SignedLeaseSet& s, core::WallTime now) { return s.lease_set.expires > now; }

}  // namespace

void NetDb::publish_lease_set(const SignedLeaseSet& lease_set) {
  const auto destination = lease_set.lease_set.hash();
  lease_sets_.erase(destination);  // ours now: only we speak for it
  const auto& slot = local_lease_sets_[destination] = lease_set;
  if (running_) store_lease_set_at_floodfills(slot);
}

void NetDb::withdraw_lease_set(const DestinationHash& destination) {
  local_lease_sets_.erase(destination);
  lease_sets_.erase(destination);
}

void NetDb::lookup_lease_set(const DestinationHash& destination, LeaseSetDone done, LeaseSetLookup how) {
  if (how == LeaseSetLookup::kHeldFirst) {
    if (const SignedLeaseSet* held = find_lease_set(destination)) return done(held);
  }
  const auto key = dht_key(destination);
  for (auto& [id, l] : lookups_) {
    if (l.kind == RecordKind::kLeaseSet && l.key == key) {  // join the lookup already running
      l.lease_set_callbacks.push_back(std::move(done));
      return;
    }
  }
  Lookup l;
  l.kind = RecordKind::kLeaseSet;
  l.key = key;
  l.lease_set_callbacks.push_back(std::move(done));
  start_lookup(std::move(l));
}

const SignedLeaseSet* NetDb::find_lease_set(const DestinationHash& destination) const {
  const auto now = runtime_.wall_now();
  if (auto it = local_lease_sets_.find(destination); it != local_lease_sets_.end()) {
    return is_live(it->second, now) ? &it->second : nullptr;
  }
  auto it = lease_sets_.find(destination);
  return it != lease_sets_.end() && is_live(it->second, now) ? &it->second : nullptr;
}

core::Result<const SignedLeaseSet*> NetDb::add_lease_set(core::ByteView wire, std::optional<DestinationHash> expected) {
  auto verified = verify_lease_set_counted(wire, expected);
  if (!verified) return verified.error();
  const auto [kept, held] = keep_lease_set(*verified);
  if (kept == Kept::kFull) {
    return core::make_error(Errc::kRefused, "LeaseSet not kept: " + std::to_string(lease_sets_.size()) +
                                                " others' LeaseSets are held already (the limit)");
  }
  return held;
}

std::vector<NetDb::HeldLeaseSet> NetDb::lease_sets() const {
  std::vector<HeldLeaseSet> out;
  out.reserve(local_lease_sets_.size() + lease_sets_.size());
  for (const auto& [destination, s] : local_lease_sets_) out.push_back({&s, true});
  for (const auto& [destination, s] : lease_sets_) out.push_back({&s, false});
  return out;
}

core::Result<SignedLeaseSet> NetDb::verify_lease_set_counted(core::ByteView wire,
                                                            std::optional<DestinationHash> expected) {
  LeaseSetRefusal refusal{};
  auto verified = verify_lease_set(
      wire, {.network_id = config_.network_id, .now = runtime_.wall_now(), .expected_hash = expected}, &refusal);
  if (!verified) {
    counters_.lease_set_refusals.count(refusal);
    spdlog::debug("NetDB refused a LeaseSet: {}", verified.error().message());
  }
  return verified;
}

std::pair<NetDb::Kept, const SignedLeaseSet*> NetDb::keep_lease_set(const SignedLeaseSet& verified) {
  const auto destination = verified.lease_set.hash();
  if (auto own = local_lease_sets_.find(destination); own != local_lease_sets_.end()) {
    return {Kept::kOurs, &own->second};
  }
  auto it = lease_sets_.find(destination);
  if (it != lease_sets_.end()) {
    if (it->second.lease_set.published >= verified.lease_set.published) return {Kept::kNotNewer, &it->second};
    it->second = verified;
    return {Kept::kNew, &it->second};
  }
  // Bounded memory: anyone can sign LeaseSets for fresh destinations. Expired ones are dropped
  // by the lease-set timer and free their room.
  if (lease_sets_.size() >= config_.max_stored_lease_sets) {
    ++counters_.lease_sets_refused_full;
    return {Kept::kFull, nullptr};
  }
  return {Kept::kNew, &lease_sets_.emplace(destination, verified).first->second};
}

void NetDb::on_lease_set_store(const core::RouterHash& from, const StoreMsg& msg) {
  ++counters_.stores_received;
  if (!config_.floodfill) return;  // only floodfills hold others' LeaseSets for the DHT
  auto verified = verify_lease_set_counted(msg.record, destination_of(msg.key));
  if (!verified) return;
  // Only a new or newer set is flooded: a store of what we hold already ends here.
  if (keep_lease_set(*verified).first != Kept::kNew) return;
  ++counters_.lease_set_stores_accepted;
  if (!msg.flood) return;
  const auto target = routing_key(msg.key, runtime_.wall_now());
  for (const auto& ff : closest_floodfills(target, config_.replication, {from})) {
    ++counters_.floods_sent;
    send(ff, StoreMsg{msg.key, msg.record, /*flood=*/false, RecordKind::kLeaseSet});
  }
}

void NetDb::on_lease_set_lookup(const core::RouterHash& from, const LookupMsg& msg) {
  ++counters_.lookups_received;
  SearchReplyMsg reply;
  reply.lookup_id = msg.lookup_id;
  reply.key = msg.key;
  reply.kind = RecordKind::kLeaseSet;
  const auto destination = destination_of(msg.key);
  const auto now = runtime_.wall_now();
  const SignedLeaseSet* found = nullptr;
  if (auto own = local_lease_sets_.find(destination); own != local_lease_sets_.end()) {
    if (is_live(own->second, now)) found = &own->second;
  } else if (config_.floodfill) {  // only floodfills answer for others
    auto it = lease_sets_.find(destination);
    if (it != lease_sets_.end() && is_live(it->second, now)) found = &it->second;
  }
  if (found) {
    reply.found = found->wire;
    return send(from, reply);
  }
  if (!config_.floodfill) return;
  reply.closer = closer_records(from, msg);
  send(from, reply);
}

void NetDb::on_lease_set_reply(std::uint64_t id, const SearchReplyMsg& msg) {
  if (!msg.found.empty()) {
    // Against the key asked for: a floodfill cannot answer with another destination's set.
    auto verified = verify_lease_set_counted(msg.found, destination_of(lookups_.at(id).key));
    if (verified) {
      const auto [kept, held] = keep_lease_set(*verified);
      // When not kept (the limit) the caller still gets it, for the duration of the call.
      const bool use_held = held && is_live(*held, runtime_.wall_now());
      return finish_lease_set(id, use_held ? held : &*verified);
    }
  }
  advance(id);
}

void NetDb::finish_lease_set(std::uint64_t id, const SignedLeaseSet* result) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  Lookup l = std::move(it->second);
  lookups_.erase(it);
  ++(result ? counters_.lease_set_lookups_found : counters_.lease_set_lookups_failed);
  if (!result) result = find_lease_set(destination_of(l.key));  // a refresh that found nothing newer
  for (auto& done : l.lease_set_callbacks) done(result);
}

void NetDb::store_lease_set_at_floodfills(const SignedLeaseSet& lease_set) {
  const auto now = runtime_.wall_now();
  if (!is_live(lease_set, now)) return;  // every floodfill would refuse it
  const auto key = dht_key(lease_set.lease_set.hash());
  for (const auto& ff : closest_floodfills(routing_key(key, now), config_.replication, {})) {
    send(ff, StoreMsg{key, lease_set.wire, /*flood=*/true, RecordKind::kLeaseSet});
  }
}

void NetDb::publish_lease_sets() {
  for (const auto& [destination, s] : local_lease_sets_) store_lease_set_at_floodfills(s);
}

void NetDb::purge_lease_sets() {
  // Ours stay until replaced or withdrawn (the owner re-signs them); they are just not published.
  const auto now = runtime_.wall_now();
  std::erase_if(lease_sets_, [now](const auto& entry) { return !is_live(entry.second, now); });
}

}  // namespace hop::netdb
