#include "metrics.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

#include "hop/router/node.h"

namespace hop::router {
namespace {

enum class Kind : std::uint8_t { kCounter, kGauge };

using Label = std::pair<std::string_view, std::string_view>;

// Writes families one at a time: HELP and TYPE, then their samples.
class Exposition {
 public:
  Exposition& family(std::string_view name, Kind kind, std::string_view help) {
    name_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;  // ours: no backslashes or newlines to escape
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += kind == Kind::kCounter ? " counter\n" : " gauge\n";
    return *this;
  }
  // A sample of the current family; label values are ours (no escaping needed).
  Exposition& sample(double value, std::initializer_list<Label> labels = {}) {
    out_ += name_;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        out_ += v;
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    append_number(value);
    out_ += '\n';
    return *this;
  }
  Exposition& sample(std::uint64_t value, std::initializer_list<Label> labels = {}) {
    return sample(static_cast<double>(value), labels);
  }
  std::string take() { return std::move(out_); }

 private:
  void append_number(double value) {
    if (std::isnan(value)) {
      out_ += "NaN";
      return;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, ec == std::errc() ? static_cast<std::size_t>(end - buf) : 0);
  }

  std::string out_;
  std::string_view name_;
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

}  // namespace

std::string metrics_text(const Node& node, const ConsoleTimes& times) {
  Exposition m;
  m.family("hopline_uptime_seconds", Kind::kGauge, "Seconds since the node started.")
      .sample(std::chrono::duration<double>(times.now - times.started).count());
  link_metrics(m, node);
  tunnel_metrics(m, node);
  netdb_metrics(m, node);
  return m.take();
}

}  // namespace hop::router
