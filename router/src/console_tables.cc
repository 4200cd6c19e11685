#include "console_tables.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "hop/core/errors.h"
#include "netdb_format.h"
#include "text_table.h"

namespace hop::router {

namespace {

using Row = TextRow;

core::Error shape_error(const std::string& what) {
  return core::make_error(core::Errc::kInvalidArgument, "the console's answer is not what this hopline expects: " + what);
}

std::string fixed(double d, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, d);
  return buf;
}

// A scalar as text: strings made printable, numbers as written, null as "-".
std::string text(const JsonValue& v) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull: return "-";
    case JsonValue::Kind::kBool: return *v.as_bool() ? "yes" : "no";
    case JsonValue::Kind::kNumber: return std::string(*v.as_text());
    case JsonValue::Kind::kString: return v.as_text()->empty() ? "-" : printable(*v.as_text());
    default: return "?";
  }
}

std::string short_hash(const JsonValue& v) {
  if (!v.as_text()) return "-";
  return printable(v.as_text()->substr(0, kShortHashLength));
}

std::string millis(const JsonValue& v) {
  const auto d = v.as_number();
  return d ? fixed(*d, 1) + " ms" : "-";
}

std::string seconds(const JsonValue& v) {
  const auto d = v.as_number();
  if (!d || !std::isfinite(*d) || std::fabs(*d) > 1e12) return "-";
  return format_duration(std::chrono::seconds(static_cast<long long>(*d)));
}

std::string bytes_per_second(const JsonValue& v) {
  const auto d = v.as_number();
  if (!d) return "-";
  if (*d >= 1e6) return fixed(*d / 1e6, 1) + " MB/s";
  if (*d >= 1e3) return fixed(*d / 1e3, 1) + " KB/s";
  return fixed(*d, 0) + " B/s";
}

std::string byte_count(const JsonValue& v) {
  const auto d = v.as_number();
  if (!d) return "-";
  if (*d >= 1e9) return fixed(*d / 1e9, 1) + " GB";
  if (*d >= 1e6) return fixed(*d / 1e6, 1) + " MB";
  if (*d >= 1e3) return fixed(*d / 1e3, 1) + " KB";
  return fixed(*d, 0) + " B";
}

std::string ban(const JsonValue& v) {
  if (v.kind() != JsonValue::Kind::kObject) return "-";
  const auto left = v["seconds_left"].as_number();
  std::string out = text(v["reason"]);
  out += left && *left > 0 ? ", " + seconds(v["seconds_left"]) + " left" : ", ended";
  return out;
}

const std::vector<JsonValue>* array_member(const JsonValue& doc, const char* name) {
  if (doc[name].kind() != JsonValue::Kind::kArray) return nullptr;
  return &doc[name].items();
}

void flatten(const JsonValue& v, const std::string& prefix, std::vector<Row>& rows) {
  if (v.kind() != JsonValue::Kind::kObject) {
    rows.push_back({prefix, text(v)});
    return;
  }
  for (const auto& [name, member] : v.members()) flatten(member, prefix.empty() ? name : prefix + "." + name, rows);
}

// connections active failed in out: the counters every edge has.
void add_edge_counters(const JsonValue& e, Row& row) {
  for (const char* n : {"connections", "active", "failed"}) row.push_back(text(e[n]));
  row.push_back(byte_count(e["bytes_in"]));
  row.push_back(byte_count(e["bytes_out"]));
}

std::string lease_set_text(const JsonValue& ls) {
  if (ls.kind() != JsonValue::Kind::kObject) return "unpublished";
  return text(ls["leases"]) + " leases";
}

std::string section(const std::string& title, std::size_t count, const TextRow& header, const std::vector<Row>& rows) {
  std::string out = title + " (" + std::to_string(count) + ")\n";
  return out + (rows.empty() ? "  none\n" : render_table(header, rows, "  "));
}

}  // namespace

core::Result<std::string> format_status_table(const JsonValue& status) {
  if (status.kind() != JsonValue::Kind::kObject) return shape_error("status is not an object");
  std::vector<Row> rows;
  flatten(status, "", rows);
  std::size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r[0].size());
  std::string out;
  for (const auto& r : rows) out += r[0] + std::string(width - r[0].size() + 2, ' ') + r[1] + "\n";
  return out;
}

