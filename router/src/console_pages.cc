#include "console_pages.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "console_history.h"
#include "console_proxy.h"
#include "console_services.h"
#include "hop/router/node.h"
#include "netdb_format.h"

namespace hop::router {
namespace {

using tunnels::Direction;
using tunnels::HopRole;

constexpr std::string_view kStyle =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}"
    "nav{background:#234;padding:8px 16px}nav a{color:#fff;margin-right:16px;text-decoration:none}"
    "nav a.on{text-decoration:underline}main{padding:8px 16px}h1{font-size:20px}h2{font-size:16px;margin-top:20px}"
    "table{border-collapse:collapse;margin:4px 0 12px}th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}"
    "th{background:#eee}td{font-family:ui-monospace,monospace;font-size:12px}"
    ".chart{background:#fff;border:1px solid #ccc;margin:4px 8px 4px 0}.chart text{font-size:10px;fill:#555}"
    ".bar{vertical-align:middle;margin-left:6px;border:1px solid #ccc}"
    ".warn{background:#fee;border:1px solid #c33;padding:6px 10px;margin:8px 0;max-width:60em}"
    ".note{background:#eef;border:1px solid #88a;padding:6px 10px;margin:8px 0;max-width:60em}"
    "footer{color:#777;padding:8px 16px;font-size:12px}";

struct PageLink {
  std::string_view path;
  std::string_view name;
};
constexpr std::array<PageLink, 7> kPages{{{"/", "Overview"},
                                          {"/peers", "Peers"},
                                          {"/netdb", "NetDB"},
                                          {"/tunnels", "Tunnels"},
                                          {"/transit", "Transit"},
                                          {"/services", "Services"},
                                          {"/proxy", "Proxy"}}};

std::string fixed(double v, int decimals) { return format_fixed(v, decimals); }

std::string ms(const std::optional<core::Duration>& d) {
  if (!d) return "-";
  return fixed(std::chrono::duration<double, std::milli>(*d).count(), 1) + " ms";
}

std::string percent(const std::optional<double>& ratio) {
  if (!ratio) return "-";
  return fixed(*ratio * 100.0, 1) + " %";
}

std::string bytes(double b) { return format_bytes(b); }

std::string rate(const std::optional<double>& bps) { return bps ? bytes(*bps) + "/s" : "-"; }

std::string short_hash(const core::RouterHash& h) { return h.to_string().substr(0, 12); }

std::string section(std::string_view title) { return html_section(title); }

std::string layout(std::string_view path, std::string_view title, const Node& node, const std::string& body) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"refresh\" content=\"" + std::to_string(kPageRefreshSeconds) + "\">"
      "<meta name=\"viewport\" content=\"width=device-width\"><title>hopline: " + html_escape(title) +
      "</title><style>" + std::string(kStyle) + "</style></head><body><nav>";
  for (const auto& p : kPages) {
    out += "<a href=\"" + std::string(p.path) + "\"" + (p.path == path ? " class=\"on\"" : "") + ">" +
           std::string(p.name) + "</a>";
  }
  out += "</nav><main><h1>" + html_escape(title) + "</h1>" + body + "</main><footer>node " +
         html_escape(node.identity().hash().to_string()) + " &middot; refreshes every " +
         std::to_string(kPageRefreshSeconds) + " s &middot; JSON under /api/v1/</footer></body></html>\n";
  return out;
}

std::size_t established(const std::vector<tunnels::TunnelView>& views, Direction d) {
  std::size_t n = 0;
  for (const auto& t : views) n += t.direction == d && t.state == tunnels::TunnelState::kEstablished;
  return n;
}

template <typename Get>
std::vector<double> series_of(const std::vector<ConsoleSample>& samples, Get get) {
  std::vector<double> out;
  for (const auto& s : samples) {
    if (const std::optional<double> v = get(s)) out.push_back(*v);
  }
  return out;
}

std::string overview_charts(const std::vector<ConsoleSample>& s) {
  return section("Last hour") + svg_chart("bandwidth in (B/s)", rate_in(s)) +
         svg_chart("bandwidth out (B/s)", rate_out(s)) +
         svg_chart("links", series_of(s, [](const ConsoleSample& x) {
           return std::optional<double>(static_cast<double>(x.links));
         })) +
         svg_chart("build success (10 min)", series_of(s, [](const ConsoleSample& x) { return x.build_success; })) +
         svg_chart("tunnel latency (ms)", series_of(s, [](const ConsoleSample& x) { return x.latency_ms; }));
}

