#include "console_proxy.h"

#include <chrono>

#include "hop/router/node.h"
#include "hop/router/proxy_host.h"
#include "json_writer.h"
#include "netdb_format.h"

namespace hop::router {
namespace {

std::string_view protocol_name(const std::optional<proxy::ProxyVersions>& versions) {
  if (!versions) return "off";
  switch (*versions) {
    case proxy::ProxyVersions::kV1: return "v1";
    case proxy::ProxyVersions::kV2: return "v2";
    case proxy::ProxyVersions::kEither: return "any";
  }
  return "?";
}

std::string endpoint_text(const boost::asio::ip::tcp::endpoint& e) {
  const auto host = e.address().to_string();
  return (e.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(e.port());
}

std::vector<ProxyListenerView> listeners_of(const ProxyHost& host) {
  std::vector<ProxyListenerView> out;
  const auto& configured = host.shared().config.listeners;
  const auto& bound = host.endpoints();
  for (std::size_t i = 0; i < configured.size(); ++i) {
    // endpoints() follows the config's order; before binding (never, once started) keep the config's.
    const std::string address = i < bound.size() ? endpoint_text(bound[i])
                                                 : configured[i].host + ":" + std::to_string(configured[i].port);
    out.push_back({address, configured[i].app, std::string(protocol_name(configured[i].proxy_protocol))});
  }
  return out;
}

ProxyBackendView backend_view(const proxy::Backend& b, const proxy::BackendState* state, core::TimePoint now,
                              const proxy::BreakerPolicy& policy) {
  ProxyBackendView v{.backend = b};
  if (!state) return v;  // no slot: left out of selection, nothing measured
  v.breaker = state->breaker(now, policy);
  v.active = state->active();
  v.connections_total = state->connections_total();
  v.bytes_to_backend = state->bytes_to_backend();
  v.bytes_from_backend = state->bytes_from_backend();
  v.connect_time_ms = static_cast<double>(state->connect_time_us()) / 1000.0;
  for (std::size_t e = 0; e < kBackendErrorCount; ++e) v.errors[e] = state->errors(static_cast<proxy::BackendError>(e));
  return v;
}

std::vector<ProxyBackendView> backends_of(const ProxyHost& host, core::TimePoint now) {
  std::vector<ProxyBackendView> out;
  const auto snapshot = host.snapshot();  // held: the table stays alive while we read it
  if (!snapshot || !snapshot->table) return out;
  const auto& table = *snapshot->table;
  const auto& backends = table.table().backends;
  const auto& policy = host.shared().config.breaker;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    const auto slot = table.slot_of(static_cast<std::uint16_t>(i));
    out.push_back(backend_view(backends[i], slot ? &host.shared().slots[*slot] : nullptr, now, policy));
  }
  return out;
}

void read_counters(const proxy::ProxyCounters& c, ProxyView& v) {
  v.current = c.current();
  v.accepted = c.accepted();
  for (std::size_t r = 0; r < kRefusalCount; ++r) v.refused[r] = c.refused(static_cast<proxy::Refusal>(r));
  v.accept_errors = c.accept_errors();
  v.geoip_misses = c.geoip_misses();
  v.geoip_errors = c.geoip_errors();
  v.override_hits = c.override_hits();
  v.affinity_hits = c.affinity_hits();
  v.selection_buckets = c.selection_buckets();
  v.selection_sum_ns = c.selection_sum_ns();
}

void write_listeners(JsonWriter& j, const ProxyView& v) {
  j.key("listeners").begin_array();
  for (const auto& l : v.listeners) {
    j.begin_object().member("address", l.address).member("app", l.app).member("proxy_protocol", l.proxy_protocol).end_object();
  }
  j.end_array();
}

void write_routing(JsonWriter& j, const proxy::ReloadStatus& r) {
  j.key("routing")
      .begin_object()
      .member("path", r.routing_db)
      .member("version", r.version)
      .member("loaded_at", format_utc_or_empty(r.loaded_at))
      .member("backends", std::uint64_t{r.backends})
      .member("overrides", std::uint64_t{r.overrides})
      .key("skipped")
      .begin_array();
  for (const auto& s : r.skipped) {
    j.begin_object().member("table", s.table).member("key", s.key).member("reason", s.reason).end_object();
  }
  j.end_array()
      .member("last_error", r.last_error)
      .member("last_error_at", format_utc_or_empty(r.last_error_at))
      .member("geoip", r.geoip)
      .member("geoip_error", r.geoip_error)
      .end_object();
}

void write_counters(JsonWriter& j, const ProxyView& v) {
  j.key("connections")
      .begin_object()
      .member("current", v.current)
      .member("accepted_total", v.accepted)
      .member("max", v.max_connections)
      .end_object();
  j.key("refused").begin_object();
  for (std::size_t r = 0; r < kRefusalCount; ++r) j.member(proxy::to_string(static_cast<proxy::Refusal>(r)), v.refused[r]);
  j.end_object()
      .member("accept_errors", v.accept_errors)
      .member("geoip_misses", v.geoip_misses)
      .member("geoip_errors", v.geoip_errors)
      .member("override_hits", v.override_hits)
      .member("affinity_hits", v.affinity_hits);
  j.key("affinity")
      .begin_object()
      .member("entries", std::uint64_t{v.affinity_entries})
      .member("capacity", std::uint64_t{v.affinity_capacity})
      .member("ttl_seconds", static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(v.affinity_ttl).count()))
      .end_object();
  j.key("selection").begin_object().member("count", v.selections()).member("mean_us", v.selection_mean_us()).end_object();
}

void write_backend(JsonWriter& j, const ProxyBackendView& v) {
  const auto& b = v.backend;
  j.begin_object()
      .member("id", b.id)
      .member("app", b.app)
      .member("region", b.region)
      .member("country", b.country)
      .member("continent", b.continent)
      .member("target", b.target_text)
      .member("weight", b.weight)
      .member("soft_limit", b.soft_limit)
      .member("hard_limit", b.hard_limit)
      .member("healthy", b.healthy)
      .member("breaker", proxy::to_string(v.breaker))
      .member("active", v.active)
      .member("connections_total", v.connections_total)
      .member("bytes_to_backend", v.bytes_to_backend)
      .member("bytes_from_backend", v.bytes_from_backend)
      .member("connect_time_ms", v.connect_time_ms)
      .key("errors")
      .begin_object();
  for (std::size_t e = 0; e < kBackendErrorCount; ++e) {
    j.member(proxy::to_string(static_cast<proxy::BackendError>(e)), v.errors[e]);
  }
  j.end_object().end_object();
}

}  // namespace

