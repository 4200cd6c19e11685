#include "console_api.h"

#include <chrono>
#include <unordered_map>

#include "console_proxy.h"
#include "console_services.h"
#include "hop/router/node.h"
#include "json_writer.h"
#include "netdb_format.h"

namespace hop::router {
namespace {

using tunnels::Direction;
using tunnels::HopRole;

double to_ms(core::Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::optional<double> to_ms(const std::optional<core::Duration>& d) {
  if (!d) return std::nullopt;
  return to_ms(*d);
}

long long whole_seconds(core::Duration d) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

// ISO 8601 UTC, or nullopt for an unset (epoch) time.
std::optional<std::string> utc_or_null(core::WallTime t) {
  if (t == core::WallTime{}) return std::nullopt;
  return format_utc(t);
}

std::string_view direction_name(Direction d) { return d == Direction::kInbound ? "inbound" : "outbound"; }

std::string_view role_name(HopRole role) {
  switch (role) {
    case HopRole::kInboundGateway: return "inbound_gateway";
    case HopRole::kParticipant: return "participant";
    case HopRole::kOutboundEndpoint: return "outbound_endpoint";
  }
  return "unknown";
}

std::size_t established_tunnels(const Node& node, Direction direction) {
  std::size_t n = 0;
  for (const auto& t : node.tunnels().tunnels()) {
    if (t.direction == direction && t.state == tunnels::TunnelState::kEstablished) ++n;
  }
  return n;
}

void write_ban(JsonWriter& j, const netdb::Ban* ban, core::WallTime now) {
  if (!ban) {
    j.null();
    return;
  }
  j.begin_object()
      .member("reason", ban->reason)
      .member("start", format_utc(ban->start))
      .member("end", format_utc(ban->end))
      .member("seconds_left", std::max(0LL, seconds_between(now, ban->end)))
      .end_object();
}

// Linked peers and their links' smoothed RTT (nullopt: not measured yet).
using LinkRtts = std::unordered_map<core::RouterHash, std::optional<core::Duration>>;

void write_profile(JsonWriter& j, const core::RouterHash& peer, const netdb::PeerProfile& p,
                   const Node& node, const ConsoleTimes& times, const LinkRtts& links) {
  const auto terms = netdb::score_terms(p, times.wall_now);
  const auto link = links.find(peer);
  const bool linked = link != links.end();
  j.begin_object().member("hash", peer.to_string()).member("score", netdb::score(p, times.wall_now));
  j.key("score_terms")
      .begin_object()
      .member("reachability", terms.reachability)
      .member("latency", terms.latency)
      .member("bandwidth", terms.bandwidth)
      .member("builds", terms.builds)
      .member("freshness", terms.freshness)
      .end_object();
  j.key("reachability")
      .begin_object()
      .member("successes", std::uint64_t{p.window_successes()})
      .member("failures", std::uint64_t{p.window_failures()})
      .end_object();
  j.member("consecutive_failures", p.consecutive_failures)
      .member("srtt_ms", p.rtt_samples > 0 ? std::optional(to_ms(p.srtt)) : std::nullopt)
      .member("rttvar_ms", p.rtt_samples > 0 ? std::optional(to_ms(p.rttvar)) : std::nullopt)
      .member("bandwidth_bps", p.bandwidth_samples > 0 ? std::optional(p.bandwidth) : std::nullopt)
      .member("last_seen", utc_or_null(p.last_seen))
      .member("last_tested", utc_or_null(p.last_tested));
  write_ban(j.key("ban"), node.peers().ban_of(peer), times.wall_now);
  j.member("linked", linked)
      .member("link_rtt_ms", linked ? to_ms(link->second) : std::nullopt)
      .end_object();
}

void write_lease_sets(JsonWriter& j, const std::vector<netdb::NetDb::HeldLeaseSet>& held, core::WallTime now) {
  j.key("lease_sets").begin_array();
  for (const auto& h : held) {
    const auto& ls = h.lease_set->lease_set;
    j.begin_object()
        .member("destination", ls.hash().address())
        .member("local", h.local)
        .member("published", format_utc(ls.published))
        .member("expires", format_utc(ls.expires))
        .member("expires_in_s", seconds_between(now, ls.expires))
        .key("leases")
        .begin_array();
    for (const auto& lease : ls.leases) {
      j.begin_object()
          .member("gateway", lease.gateway.to_string())
          .member("tunnel_id", lease.tunnel_id)
          .member("expires", format_utc(lease.expires))
          .member("expires_in_s", seconds_between(now, lease.expires))
          .end_object();
    }
    j.end_array().end_object();
  }
  j.end_array();
}

void write_lease_set_counters(JsonWriter& j, const netdb::NetDbCounters& c) {
  j.key("lease_set_counters")
      .begin_object()
      .member("stores_accepted", c.lease_set_stores_accepted)
      .member("lookups_started", c.lease_set_lookups_started)
      .member("lookups_found", c.lease_set_lookups_found)
      .member("lookups_failed", c.lease_set_lookups_failed)
      .member("refused_full", c.lease_sets_refused_full)
      .key("refusals")
      .begin_object();
  for (std::size_t r = 0; r < netdb::kLeaseSetRefusalCount; ++r) {
    const auto reason = static_cast<netdb::LeaseSetRefusal>(r);
    j.member(lease_set_refusal_name(reason), c.lease_set_refusals[reason]);
  }
  j.end_object().end_object();
}

}  // namespace

std::string lease_set_refusal_name(netdb::LeaseSetRefusal reason) {
  std::string name(netdb::to_string(reason));
  for (char& c : name) c = c == '-' ? '_' : c;
  return name;
}

bool is_api_path(std::string_view path) {
  return path == "/api/v1/status" || path == "/api/v1/peers" || path == "/api/v1/netdb" ||
         path == "/api/v1/tunnels" || path == "/api/v1/transit" || path == "/api/v1/proxy" ||
         path == "/api/v1/services";
}

std::optional<std::string> api_json(std::string_view path, const Node& node, const ConsoleTimes& times) {
  if (path == "/api/v1/status") return status_json(node, times);
  if (path == "/api/v1/peers") return peers_json(node, times);
  if (path == "/api/v1/netdb") return netdb_json(node, times);
  if (path == "/api/v1/tunnels") return tunnels_json(node, times);
  if (path == "/api/v1/transit") return transit_json(node, times);
  if (path == "/api/v1/proxy") return proxy_json(node, times);
  if (path == "/api/v1/services") return services_json(node, times);
  return std::nullopt;
}

std::string status_json(const Node& node, const ConsoleTimes& times) {
  const auto& tm = node.tunnels();
  JsonWriter j;
  j.begin_object()
      .member("identity", node.identity().hash().to_string())
      .member("network_id", node.config().network_id)
      .member("uptime_s", whole_seconds(times.now - times.started))
      .member("listen", node.links().local_contact().address())
      .member("floodfill", node.config().floodfill);
  j.key("links")
      .begin_object()
      .member("count", std::uint64_t{node.links().links().size()})
      .member("connections", std::uint64_t{node.links().open_connections()})
      .member("soft_limit", std::uint64_t{node.config().limits.soft})
      .member("hard_limit", std::uint64_t{node.config().limits.hard})
      .end_object();
  j.key("tunnels")
      .begin_object()
      .member("inbound", std::uint64_t{established_tunnels(node, Direction::kInbound)})
      .member("outbound", std::uint64_t{established_tunnels(node, Direction::kOutbound)})
      .member("build_success_rate_10m", tm.build_success_rate(std::chrono::minutes(10)))
      .member("build_success_rate_since_start", tm.build_success_rate_since_start())
      .end_object();
  j.member("transit_tunnels", std::uint64_t{tm.transit().size()})
      .member("bans", std::uint64_t{node.peers().bans().size()})
      .member("netdb_routers", std::uint64_t{node.netdb().size()})
      .end_object();
  return j.str();
}

std::string peers_json(const Node& node, const ConsoleTimes& times) {
  JsonWriter j;
  j.begin_object().key("peers").begin_array();
  LinkRtts links;
  for (const auto& l : node.links().links()) links.emplace(l.peer, l.rtt);
  for (const auto& [peer, profile] : node.peers().profiles()) write_profile(j, peer, profile, node, times, links);
  j.end_array().end_object();
  return j.str();
}

std::string netdb_json(const Node& node, const ConsoleTimes& times) {
  JsonWriter j;
  j.begin_object().key("routers").begin_array();
  for (const auto* record : node.netdb().routers()) {
    const auto& info = record->info;
    j.begin_object().member("hash", info.hash().to_string());
    if (info.addresses.empty()) {
      j.member("address", std::optional<std::string>{});
    } else {
      j.member("address", format_address(info.addresses.front()));
    }
    j.member("floodfill", info.floodfill)
        .member("bandwidth_kbps", info.bandwidth_kbps)
        .member("region", printable(info.region))
        .member("published", format_utc(info.published))
        .end_object();
  }
  j.end_array();
  write_lease_sets(j, node.netdb().lease_sets(), times.wall_now);
  write_lease_set_counters(j, node.netdb().counters());
  j.end_object();
  return j.str();
}

std::string tunnels_json(const Node& node, const ConsoleTimes& times) {
  const auto& tm = node.tunnels();
  const auto names = pool_names(node);
  JsonWriter j;
  j.begin_object()
      .member("build_success_rate_10m", tm.build_success_rate(std::chrono::minutes(10)))
      .member("build_success_rate_since_start", tm.build_success_rate_since_start())
      .key("tunnels")
      .begin_array();
  for (const auto& t : tm.tunnels()) {
    const bool established = t.state == tunnels::TunnelState::kEstablished;
    j.begin_object()
        .member("id", t.id)
        .member("pool", t.pool)
        .member("pool_name", pool_name(names, t.pool))
        .member("direction", direction_name(t.direction))
        .member("state", tunnels::to_string(t.state))
        .key("hops")
        .begin_array();
    for (const auto& h : t.hops) {
      j.begin_object()
          .member("hash", h.router.to_string())
          .member("address", h.address)
          .member("tunnel_id", h.receive_id)
          .end_object();
    }
    j.end_array()
        .member("age_s", established ? std::optional(whole_seconds(times.now - t.created)) : std::nullopt)
        .member("expires_in_s", established ? std::optional(whole_seconds(t.expires - times.now)) : std::nullopt)
        .member("build_latency_ms", to_ms(t.build_latency))
        .member("latency_ms", to_ms(t.latency))
        .member("bytes", t.bytes)
        .member("cells", t.cells)
        .member("test_failures", t.test_failures)
        .end_object();
  }
  j.end_array().end_object();
  return j.str();
}

std::string transit_json(const Node& node, const ConsoleTimes& times) {
  JsonWriter j;
  j.begin_object().key("transit").begin_array();
  for (const auto& t : node.tunnels().transit()) {
    j.begin_object()
        .member("receive_id", t.receive_id)
        .member("role", role_name(t.role))
        .member("previous", t.previous.to_string());
    if (t.next == core::RouterHash{}) {
      j.member("next", std::optional<std::string>{});
    } else {
      j.member("next", t.next.to_string());
    }
    j.member("age_s", whole_seconds(times.now - t.created))
        .member("expires_in_s", whole_seconds(t.expires - times.now))
        .member("cells", t.cells)
        .member("bytes", t.bytes)
        .member("dropped", t.dropped)
        .end_object();
  }
  j.end_array().end_object();
  return j.str();
}

}  // namespace hop::router