std::string overview(const Node& node, const ConsoleTimes& times, const ConsoleHistory& history) {
  const auto samples = samples_to_now(history, node, times.now);
  const auto in = rate_in(samples), out = rate_out(samples);
  const auto& tm = node.tunnels();
  const auto views = tm.tunnels();
  std::string body = html_table({{"identity", "network id", "uptime", "listen", "floodfill"},
                                 {{node.identity().hash().to_string(), std::to_string(node.config().network_id),
                                   format_duration(times.now - times.started), node.links().local_contact().address(),
                                   node.config().floodfill ? "yes" : "no"}}});
  body += section("Bandwidth");
  body += html_table({{"", "in", "out"},
                      {{"now (since the last sample)",
                        rate(in.empty() ? std::nullopt : std::optional(in.back())),
                        rate(out.empty() ? std::nullopt : std::optional(out.back()))},
                       {"last hour (mean)", rate(mean_rate_in(samples)), rate(mean_rate_out(samples))},
                       {"since start (total)", bytes(static_cast<double>(node.links().counters().bytes_in)),
                        bytes(static_cast<double>(node.links().counters().bytes_out))}}});
  body += section("Links");
  body += html_table({{"transport", "links", "connections", "soft limit", "hard limit"},
                      {{"tcp", std::to_string(node.links().links().size()),
                        std::to_string(node.links().open_connections()), std::to_string(node.config().limits.soft),
                        std::to_string(node.config().limits.hard)}}});
  body += section("Tunnels");
  body += html_table({{"inbound", "outbound", "transit", "build success (10 min)", "build success (since start)"},
                      {{std::to_string(established(views, Direction::kInbound)),
                        std::to_string(established(views, Direction::kOutbound)), std::to_string(tm.transit().size()),
                        percent(tm.build_success_rate(kConsoleBuildWindow)),
                        percent(tm.build_success_rate_since_start())}}});
  return body + overview_charts(samples);
}

std::string peers(const Node& node, const ConsoleTimes& times) {
  std::unordered_map<core::RouterHash, std::optional<core::Duration>> links;
  for (const auto& l : node.links().links()) links.emplace(l.peer, l.rtt);
  HtmlTable t{{"peer", "score", "tests ok/failed", "srtt", "bandwidth", "last seen", "last test", "link rtt", "ban"},
              {}};
  for (const auto& [peer, p] : node.peers().profiles()) {
    const auto link = links.find(peer);
    const auto* ban = node.peers().ban_of(peer);
    t.rows.push_back({peer.to_string(), fixed(netdb::score(p, times.wall_now), 3),
                      std::to_string(p.window_successes()) + "/" + std::to_string(p.window_failures()),
                      p.rtt_samples > 0 ? ms(p.srtt) : "-", p.bandwidth_samples > 0 ? rate(p.bandwidth) : "-",
                      format_age(p.last_seen, times.wall_now), format_age(p.last_tested, times.wall_now),
                      link == links.end() ? "not linked" : ms(link->second),
                      ban ? ban->reason + " (" + format_ban_state(*ban, times.wall_now) + ")" : "-"});
  }
  HtmlTable bans{{"peer", "reason", "since", "until", "state"}, {}};
  for (const auto& [peer, ban] : node.peers().bans().all()) {
    bans.rows.push_back({peer.to_string(), ban.reason, format_utc(ban.start), format_utc(ban.end),
                         format_ban_state(ban, times.wall_now)});
  }
  return section("Profiles (" + std::to_string(t.rows.size()) + ")") + html_table(t) +
         section("Bans (" + std::to_string(bans.rows.size()) + ")") + html_table(bans);
}

// "abcdef012345#4711 (9m30s left)" per lease, "; " between them.
std::string leases_of(const netdb::LeaseSet& ls, core::WallTime now) {
  std::string out;
  for (const auto& lease : ls.leases) {
    if (!out.empty()) out += "; ";
    const auto left = lease.expires - now;
    out += short_hash(lease.gateway) + "#" + std::to_string(lease.tunnel_id) + " (" +
           (left > core::Duration::zero() ? format_duration(left) + " left" : "expired") + ")";
  }
  return out;
}

