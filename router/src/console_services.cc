#include "console_services.h"

#include <chrono>

#include "hop/router/node.h"
#include "json_writer.h"
#include "netdb_format.h"

namespace hop::router {
namespace {

long long whole_seconds(core::Duration d) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

void write_edge_counters(JsonWriter& j, const proxy::EdgeCounters& c) {
  j.member("connections", c.connections)
      .member("active", std::uint64_t{c.active})
      .member("failed", c.failed)
      .member("bytes_in", c.bytes_in)
      .member("bytes_out", c.bytes_out);
}

void write_services(JsonWriter& j, const Node& node) {
  j.key("services").begin_array();
  for (const auto& s : node.services()) {
    j.begin_object()
        .member("name", s->name())
        .member("address", s->destination().hash().address())
        .member("target", s->target());
    write_edge_counters(j, s->counters());
    j.end_object();
  }
  j.end_array();
}

void write_clients(JsonWriter& j, const Node& node) {
  j.key("clients").begin_array();
  for (const auto& c : node.clients()) {
    j.begin_object()
        .member("name", c->name())
        .member("listen", c->listen_address())
        .member("remote", c->remote().address())
        .member("address", c->destination().hash().address());
    write_edge_counters(j, c->counters());
    j.end_object();
  }
  j.end_array();
}

void write_lease_set(JsonWriter& j, const netdb::SignedLeaseSet* signed_set) {
  if (!signed_set) {
    j.null();
    return;
  }
  const auto& ls = signed_set->lease_set;
  j.begin_object()
      .member("published", format_utc(ls.published))
      .member("expires", format_utc(ls.expires))
      .member("leases", std::uint64_t{ls.leases.size()})
      .end_object();
}

void write_destination_counters(JsonWriter& j, const tunnels::LocalDestinationCounters& c) {
  j.key("counters")
      .begin_object()
      .member("lease_sets_published", c.lease_sets_published)
      .member("lease_sets_pushed", c.lease_sets_pushed)
      .member("sessions_initiated", c.sessions_initiated)
      .member("sessions_accepted", c.sessions_accepted)
      .member("sessions_failed", c.sessions_failed)
      .member("messages_sent", c.messages_sent)
      .member("messages_received", c.messages_received)
      .member("messages_refused", c.messages_refused)
      .member("send_failures", c.send_failures)
      .member("path_changes", c.path_changes)
      .member("streams_opened", c.streams_opened)
      .member("streams_accepted", c.streams_accepted)
      .member("bytes_sent", c.bytes_sent)
      .member("bytes_received", c.bytes_received)
      .end_object();
}

void write_sessions(JsonWriter& j, const tunnels::LocalDestination& d, const ConsoleTimes& times) {
  j.key("sessions").begin_array();
  for (const auto& s : d.sessions()) {
    j.begin_object()
        .member("remote", s.remote.address())
        .member("state", s.state)
        .member("initiator", s.initiator)
        .member("streams", std::uint64_t{s.streams})
        .member("path_changes", s.path_changes)
        .member("messages_sent", s.messages_sent)
        .member("messages_received", s.messages_received)
        .member("age_s", whole_seconds(times.now - s.created))
        .member("last_receive_s", whole_seconds(times.now - s.last_receive))
        .end_object();
  }
  j.end_array();
}

void write_destination(JsonWriter& j, const DestinationView& v, const ConsoleTimes& times) {
  const auto& d = *v.destination;
  j.begin_object()
      .member("address", d.hash().address())
      .member("name", v.name)
      .member("pool", d.pool())
      .key("tunnels")
      .begin_object()
      .member("inbound", std::uint64_t{v.inbound})
      .member("outbound", std::uint64_t{v.outbound})
      .end_object();
  write_lease_set(j.key("lease_set"), d.lease_set());
  write_destination_counters(j, d.counters());
  j.member("open_streams", std::uint64_t{d.open_streams()});
  write_sessions(j, d, times);
  j.end_object();
}

}  // namespace

PoolNames pool_names(const Node& node) {
  PoolNames names{{tunnels::kExploratoryPool, "exploratory"}};
  for (const auto& s : node.services()) names[s->destination().pool()] = "service:" + s->name();
  for (const auto& c : node.clients()) names[c->destination().pool()] = "client:" + c->name();
  if (const auto* gateway = node.overlay_gateway()) names[gateway->destination().pool()] = "proxy:gateway";
  return names;
}

std::string pool_name(const PoolNames& names, tunnels::PoolId pool) {
  const auto it = names.find(pool);
  return it != names.end() ? it->second : "pool " + std::to_string(pool);
}

std::size_t DestinationView::leases() const {
  const auto* ls = destination->lease_set();
  return ls ? ls->lease_set.leases.size() : 0;
}

std::vector<DestinationView> read_destinations(const Node& node) {
  const auto names = pool_names(node);
  std::map<tunnels::PoolId, DestinationView> by_pool;
  for (const auto* d : node.destinations()) by_pool[d->pool()] = {.destination = d, .name = pool_name(names, d->pool())};
  for (const auto& t : node.tunnels().tunnels()) {
    const auto it = by_pool.find(t.pool);
    if (it == by_pool.end() || t.state != tunnels::TunnelState::kEstablished) continue;
    ++(t.direction == tunnels::Direction::kInbound ? it->second.inbound : it->second.outbound);
  }
  std::vector<DestinationView> out;
  for (auto& [pool, v] : by_pool) out.push_back(std::move(v));
  return out;
}

std::string services_json(const Node& node, const ConsoleTimes& times) {
  JsonWriter j;
  j.begin_object();
  write_services(j, node);
  write_clients(j, node);
  j.key("destinations").begin_array();
  for (const auto& v : read_destinations(node)) write_destination(j, v, times);
  j.end_array().end_object();
  return j.str();
}

}  // namespace hop::router
