// The [service.NAME] and [client.NAME] config keys (docs/services.md, docs/operations.md).
#include <algorithm>

#include "config_setters.h"
#include "hop/netdb/destination.h"
#include "hop/transport/link_layer.h"

namespace hop::router {
namespace {

constexpr std::size_t kMaxEdges = 256;

bool is_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
  });
}

template <class Edge>
Edge& edge_named(std::vector<Edge>& edges, std::string_view name) {
  for (auto& e : edges) {
    if (e.name == name) return e;
  }
  edges.push_back({});
  edges.back().name = name;
  return edges.back();
}

// The pool keys both kinds share; nullopt when `field` is not one of them.
std::optional<core::Status> apply_pool_key(DestinationPoolKeys& pool, std::string_view field, const std::string& key,
                                           const ConfigEntry& e) {
  auto count = [&](std::optional<std::size_t>& out, std::size_t max) -> core::Status {
    auto v = parse_int<std::size_t>(key, e, field == "length" ? 0 : 1, max);
    if (!v) return v.error();
    out = *v;
    return {};
  };
  if (field == "inbound_quantity") return count(pool.inbound_quantity, 6);
  if (field == "outbound_quantity") return count(pool.outbound_quantity, 6);
  if (field == "length") return count(pool.length, tunnels::kMaxHops);
  if (field == "lifetime") {
    auto d = parse_duration(e.value);
    if (!d || *d < tunnels::kMinLifetime || *d > tunnels::kMaxLifetime) {
      return bad_value(key, e, "a duration from 10s to 10m (hops refuse tunnels that live longer)");
    }
    pool.lifetime = *d;
    return core::Status{};
  }
  return std::nullopt;
}

core::Status unknown(const std::string& key, const ConfigEntry& e, std::string_view known) {
  return core::make_error(core::Errc::kInvalidArgument, e.origin + ": unknown config key '" + key + "' (" +
                                                             std::string(known) + ")");
}

}  // namespace

bool is_edge_key(std::string_view key) { return key.starts_with("service.") || key.starts_with("client."); }

core::Status apply_edge_key(NodeConfig& c, const std::string& key, const ConfigEntry& e) {
  const bool service = key.starts_with("service.");
  std::string_view rest = std::string_view(key).substr(service ? 8 : 7);
  const auto dot = rest.find('.');
  const auto name = rest.substr(0, dot);
  if (dot == std::string_view::npos || !is_name(name)) {
    return core::make_error(core::Errc::kInvalidArgument,
                            e.origin + ": '" + key + "': expected " + (service ? "service" : "client") +
                                ".NAME.KEY with NAME of letters, digits, '_' and '-' (at most 64)");
  }
  const auto field = rest.substr(dot + 1);
  if ((service ? c.services.size() : c.clients.size()) >= kMaxEdges) {
    return core::make_error(core::Errc::kInvalidArgument, e.origin + ": more than 256 services or clients");
  }
  if (service) {
    ServiceConfig& s = edge_named(c.services, name);
    if (auto st = apply_pool_key(s.pool, field, key, e)) return *st;
    if (field == "keys") {
      s.keys = e.value;
      return {};
    }
    if (field == "target") {
      auto hp = transport::parse_host_port(e.value, /*allow_any_port=*/false);
      if (!hp) return bad_value(key, e, "a numeric address and port of the local backend, e.g. 127.0.0.1:8080");
      s.target_host = hp->host;
      s.target_port = hp->port;
      return {};
    }
    return unknown(key, e, "a service has keys, target, inbound_quantity, outbound_quantity, length, lifetime");
  }
  ClientTunnelConfig& t = edge_named(c.clients, name);
  if (auto st = apply_pool_key(t.pool, field, key, e)) return *st;
  if (field == "keys") {
    t.keys = e.value;
    return {};
  }
  if (field == "listen") {
    auto hp = transport::parse_host_port(e.value, /*allow_any_port=*/true);
    if (!hp) return bad_value(key, e, "a numeric address and port to listen on, e.g. 127.0.0.1:9000");
    t.listen_host = hp->host;
    t.listen_port = hp->port;
    return {};
  }
  if (field == "destination") {
    auto parsed = netdb::parse_address(e.value);
    if (!parsed) return bad_value(key, e, "a destination address (52 base32 characters and .hop): " + parsed.error().message());
    t.destination = e.value;
    return {};
  }
  return unknown(key, e, "a client has listen, destination, keys, inbound_quantity, outbound_quantity, length, lifetime");
}

core::Status check_edges(const NodeConfig& c) {
  for (const auto& s : c.services) {
    if (s.target_port == 0) {
      return core::make_error(core::Errc::kInvalidArgument, "service." + s.name + ".target is not set");
    }
  }
  for (const auto& t : c.clients) {
    if (t.destination.empty()) {
      return core::make_error(core::Errc::kInvalidArgument, "client." + t.name + ".destination is not set");
    }
  }
  return {};
}

void add_edge_key_docs(std::vector<ConfigKeyDoc>& docs) {
  docs.insert(docs.end(), {
    {"service.NAME.target", "(required)", "host:port of the local TCP backend each stream to this service is connected to"},
    {"service.NAME.keys", "service-NAME.dst", "the service's destination key file (relative to data_dir); created when missing"},
    {"service.NAME.inbound_quantity", "tunnels.inbound_quantity", "inbound tunnels of the service's destination (1-6)"},
    {"service.NAME.outbound_quantity", "tunnels.outbound_quantity", "outbound tunnels of the service's destination (1-6)"},
    {"service.NAME.length", "tunnels.length", "hops per tunnel of the service's destination (0-7)"},
    {"service.NAME.lifetime", "tunnels.lifetime", "tunnel lifetime of the service's destination (10s-10m)"},
    {"client.NAME.listen", "127.0.0.1:0", "address:port where TCP clients connect; each connection becomes a stream"},
    {"client.NAME.destination", "(required)", "the remote destination (52 base32 characters + .hop) connections go to"},
    {"client.NAME.keys", "(a new destination each start)", "a key file for the client's own destination, to keep its address"},
    {"client.NAME.inbound_quantity", "tunnels.inbound_quantity", "inbound tunnels of the client's destination (1-6)"},
    {"client.NAME.outbound_quantity", "tunnels.outbound_quantity", "outbound tunnels of the client's destination (1-6)"},
    {"client.NAME.length", "tunnels.length", "hops per tunnel of the client's destination (0-7)"},
    {"client.NAME.lifetime", "tunnels.lifetime", "tunnel lifetime of the client's destination (10s-10m)"},
  });
}

}  // namespace hop::router