std::string lease_sets(const Node& node, const ConsoleTimes& times) {
  HtmlTable t{{"destination", "local", "leases", "gateway#tunnel (time left)", "published", "expires"}, {}};
  for (const auto& held : node.netdb().lease_sets()) {
    const auto& ls = held.lease_set->lease_set;
    t.rows.push_back({ls.hash().address(), held.local ? "yes" : "no", std::to_string(ls.leases.size()),
                      leases_of(ls, times.wall_now), format_age(ls.published, times.wall_now),
                      format_age(ls.expires, times.wall_now)});
  }
  const auto& c = node.netdb().counters();
  HtmlTable counters{{"stores accepted", "lookups started", "found", "failed", "refused (full)", "refused (invalid)"},
                     {}};
  std::uint64_t invalid = 0;
  for (const auto n : c.lease_set_refusals.by_reason) invalid += n;
  counters.rows.push_back({std::to_string(c.lease_set_stores_accepted), std::to_string(c.lease_set_lookups_started),
                           std::to_string(c.lease_set_lookups_found), std::to_string(c.lease_set_lookups_failed),
                           std::to_string(c.lease_sets_refused_full), std::to_string(invalid)});
  HtmlTable refusals{{}, {{}}};
  for (std::size_t r = 0; r < netdb::kLeaseSetRefusalCount; ++r) {
    const auto reason = static_cast<netdb::LeaseSetRefusal>(r);
    refusals.headers.emplace_back(netdb::to_string(reason));
    refusals.rows.front().push_back(std::to_string(c.lease_set_refusals[reason]));
  }
  return section("LeaseSets (" + std::to_string(t.rows.size()) + ")") + html_table(t) + html_table(counters) +
         section("LeaseSets refused, by reason") + html_table(refusals);
}

std::string netdb_page(const Node& node, const ConsoleTimes& times) {
  HtmlTable t{{"router", "address", "floodfill", "bandwidth", "region", "published"}, {}};
  std::size_t floodfills = 0;
  for (const auto* record : node.netdb().routers()) {
    const auto& info = record->info;
    floodfills += info.floodfill;
    t.rows.push_back({info.hash().to_string(),
                      info.addresses.empty() ? "-" : format_address(info.addresses.front()),
                      info.floodfill ? "yes" : "no", std::to_string(info.bandwidth_kbps) + " kbps",
                      printable(info.region), format_utc(info.published)});
  }
  HtmlTable ff{{"floodfill"}, {}};
  for (const auto& h : node.netdb().floodfills()) ff.rows.push_back({h.to_string()});
  return html_table({{"routers", "floodfills", "LeaseSets"},
                     {{std::to_string(t.rows.size()), std::to_string(floodfills),
                       std::to_string(node.netdb().lease_sets().size())}}}) +
         section("Routers") + html_table(t) + section("Floodfills") + html_table(ff) + lease_sets(node, times);
}

std::string hops_of(const tunnels::TunnelView& t) {
  std::string out;
  for (const auto& h : t.hops) {
    if (!out.empty()) out += " > ";
    out += short_hash(h.router) + " @" + h.address;
  }
  return out.empty() ? "-" : out;
}

