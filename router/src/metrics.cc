#include "metrics.h"

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

#include "console_proxy.h"
#include "console_services.h"
#include "hop/router/node.h"

namespace hop::router {
namespace {

enum class Kind : std::uint8_t { kCounter, kGauge, kHistogram };

using Label = std::pair<std::string_view, std::string_view>;

std::string_view type_name(Kind kind) {
  switch (kind) {
    case Kind::kCounter: return "counter";
    case Kind::kGauge: return "gauge";
    case Kind::kHistogram: return "histogram";
  }
  return "untyped";
}

// Writes families one at a time: HELP and TYPE, then their samples.
class Exposition {
 public:
  Exposition& family(std::string_view name, Kind kind, std::string_view help) {
    name_.assign(name);
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;  // ours: no backslashes or newlines to escape
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type_name(kind);
    out_ += '\n';
    return *this;
  }
  // A sample of the current family; label values are escaped (\\, \", \n).
  Exposition& sample(double value, std::initializer_list<Label> labels = {}) { return line("", value, labels); }
  Exposition& sample(std::uint64_t value, std::initializer_list<Label> labels = {}) {
    return sample(static_cast<double>(value), labels);
  }
  // The current family as a histogram: `cumulative` counts per upper bound in `bounds`, then
  // +Inf (so one more count than bounds); _count is the +Inf bucket.
  template <std::size_t N>
  Exposition& histogram(const std::array<double, N>& bounds, const std::array<std::uint64_t, N + 1>& cumulative,
                        double sum) {
    for (std::size_t i = 0; i <= N; ++i) {
      const std::string le = i < N ? number(bounds[i]) : "+Inf";
      line("_bucket", static_cast<double>(cumulative[i]), {{"le", le}});
    }
    line("_sum", sum, {});
    return line("_count", static_cast<double>(cumulative[N]), {});
  }
  std::string take() { return std::move(out_); }

 private:
  Exposition& line(std::string_view suffix, double value, std::initializer_list<Label> labels) {
    out_ += name_;
    out_ += suffix;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        out_ += escape_label_value(v);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += number(value);
    out_ += '\n';
    return *this;
  }
  static std::string number(double value) {
    if (std::isnan(value)) return "NaN";
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
  }