core::Result<std::string> format_peers_table(const JsonValue& peers) {
  const auto* list = array_member(peers, "peers");
  if (!list) return shape_error("no 'peers' array");
  std::vector<const JsonValue*> sorted;
  for (const auto& p : *list) sorted.push_back(&p);
  std::stable_sort(sorted.begin(), sorted.end(), [](const JsonValue* a, const JsonValue* b) {
    return (*a)["score"].as_number().value_or(0) > (*b)["score"].as_number().value_or(0);
  });
  std::vector<Row> rows;
  for (const JsonValue* p : sorted) {
    const auto score = (*p)["score"].as_number();
    const auto& seen = (*p)["last_seen"];
    rows.push_back({short_hash((*p)["hash"]), score ? fixed(*score, 2) : "-", millis((*p)["srtt_ms"]),
                    bytes_per_second((*p)["bandwidth_bps"]), seen.is_null() ? "never" : text(seen), ban((*p)["ban"])});
  }
  return render_table({"hash", "score", "rtt", "bandwidth", "last-seen", "ban"}, rows) +
         std::to_string(rows.size()) + " peers\n";
}

core::Result<std::string> format_tunnels_table(const JsonValue& tunnels) {
  const auto* list = array_member(tunnels, "tunnels");
  if (!list) return shape_error("no 'tunnels' array");
  std::vector<Row> rows;
  for (const auto& t : *list) {
    std::string hops;
    for (const auto& hop : t["hops"].items()) hops += (hops.empty() ? "" : ">") + short_hash(hop["hash"]);
    const auto dir = t["direction"].as_text();
    const auto& pool = t["pool_name"].is_null() ? t["pool"] : t["pool_name"];  // older nodes: the id only
    rows.push_back({text(t["id"]), text(pool), dir == "inbound" ? "in" : dir == "outbound" ? "out" : text(t["direction"]),
                    text(t["state"]), hops.empty() ? "(0 hops)" : hops, seconds(t["age_s"]), seconds(t["expires_in_s"]),
                    millis(t["latency_ms"])});
  }
  return render_table({"id", "pool", "dir", "state", "hops", "age", "expires", "latency"}, rows) +
         std::to_string(rows.size()) + " tunnels; build success " + text(tunnels["build_success_rate_10m"]) +
         " (10 min), " + text(tunnels["build_success_rate_since_start"]) + " (since start)\n";
}

core::Result<std::string> format_netdb_table(const JsonValue& netdb) {
  const auto* list = array_member(netdb, "routers");
  if (!list) return shape_error("no 'routers' array");
  std::vector<Row> rows;
  for (const auto& r : *list) {
    const auto bw = r["bandwidth_kbps"].as_text();
    rows.push_back({text(r["hash"]), text(r["address"]), r["floodfill"].as_bool().value_or(false) ? "ff" : "-",
                    bw ? std::string(*bw) + " KB/s" : "-", text(r["region"]), text(r["published"])});
  }
  return render_table({"hash", "address", "ff", "bw", "region", "published"}, rows) + std::to_string(rows.size()) + " routers\n";
}


core::Result<std::string> format_services_table(const JsonValue& services) {
  const auto* list = array_member(services, "services");
  const auto* clients = array_member(services, "clients");
  const auto* destinations = array_member(services, "destinations");
  if (!list || !clients || !destinations) return shape_error("no 'services', 'clients' or 'destinations' array");
  std::vector<Row> s, c, d;
  for (const auto& e : *list) {
    Row row{text(e["name"]), text(e["address"]), text(e["target"])};
    add_edge_counters(e, row);
    s.push_back(std::move(row));
  }
  for (const auto& e : *clients) {
    Row row{text(e["name"]), text(e["listen"]), text(e["remote"])};
    add_edge_counters(e, row);
    c.push_back(std::move(row));
  }
  for (const auto& e : *destinations) {
    d.push_back({text(e["name"]), text(e["pool"]), text(e["tunnels"]["inbound"]) + "/" + text(e["tunnels"]["outbound"]),
                 lease_set_text(e["lease_set"]), std::to_string(e["sessions"].items().size()), text(e["open_streams"]),
                 text(e["counters"]["path_changes"])});
  }
  const TextRow edge{"conns", "active", "failed", "in", "out"};
  auto with = [&](TextRow head) {
    head.insert(head.end(), edge.begin(), edge.end());
    return head;
  };
  return section("services", s.size(), with({"name", "address", "target"}), s) +
         section("client tunnels", c.size(), with({"name", "listen", "remote"}), c) +
         section("destinations", d.size(), {"name", "pool", "tunnels in/out", "leaseset", "sessions", "streams",
                                            "path-changes"}, d);
}

}  // namespace hop::router
