// The /services page (docs/console.md "Pages"): the node's services and client tunnels with what
// they carried, and every destination they run on with its tunnels, LeaseSet, counters and
// sessions. Names and targets come from the config, remote addresses from other destinations:
// html_table escapes every cell.
#include <string>

#include "console_pages.h"
#include "console_services.h"
#include "hop/router/node.h"
#include "netdb_format.h"

namespace hop::router {
namespace {

std::string no_edges() {
  return "<p class=\"note\">This node hosts no services or client tunnels. A service makes a local TCP server "
         "reachable as a destination (<code>[service.NAME]</code> with <code>target = host:port</code>); a client "
         "tunnel carries the connections to a local port to a destination (<code>[client.NAME]</code> with "
         "<code>listen</code> and <code>destination = NAME.hop</code>); docs/services.md explains the keys.</p>";
}

std::string bytes(std::uint64_t b) { return format_bytes(static_cast<double>(b)); }

std::vector<std::string> edge_cells(const proxy::EdgeCounters& c) {
  return {std::to_string(c.connections), std::to_string(c.active), std::to_string(c.failed), bytes(c.bytes_in),
          bytes(c.bytes_out)};
}

std::string services(const Node& node) {
  HtmlTable t{{"name", "address", "target", "connections", "active", "failed", "bytes in (from target)",
               "bytes out (to target)"},
              {}};
  for (const auto& s : node.services()) {
    std::vector<std::string> row{s->name(), s->destination().hash().address(), s->target()};
    for (auto& cell : edge_cells(s->counters())) row.push_back(std::move(cell));
    t.rows.push_back(std::move(row));
  }
  return html_section("Services (" + std::to_string(t.rows.size()) + ")") + html_table(t);
}

std::string clients(const Node& node) {
  HtmlTable t{{"name", "listen", "remote", "connections", "active", "failed", "bytes in (from clients)",
               "bytes out (to clients)"},
              {}};
  for (const auto& c : node.clients()) {
    std::vector<std::string> row{c->name(), c->listen_address(), c->remote().address()};
    for (auto& cell : edge_cells(c->counters())) row.push_back(std::move(cell));
    t.rows.push_back(std::move(row));
  }
  return html_section("Client tunnels (" + std::to_string(t.rows.size()) + ")") + html_table(t);
}

std::string lease_set_cell(const tunnels::LocalDestination& d, const ConsoleTimes& times) {
  const auto* ls = d.lease_set();
  if (!ls) return "not published";
  return std::to_string(ls->lease_set.leases.size()) + " leases, published " +
         format_age(ls->lease_set.published, times.wall_now);
}

std::string destinations(const std::vector<DestinationView>& views, const ConsoleTimes& times) {
  HtmlTable t{{"name", "address", "pool", "tunnels in/out", "LeaseSet", "sessions initiated/accepted/failed",
               "messages sent/received/refused", "path changes", "streams opened/accepted", "open streams"},
              {}};
  for (const auto& v : views) {
    const auto& d = *v.destination;
    const auto& c = d.counters();
    t.rows.push_back({v.name, d.hash().address(), std::to_string(d.pool()),
                      std::to_string(v.inbound) + "/" + std::to_string(v.outbound), lease_set_cell(d, times),
                      std::to_string(c.sessions_initiated) + "/" + std::to_string(c.sessions_accepted) + "/" +
                          std::to_string(c.sessions_failed),
                      std::to_string(c.messages_sent) + "/" + std::to_string(c.messages_received) + "/" +
                          std::to_string(c.messages_refused),
                      std::to_string(c.path_changes),
                      std::to_string(c.streams_opened) + "/" + std::to_string(c.streams_accepted),
                      std::to_string(d.open_streams())});
  }
  return html_section("Destinations (" + std::to_string(t.rows.size()) + ")") + html_table(t);
}

std::string sessions(const DestinationView& v, const ConsoleTimes& times) {
  const auto list = v.destination->sessions();
  std::string out = html_section("Sessions of " + v.name + " (" + std::to_string(list.size()) + ")");
  if (list.empty()) return out + "<p>no sessions</p>";
  HtmlTable t{{"remote", "state", "side", "streams", "path changes", "messages sent/received", "age", "last receive"},
              {}};
  for (const auto& s : list) {
    t.rows.push_back({s.remote.address(), s.state, s.initiator ? "initiator" : "responder", std::to_string(s.streams),
                      std::to_string(s.path_changes),
                      std::to_string(s.messages_sent) + "/" + std::to_string(s.messages_received),
                      format_duration(times.now - s.created), format_duration(times.now - s.last_receive) + " ago"});
  }
  return out + html_table(t);
}

}  // namespace

std::string services_page_body(const Node& node, const ConsoleTimes& times) {
  const auto views = read_destinations(node);
  if (node.services().empty() && node.clients().empty() && views.empty()) return no_edges();
  std::string body = services(node) + clients(node) + destinations(views, times);
  for (const auto& v : views) body += sessions(v, times);
  return body;
}

}  // namespace hop::router