std::string tunnel_pages(const Node& node, const ConsoleTimes& times, const ConsoleHistory& history) {
  const auto& tm = node.tunnels();
  const auto& c = tm.counters();
  std::string body = section("Build history");
  body += html_table({{"started", "succeeded", "refused", "timed out", "success (10 min)", "success (since start)"},
                      {{std::to_string(c.builds_started), std::to_string(c.builds_succeeded),
                        std::to_string(c.builds_refused), std::to_string(c.builds_timed_out),
                        percent(tm.build_success_rate(kConsoleBuildWindow)),
                        percent(tm.build_success_rate_since_start())}}});
  const auto samples = samples_to_now(history, node, times.now);
  body += svg_chart("build success (10 min)", series_of(samples, [](const ConsoleSample& x) { return x.build_success; }));
  body += svg_chart("established tunnels", series_of(samples, [](const ConsoleSample& x) {
                      return std::optional<double>(static_cast<double>(x.tunnels));
                    }));
  body += svg_chart("tunnel latency (ms)", series_of(samples, [](const ConsoleSample& x) { return x.latency_ms; }));
  std::map<tunnels::PoolId, HtmlTable> pools;
  const auto names = pool_names(node);
  for (const auto& t : tm.tunnels()) {
    const bool up = t.state == tunnels::TunnelState::kEstablished;
    auto& table = pools[t.pool];
    if (table.headers.empty()) {
      table.headers = {"id", "direction", "state", "hops", "age", "expires in", "build", "latency", "bytes", "cells",
                       "test failures"};
    }
    table.rows.push_back({std::to_string(t.id), t.direction == Direction::kInbound ? "inbound" : "outbound",
                          std::string(tunnels::to_string(t.state)), hops_of(t),
                          up ? format_duration(times.now - t.created) : "-",
                          up ? format_duration(t.expires - times.now) : "-", ms(t.build_latency), ms(t.latency),
                          bytes(static_cast<double>(t.bytes)), std::to_string(t.cells),
                          std::to_string(t.test_failures)});
  }
  if (pools.empty()) body += section("Pools") + "<p>no tunnels yet</p>";
  for (const auto& [pool, table] : pools) {
    body += section("Pool " + std::to_string(pool) + " (" + pool_name(names, pool) + ")");
    body += html_table(table);
  }
  return body;
}

std::string_view role_name(HopRole role) {
  switch (role) {
    case HopRole::kInboundGateway: return "inbound gateway";
    case HopRole::kParticipant: return "participant";
    case HopRole::kOutboundEndpoint: return "outbound endpoint";
  }
  return "unknown";
}

std::string transit(const Node& node, const ConsoleTimes& times) {
  HtmlTable t{{"receive id", "role", "previous", "next", "age", "expires in", "cells", "bytes", "dropped"}, {}};
  for (const auto& v : node.tunnels().transit()) {
    t.rows.push_back({std::to_string(v.receive_id), std::string(role_name(v.role)), v.previous.to_string(),
                      v.next == core::RouterHash{} ? "-" : v.next.to_string(),
                      format_duration(times.now - v.created), format_duration(v.expires - times.now),
                      std::to_string(v.cells), bytes(static_cast<double>(v.bytes)), std::to_string(v.dropped)});
  }
  return section("Transit tunnels (" + std::to_string(t.rows.size()) + ")") + html_table(t);
}

}  // namespace

std::string format_fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string format_bytes(double b) {
  constexpr std::array<std::string_view, 4> kUnits{"B", "KiB", "MiB", "GiB"};
  std::size_t unit = 0;
  while (b >= 1024.0 && unit + 1 < kUnits.size()) {
    b /= 1024.0;
    ++unit;
  }
  return format_fixed(b, unit == 0 ? 0 : 1) + " " + std::string(kUnits[unit]);
}

std::string html_section(std::string_view title) { return "<h2>" + html_escape(title) + "</h2>"; }

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string html_table(const HtmlTable& table) {
  std::string out = "<table><tr>";
  for (const auto& h : table.headers) out += "<th>" + html_escape(h) + "</th>";
  out += "</tr>";
  for (const auto& row : table.rows) {
    out += "<tr>";
    for (const auto& cell : row) out += "<td>" + html_escape(cell) + "</td>";
    out += "</tr>";
  }
  return out + "</table>";
}

bool is_page_path(std::string_view path) {
  for (const auto& p : kPages) {
    if (p.path == path) return true;
  }
  return false;
}

std::optional<std::string> page_html(std::string_view path, const Node& node, const ConsoleTimes& times,
                                     const ConsoleHistory& history) {
  if (path == "/") return layout(path, "Overview", node, overview(node, times, history));
  if (path == "/peers") return layout(path, "Peers", node, peers(node, times));
  if (path == "/netdb") return layout(path, "NetDB", node, netdb_page(node, times));
  if (path == "/tunnels") return layout(path, "Tunnels", node, tunnel_pages(node, times, history));
  if (path == "/transit") return layout(path, "Transit tunnels", node, transit(node, times));
  if (path == "/services") return layout(path, "Services", node, services_page_body(node, times));
  if (path == "/proxy") return layout(path, "Geo-proxy", node, proxy_page_body(node, times, history));
  return std::nullopt;
}

}  // namespace hop::router