  std::string out_;
  std::string name_;
};

void link_metrics(Exposition& m, const Node& node) {
  const auto& c = node.links().counters();
  m.family("hopline_links", Kind::kGauge, "Established links, per transport.")
      .sample(std::uint64_t{node.links().links().size()}, {{"transport", "tcp"}});
  m.family("hopline_link_connections", Kind::kGauge, "Open connections, linked or handshaking, per transport.")
      .sample(std::uint64_t{node.links().open_connections()}, {{"transport", "tcp"}});
  m.family("hopline_link_limit", Kind::kGauge, "Configured link limits (links.soft_limit, links.hard_limit).")
      .sample(std::uint64_t{node.config().limits.soft}, {{"kind", "soft"}})
      .sample(std::uint64_t{node.config().limits.hard}, {{"kind", "hard"}});
  m.family("hopline_link_bytes_total", Kind::kCounter, "Bytes received and sent on links since start.")
      .sample(c.bytes_in, {{"direction", "in"}})
      .sample(c.bytes_out, {{"direction", "out"}});
  m.family("hopline_link_inbound_total", Kind::kCounter, "Inbound connections, by outcome.")
      .sample(c.inbound_accepted, {{"outcome", "accepted"}})
      .sample(c.inbound_refused_limit, {{"outcome", "refused_limit"}})
      .sample(c.accept_errors, {{"outcome", "error"}});
  m.family("hopline_link_dials_total", Kind::kCounter, "Outbound dials started.").sample(c.dials);
  m.family("hopline_link_dial_failures_total", Kind::kCounter, "Outbound dials that failed before a link existed.")
      .sample(c.dial_failures);
  m.family("hopline_link_handshakes_total", Kind::kCounter, "Link handshakes, by outcome.")
      .sample(c.handshakes_completed, {{"outcome", "completed"}})
      .sample(c.handshake_failures, {{"outcome", "failed"}})
      .sample(c.handshake_timeouts, {{"outcome", "timeout"}});
  m.family("hopline_link_closes_total", Kind::kCounter, "Links closed by this node, by reason.")
      .sample(c.protocol_errors, {{"reason", "protocol_error"}})
      .sample(c.idle_closed, {{"reason", "idle"}})
      .sample(c.unresponsive_closed, {{"reason", "unresponsive"}})
      .sample(c.evicted, {{"reason", "evicted"}})
      .sample(c.duplicates_closed, {{"reason", "duplicate"}});
}

void tunnel_metrics(Exposition& m, const Node& node) {
  const auto& tm = node.tunnels();
  const auto& c = tm.counters();
  std::uint64_t inbound = 0, outbound = 0;
  for (const auto& t : tm.tunnels()) {
    if (t.state != tunnels::TunnelState::kEstablished) continue;
    ++(t.direction == tunnels::Direction::kInbound ? inbound : outbound);
  }
  m.family("hopline_tunnels", Kind::kGauge, "Our established tunnels (every pool), by direction.")
      .sample(inbound, {{"direction", "inbound"}})
      .sample(outbound, {{"direction", "outbound"}});
  m.family("hopline_tunnel_builds_started_total", Kind::kCounter, "Tunnel builds started.")
      .sample(c.builds_started);
  m.family("hopline_tunnel_builds_total", Kind::kCounter, "Finished tunnel builds, by outcome.")
      .sample(c.builds_succeeded, {{"outcome", "success"}})
      .sample(c.builds_refused, {{"outcome", "refused"}})
      .sample(c.builds_timed_out, {{"outcome", "timeout"}});
  m.family("hopline_tunnel_build_success_ratio", Kind::kGauge,
           "Share of finished builds that succeeded, over the last 10 minutes and since start (NaN: none finished).")
      .sample(tm.build_success_rate(std::chrono::minutes(10)).value_or(NAN), {{"window", "10m"}})
      .sample(tm.build_success_rate_since_start().value_or(NAN), {{"window", "start"}});
  m.family("hopline_tunnel_tests_total", Kind::kCounter, "Tunnel tests, by outcome.")
      .sample(c.tests_passed, {{"outcome", "passed"}})
      .sample(c.tests_failed, {{"outcome", "failed"}});
  m.family("hopline_transit_tunnels", Kind::kGauge, "Tunnels this node carries for others.")
      .sample(std::uint64_t{tm.transit().size()});
  m.family("hopline_transit_requests_total", Kind::kCounter, "Build requests to be a hop for others, by outcome.")
      .sample(c.transit_accepted, {{"outcome", "accepted"}})
      .sample(c.transit_refused, {{"outcome", "refused"}});
  m.family("hopline_tunnel_cells_total", Kind::kCounter, "Tunnel cells handled, by event.")
      .sample(c.cells_forwarded, {{"event", "forwarded"}})
      .sample(c.cells_unknown_tunnel, {{"event", "unknown"}})
      .sample(c.cells_over_bandwidth, {{"event", "over_bandwidth"}})
      .sample(c.cells_rejected, {{"event", "rejected"}});
  m.family("hopline_tunnel_messages_delivered_total", Kind::kCounter,
           "Messages that arrived through our inbound tunnels.")
      .sample(c.messages_delivered);
  m.family("hopline_tunnel_malformed_total", Kind::kCounter, "Tunnel blocks and build records that did not parse.")
      .sample(c.malformed);
}

void netdb_metrics(Exposition& m, const Node& node) {
  const auto& prober = node.prober();
  m.family("hopline_netdb_routers", Kind::kGauge, "RouterInfos in the NetDB.").sample(std::uint64_t{node.netdb().size()});
  m.family("hopline_peer_profiles", Kind::kGauge, "Peers with a profile.")
      .sample(std::uint64_t{node.peers().profiles().size()});
  m.family("hopline_bans", Kind::kGauge, "Bans held (in force, or ended and not yet expired).")
      .sample(std::uint64_t{node.peers().bans().size()});
  m.family("hopline_probes_total", Kind::kCounter, "Reachability tests started.").sample(prober.probes_started());
  m.family("hopline_probes_skipped_total", Kind::kCounter, "Reachability tests deferred by netdb.probe_budget.")
      .sample(prober.probes_skipped_limit());
  m.family("hopline_bandwidth_probes_total", Kind::kCounter, "Bandwidth probes, by event.")
      .sample(prober.bandwidth_probes_started(), {{"event", "started"}})
      .sample(prober.bandwidth_probes_answered(), {{"event", "answered"}});
}

void lease_set_metrics(Exposition& m, const Node& node) {
  const auto& c = node.netdb().counters();
  std::uint64_t local = 0, held = 0;
  for (const auto& h : node.netdb().lease_sets()) ++(h.local ? local : held);
  m.family("hopline_netdb_lease_sets", Kind::kGauge, "LeaseSets held: our destinations' and others'.")
      .sample(local, {{"kind", "local"}})
      .sample(held, {{"kind", "held"}});
  m.family("hopline_netdb_lease_set_stores_total", Kind::kCounter, "LeaseSet stores kept as new or newer (floodfill).")
      .sample(c.lease_set_stores_accepted);
  m.family("hopline_netdb_lease_set_lookups_started_total", Kind::kCounter, "LeaseSet lookups that went to the network.")
      .sample(c.lease_set_lookups_started);
  m.family("hopline_netdb_lease_set_lookups_total", Kind::kCounter, "Finished LeaseSet lookups, by outcome.")
      .sample(c.lease_set_lookups_found, {{"outcome", "found"}})
      .sample(c.lease_set_lookups_failed, {{"outcome", "failed"}});
  m.family("hopline_netdb_lease_set_refusals_total", Kind::kCounter,
           "LeaseSets refused: failed verification, by reason, or no room (full).");
  for (std::size_t r = 0; r < netdb::kLeaseSetRefusalCount; ++r) {
    const auto reason = static_cast<netdb::LeaseSetRefusal>(r);
    m.sample(c.lease_set_refusals[reason], {{"reason", lease_set_refusal_name(reason)}});
  }
  m.sample(c.lease_sets_refused_full, {{"reason", "full"}});
}

// The families of one kind of TCP edge: names start with `prefix`, series are labelled
// `label`=NAME (names come from the config, so the series are bounded by it).
struct EdgeKind {
  std::string_view prefix;  // "hopline_service"
  std::string_view label;   // "service"
  std::string_view what;    // "service", for the help texts
};

template <typename Edges>
void edge_metrics(Exposition& m, const EdgeKind& kind, const Edges& edges) {
  const std::string p(kind.prefix), per = ", per " + std::string(kind.what) + ".";
  m.family(p + "_connections_total", Kind::kCounter, "Connections carried" + per);
  for (const auto& e : edges) m.sample(e->counters().connections, {{kind.label, e->name()}});
  m.family(p + "_connections_current", Kind::kGauge, "Connections open now" + per);
  for (const auto& e : edges) m.sample(std::uint64_t{e->counters().active}, {{kind.label, e->name()}});
  m.family(p + "_connection_failures_total", Kind::kCounter,
           "Connections closed because the other side could not be reached" + per);
  for (const auto& e : edges) m.sample(e->counters().failed, {{kind.label, e->name()}});
  m.family(p + "_bytes_total", Kind::kCounter, "Bytes moved from TCP into streams (in) and back (out)" + per);
  for (const auto& e : edges) {
    m.sample(e->counters().bytes_in, {{kind.label, e->name()}, {"direction", "in"}})
        .sample(e->counters().bytes_out, {{kind.label, e->name()}, {"direction", "out"}});
  }
}

// A counter family with one sample per destination, labelled by its name and `label`=`value`
// per entry of `values` (value, counter).
using DestinationCounter = std::uint64_t (*)(const tunnels::LocalDestinationCounters&);
struct LabelledCounter {
  std::string_view value;
  DestinationCounter counter;
};
void destination_counter(Exposition& m, const std::vector<DestinationView>& views, std::string_view label,
                         std::initializer_list<LabelledCounter> values) {
  for (const auto& v : views) {
    for (const auto& [value, counter] : values) {
      m.sample(counter(v.destination->counters()), {{"destination", v.name}, {label, value}});
    }
  }
}

void destination_gauges(Exposition& m, const std::vector<DestinationView>& views) {
  m.family("hopline_destination_info", Kind::kGauge, "1 for each hosted destination, with its address.");
  for (const auto& v : views) {
    m.sample(std::uint64_t{1}, {{"destination", v.name}, {"address", v.destination->hash().address()}});
  }
  m.family("hopline_destination_tunnels", Kind::kGauge, "Established tunnels of each destination's pool.");
  for (const auto& v : views) {
    m.sample(std::uint64_t{v.inbound}, {{"destination", v.name}, {"direction", "inbound"}})
        .sample(std::uint64_t{v.outbound}, {{"destination", v.name}, {"direction", "outbound"}});
  }
  m.family("hopline_destination_leases", Kind::kGauge, "Leases in each destination's published LeaseSet (0: none).");
  for (const auto& v : views) m.sample(std::uint64_t{v.leases()}, {{"destination", v.name}});
  m.family("hopline_destination_sessions", Kind::kGauge, "End-to-end sessions each destination holds.");
  for (const auto& v : views) m.sample(std::uint64_t{v.destination->sessions().size()}, {{"destination", v.name}});
  m.family("hopline_destination_open_streams", Kind::kGauge, "Open streams of each destination.");
  for (const auto& v : views) m.sample(std::uint64_t{v.destination->open_streams()}, {{"destination", v.name}});
}

void destination_metrics(Exposition& m, const Node& node) {
  using C = const tunnels::LocalDestinationCounters&;
  const auto views = read_destinations(node);
  destination_gauges(m, views);
  m.family("hopline_destination_sessions_total", Kind::kCounter, "Sessions set up or lost, by event.");
  destination_counter(m, views, "event",
                      {{"initiated", [](C c) { return c.sessions_initiated; }},
                       {"accepted", [](C c) { return c.sessions_accepted; }},
                       {"failed", [](C c) { return c.sessions_failed; }}});
  m.family("hopline_destination_messages_total", Kind::kCounter, "Session messages, by event.");
  destination_counter(m, views, "event",
                      {{"sent", [](C c) { return c.messages_sent; }},
                       {"received", [](C c) { return c.messages_received; }},
                       {"refused", [](C c) { return c.messages_refused; }},
                       {"send_failed", [](C c) { return c.send_failures; }}});
  m.family("hopline_destination_bytes_total", Kind::kCounter, "Sealed session message bytes, by direction.");
  destination_counter(m, views, "direction",
                      {{"in", [](C c) { return c.bytes_received; }}, {"out", [](C c) { return c.bytes_sent; }}});
  m.family("hopline_destination_streams_total", Kind::kCounter, "Streams opened by us or accepted from peers.");
  destination_counter(m, views, "event",
                      {{"opened", [](C c) { return c.streams_opened; }},
                       {"accepted", [](C c) { return c.streams_accepted; }}});
  m.family("hopline_destination_path_changes_total", Kind::kCounter, "Times a session moved to another tunnel path.");
  for (const auto& v : views) m.sample(v.destination->counters().path_changes, {{"destination", v.name}});
  m.family("hopline_destination_lease_sets_total", Kind::kCounter,
           "LeaseSets published to the NetDB or pushed to peers over sessions.");
  destination_counter(m, views, "event",
                      {{"published", [](C c) { return c.lease_sets_published; }},
                       {"pushed", [](C c) { return c.lease_sets_pushed; }}});
}

// Per-backend families, one sample per backend of the routing table in use (none without a proxy).
void proxy_backend_metrics(Exposition& m, const std::vector<ProxyBackendView>& backends) {
  m.family("hopline_proxy_connections_total", Kind::kCounter, "Connections made to each backend.");
  for (const auto& b : backends) m.sample(b.connections_total, {{"backend", b.backend.id}});
  m.family("hopline_proxy_connections_current", Kind::kGauge, "Connections holding a slot of each backend.");
  for (const auto& b : backends) m.sample(std::uint64_t{b.active}, {{"backend", b.backend.id}});
  m.family("hopline_proxy_backend_connect_seconds", Kind::kGauge,
           "Smoothed (EWMA) time to connect to each backend; 0 before the first connection.");
  for (const auto& b : backends) m.sample(b.connect_time_ms / 1000.0, {{"backend", b.backend.id}});
  m.family("hopline_proxy_backend_up", Kind::kGauge, "1 when a backend is healthy in routing.db and its breaker is not open.");
  for (const auto& b : backends) m.sample(std::uint64_t{b.is_up() ? 1u : 0u}, {{"backend", b.backend.id}});
  m.family("hopline_proxy_bytes_total", Kind::kCounter, "Bytes relayed to and from each backend.");
  for (const auto& b : backends) {
    m.sample(b.bytes_to_backend, {{"backend", b.backend.id}, {"direction", "to_backend"}})
        .sample(b.bytes_from_backend, {{"backend", b.backend.id}, {"direction", "from_backend"}});
  }
  m.family("hopline_proxy_backend_errors_total", Kind::kCounter, "Failed connections to each backend, by reason.");
  for (const auto& b : backends) {
    for (std::size_t e = 0; e < kBackendErrorCount; ++e) {
      m.sample(b.errors[e], {{"backend", b.backend.id}, {"reason", proxy::to_string(static_cast<proxy::BackendError>(e))}});
    }
  }
}

// One family with one unlabelled sample, or none when `v` is null (no proxy).
void proxy_single(Exposition& m, std::string_view name, Kind kind, std::string_view help, const ProxyView* v,
                  double (*value)(const ProxyView&)) {
  m.family(name, kind, help);
  if (v) m.sample(value(*v));
}

void proxy_process_metrics(Exposition& m, const ProxyView* v) {
  using V = const ProxyView&;
  proxy_single(m, "hopline_proxy_client_connections", Kind::kGauge, "Client connections open now.", v,
               [](V x) { return static_cast<double>(x.current); });
  proxy_single(m, "hopline_proxy_accepted_total", Kind::kCounter, "Client connections accepted.", v,
               [](V x) { return static_cast<double>(x.accepted); });
  m.family("hopline_proxy_refused_total", Kind::kCounter, "Client connections closed without a backend, by reason.");
  for (std::size_t r = 0; v && r < kRefusalCount; ++r) {
    m.sample(v->refused[r], {{"reason", proxy::to_string(static_cast<proxy::Refusal>(r))}});
  }
  proxy_single(m, "hopline_proxy_accept_errors_total", Kind::kCounter, "Failed accepts on the proxy listeners.", v,
               [](V x) { return static_cast<double>(x.accept_errors); });
  proxy_single(m, "hopline_proxy_geoip_misses_total", Kind::kCounter,
               "Clients that neither a geo_override nor GeoIP could place.", v,
               [](V x) { return static_cast<double>(x.geoip_misses); });
  proxy_single(m, "hopline_proxy_geoip_errors_total", Kind::kCounter, "GeoIP lookups that failed (a corrupt database).",
               v, [](V x) { return static_cast<double>(x.geoip_errors); });
  proxy_single(m, "hopline_proxy_affinity_entries", Kind::kGauge, "Live client affinity bindings.", v,
               [](V x) { return static_cast<double>(x.affinity_entries); });
  proxy_single(m, "hopline_proxy_routing_version", Kind::kGauge, "Successful routing.db loads (the version in use).",
               v, [](V x) { return static_cast<double>(x.routing.version); });
  proxy_single(m, "hopline_proxy_routing_load_ok", Kind::kGauge, "1 when the last routing.db load succeeded.", v,
               [](V x) { return x.routing_ok() ? 1.0 : 0.0; });
  m.family("hopline_proxy_selection_seconds", Kind::kHistogram, "Time to choose the backends for one client.");
  if (!v) return;
  std::array<double, proxy::kSelectionBucketsUs.size()> bounds{};
  for (std::size_t i = 0; i < bounds.size(); ++i) bounds[i] = proxy::kSelectionBucketsUs[i] / 1e6;
  m.histogram(bounds, v->selection_buckets, static_cast<double>(v->selection_sum_ns) / 1e9);
}

// The hopline_proxy_* families: always declared, so the set of families does not depend on the
// config; samples only when the node runs a proxy.
void proxy_metrics(Exposition& m, const Node& node, const ConsoleTimes& times) {
  std::optional<ProxyView> view;
  if (const ProxyHost* host = node.proxy()) view = read_proxy_view(*host, times.now);
  const std::vector<ProxyBackendView> none;
  proxy_backend_metrics(m, view ? view->backends : none);
  proxy_process_metrics(m, view ? &*view : nullptr);
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string metrics_text(const Node& node, const ConsoleTimes& times) {
  Exposition m;
  m.family("hopline_uptime_seconds", Kind::kGauge, "Seconds since the node started.")
      .sample(std::chrono::duration<double>(times.now - times.started).count());
  link_metrics(m, node);
  tunnel_metrics(m, node);
  netdb_metrics(m, node);
  lease_set_metrics(m, node);
  edge_metrics(m, {"hopline_service", "service", "service"}, node.services());
  edge_metrics(m, {"hopline_client_tunnel", "client", "client tunnel"}, node.clients());
  destination_metrics(m, node);
  proxy_metrics(m, node, times);
  return m.take();
}

}  // namespace hop::router