std::string format_utc_or_empty(core::WallTime t) { return t == core::WallTime{} ? "" : format_utc(t); }

double ProxyView::selection_mean_us() const {
  const auto n = selections();
  return n == 0 ? 0.0 : static_cast<double>(selection_sum_ns) / 1000.0 / static_cast<double>(n);
}

ProxyView read_proxy_view(const ProxyHost& host, core::TimePoint now) {
  const auto& shared = host.shared();
  ProxyView v;
  v.workers = host.workers();
  v.listeners = listeners_of(host);
  if (const auto status = host.status()) v.routing = *status;
  v.max_connections = shared.limits.max_connections();  // live: SIGHUP may change it
  read_counters(shared.counters, v);
  v.affinity_entries = host.affinity_bindings();
  v.affinity_capacity = shared.affinity.capacity();
  v.affinity_ttl = shared.affinity.ttl();
  v.backends = backends_of(host, now);
  return v;
}

std::string proxy_json(const Node& node, const ConsoleTimes& times) {
  JsonWriter j;
  const ProxyHost* host = node.proxy();
  if (!host) {
    j.begin_object().member("enabled", false).end_object();
    return j.str();
  }
  const auto v = read_proxy_view(*host, times.now);
  j.begin_object().member("enabled", true).member("workers", v.workers);
  write_listeners(j, v);
  write_routing(j, v.routing);
  write_counters(j, v);
  j.key("backends").begin_array();
  for (const auto& b : v.backends) write_backend(j, b);
  j.end_array().end_object();
  return j.str();
}

}  // namespace hop::router
