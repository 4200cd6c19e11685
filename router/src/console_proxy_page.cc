// The /proxy page (docs/console.md "Pages"): the geo-proxy's listeners, routing.db status,
// counters, a graph of client connections and every backend with a load bar. Every string from
// routing.db or the config goes through html_escape (html_table does it per cell).
#include <chrono>
#include <string>

#include "console_history.h"
#include "console_pages.h"
#include "console_proxy.h"
#include "hop/router/node.h"
#include "hop/router/proxy_host.h"

namespace hop::router {
namespace {

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

std::string when(const std::string& utc) { return utc.empty() ? "never" : utc; }

std::string no_proxy() {
  return "<p class=\"note\">This node runs no geo-proxy. To turn it on, set <code>proxy.listen</code> "
         "(for example <code>proxy.listen = 0.0.0.0:8080</code> in the <code>[proxy]</code> section) and create "
         "the <code>routing.db</code> it routes by (<code>proxy.routing_db</code>); docs/proxy.md explains the "
         "keys and docs/routing_db.md the file.</p>";
}

std::string listeners(const ProxyView& v) {
  HtmlTable t{{"address", "app", "PROXY protocol"}, {}};
  for (const auto& l : v.listeners) t.rows.push_back({l.address, l.app.empty() ? "(every app)" : l.app, l.proxy_protocol});
  return html_section("Listeners (" + std::to_string(v.workers) + " workers)") + html_table(t);
}

std::string warning(std::string_view what, const std::string& error, const std::string& at) {
  return "<div class=\"warn\"><b>" + html_escape(what) + "</b>" + (at.empty() ? "" : " (" + html_escape(at) + ")") +
         ": " + html_escape(error) + "</div>";
}

std::string routing(const ProxyView& v) {
  const auto& r = v.routing;
  std::string out = html_section("Routing");
  if (!r.last_error.empty()) {
    out += warning("routing.db: the last load failed; the table loaded before stays in use", r.last_error,
                   format_utc_or_empty(r.last_error_at));
  }
  if (!r.geoip_error.empty()) out += warning("GeoIP database: the last open failed", r.geoip_error, "");
  out += html_table({{"routing.db", "version", "loaded at", "backends", "overrides", "GeoIP database"},
                     {{r.routing_db, std::to_string(r.version), when(format_utc_or_empty(r.loaded_at)),
                       std::to_string(r.backends), std::to_string(r.overrides),
                       r.geoip.empty() ? "none (geo_overrides only)" : r.geoip}}});
  if (r.skipped.empty()) return out;
  HtmlTable skipped{{"table", "key", "reason"}, {}};
  for (const auto& s : r.skipped) skipped.rows.push_back({s.table, or_dash(s.key), s.reason});
  return out + html_section("Rows left out of routing.db (" + std::to_string(r.skipped.size()) + ")") +
         html_table(skipped);
}

std::string counters(const ProxyView& v) {
  std::string out = html_section("Clients");
  out += html_table({{"connections now", "max", "accepted", "GeoIP misses", "GeoIP errors", "override hits",
                      "affinity hits", "affinity entries", "selections (mean)"},
                     {{std::to_string(v.current), std::to_string(v.max_connections), std::to_string(v.accepted),
                       std::to_string(v.geoip_misses), std::to_string(v.geoip_errors), std::to_string(v.override_hits),
                       std::to_string(v.affinity_hits),
                       std::to_string(v.affinity_entries) + " / " + std::to_string(v.affinity_capacity),
                       std::to_string(v.selections()) + " (" + format_fixed(v.selection_mean_us(), 2) + " us)"}}});
  HtmlTable refused{{}, {{}}};
  for (std::size_t r = 0; r < kRefusalCount; ++r) {
    refused.headers.emplace_back(proxy::to_string(static_cast<proxy::Refusal>(r)));
    refused.rows.front().push_back(std::to_string(v.refused[r]));
  }
  return out + html_section("Refused") + html_table(refused) + "<p>accept errors: " + std::to_string(v.accept_errors) +
         "</p>";
}

std::string clients_chart(const Node& node, const ConsoleTimes& times, const ConsoleHistory& history) {
  std::vector<double> series;
  for (const auto& s : samples_to_now(history, node, times.now)) series.push_back(static_cast<double>(s.proxy_clients));
  return svg_chart("proxy client connections", series);
}

std::string cell(const std::string& text) { return "<td>" + html_escape(text) + "</td>"; }

std::string place(const proxy::Backend& b) {
  return or_dash(b.country) + " / " + or_dash(b.continent) + " / " + or_dash(b.region);
}

std::string health(const ProxyBackendView& v) {
  return std::string(v.backend.healthy ? "healthy" : "unhealthy (routing.db)") + ", breaker " +
         proxy::to_string(v.breaker);
}

std::string errors(const ProxyBackendView& v) {
  std::string out;
  for (std::size_t e = 0; e < kBackendErrorCount; ++e) {
    if (v.errors[e] == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::string(proxy::to_string(static_cast<proxy::BackendError>(e))) + " " + std::to_string(v.errors[e]);
  }
  return out.empty() ? "0" : out;
}

std::string backend_row(const ProxyBackendView& v) {
  const auto& b = v.backend;
  const std::string load = std::to_string(v.active) + "/" + std::to_string(b.soft_limit) + "/" +
                           std::to_string(b.hard_limit);
  return "<tr>" + cell(b.id) + cell(or_dash(b.app)) + cell(place(b)) + cell(b.target_text) +
         cell(std::to_string(b.weight)) + "<td>" + html_escape(load) +
         svg_load_bar(v.active, b.soft_limit, b.hard_limit) + "</td>" + cell(health(v)) +
         cell(std::to_string(v.connections_total)) +
         cell(format_bytes(static_cast<double>(v.bytes_to_backend)) + " / " +
              format_bytes(static_cast<double>(v.bytes_from_backend))) +
         cell(v.connections_total > 0 ? format_fixed(v.connect_time_ms, 2) + " ms" : "-") + cell(errors(v)) + "</tr>";
}

std::string backends(const ProxyView& v) {
  std::string out = html_section("Backends (" + std::to_string(v.backends.size()) + ")");
  if (v.backends.empty()) return out + "<p>no backends: routing.db has no valid rows yet</p>";
  out += "<table><tr>";
  for (const char* h : {"id", "app", "place (country / continent / region)", "target", "weight",
                        "load (active/soft/hard)", "health", "connections", "bytes to / from", "connect time",
                        "errors"}) {
    out += "<th>" + html_escape(h) + "</th>";
  }
  out += "</tr>";
  for (const auto& b : v.backends) out += backend_row(b);
  return out + "</table>";
}

}  // namespace

std::string proxy_page_body(const Node& node, const ConsoleTimes& times, const ConsoleHistory& history) {
  const ProxyHost* host = node.proxy();
  if (!host) return no_proxy();
  const auto v = read_proxy_view(*host, times.now);
  return listeners(v) + routing(v) + counters(v) + clients_chart(node, times, history) + backends(v);
}

}  // namespace hop::router
