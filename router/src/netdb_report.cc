#include "netdb_report.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "hop/core/encoding.h"
#include "hop/netdb/constants.h"
#include "netdb_format.h"
#include "text_table.h"

namespace hop::router {
namespace {

using Row = TextRow;

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// "1 probe", "3 probes".
std::string count_of(std::size_t n, std::string_view thing) {
  return std::to_string(n) + " " + std::string(thing) + (n == 1 ? "" : "s");
}

std::string milliseconds(core::Duration d) {
  return fixed(std::chrono::duration<double, std::milli>(d).count(), 1) + " ms";
}

// A time with its age: "2027-01-15T08:00:00Z (12m30s ago)".
std::string when(core::WallTime t, core::WallTime now) {
  if (t == core::WallTime{}) return "never";
  return format_utc(t) + " (" + format_age(t, now) + ")";
}

// "name" padded so that values line up in one column, below a heading or indented under one.
void line(std::ostream& out, std::string_view name, const std::string& value) {
  out << name << std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') << value << "\n";
}

void field(std::ostream& out, std::string_view name, const std::string& value) {
  line(out, "  " + std::string(name), value);
}

std::string first_address(const netdb::RouterInfo& info) {
  if (info.addresses.empty()) return "-";
  std::string text = printable(format_address(info.addresses.front()));
  if (info.addresses.size() > 1) text += " (+" + std::to_string(info.addresses.size() - 1) + ")";
  return text;
}

std::string status_cell(const NetDbView& view, const StoredRouterView& router) {
  if (!view.is_self(router.hash)) return router_status(router);
  return router.is_valid() ? "self" : "self, " + router_status(router);
}

std::string ban_cell(const netdb::Ban* ban, core::WallTime now) {
  if (ban == nullptr) return "-";
  return now < ban->end ? "banned, " + format_duration(ban->end - now) + " left" : "ended";
}

Row router_row(const NetDbView& view, const StoredRouterView& router, core::WallTime now) {
  const netdb::PeerProfile* profile = view.find_profile(router.hash);
  const std::string score = profile ? fixed(netdb::score(*profile, now), 3) : "-";
  const std::string ban = ban_cell(view.bans.find(router.hash), now);
  if (!router.info) return {router.hash.short_string(), "?", "?", "?", "?", "?", score, ban, status_cell(view, router)};
  const netdb::RouterInfo& info = *router.info;
  return {router.hash.short_string(),
          first_address(info),
          info.floodfill ? "yes" : "no",
          std::to_string(info.bandwidth_kbps),
          info.region.empty() ? "-" : printable(info.region),
          format_age(info.published, now),
          score,
          ban,
          status_cell(view, router)};
}

std::size_t bans_in_force(const netdb::BanList& bans, core::WallTime now) {
  return static_cast<std::size_t>(
      std::count_if(bans.all().begin(), bans.all().end(), [&](const auto& entry) { return now < entry.second.end; }));
}

std::string ban_json(const netdb::Ban& ban, core::WallTime now) {
  const long long left = now < ban.end ? seconds_between(now, ban.end) : 0;
  return "{\"reason\":" + json_string(ban.reason) + ",\"start\":" + json_string(format_utc(ban.start)) +
         ",\"end\":" + json_string(format_utc(ban.end)) + ",\"in_force\":" + (now < ban.end ? "true" : "false") +
         ",\"left_s\":" + std::to_string(left) + "}";
}

std::string info_json(const std::optional<netdb::RouterInfo>& info, core::WallTime now) {
  if (!info) {
    return ",\"addresses\":null,\"floodfill\":null,\"bandwidth_kbps\":null,\"region\":null,\"published\":null,"
           "\"published_age_s\":null";
  }
  std::string j = ",\"addresses\":[";
  for (std::size_t i = 0; i < info->addresses.size(); ++i) {
    j += (i ? "," : "") + json_string(format_address(info->addresses[i]));
  }
  return j + "],\"floodfill\":" + (info->floodfill ? "true" : "false") +
         ",\"bandwidth_kbps\":" + std::to_string(info->bandwidth_kbps) + ",\"region\":" + json_string(info->region) +
         ",\"published\":" + json_string(format_utc(info->published)) +
         ",\"published_age_s\":" + std::to_string(seconds_between(info->published, now));
}

std::string router_json(const NetDbView& view, const StoredRouterView& router, core::WallTime now) {
  const netdb::PeerProfile* profile = view.find_profile(router.hash);
  const netdb::Ban* ban = view.bans.find(router.hash);
  return "{\"hash\":" + json_string(router.hash.to_string()) + ",\"short\":" + json_string(router.hash.short_string()) +
         ",\"self\":" + (view.is_self(router.hash) ? "true" : "false") +
         ",\"status\":" + json_string(router_status(router)) + info_json(router.info, now) +
         ",\"score\":" + (profile ? fixed(netdb::score(*profile, now), 4) : "null") +
         ",\"ban\":" + (ban ? ban_json(*ban, now) : "null") + "}";
}

std::string status_detail(const StoredRouterView& router) {
  if (router.is_valid()) return "ok (verified)";
  switch (*router.refusal) {
    case netdb::Refusal::kExpired:
      return "expired: published more than " + format_duration(netdb::kRouterInfoMaxAge) + " ago";
    case netdb::Refusal::kFromFuture:
      return "from the future: published more than " + format_duration(netdb::kMaxClockSkew) + " ahead of this clock";
    default:
      return std::string(netdb::to_string(*router.refusal)) + ": does not verify; the node ignores it";
  }
}

void print_info_section(std::ostream& out, const StoredRouterView* router, core::WallTime now) {
  if (router == nullptr) {
    line(out, "RouterInfo", "none stored");
    return;
  }
  out << "RouterInfo\n";
  field(out, "status", status_detail(*router));
  field(out, "size", std::to_string(router->wire.size()) + " bytes");
  if (!router->info) return;
  const netdb::RouterInfo& info = *router->info;
  std::string addresses;
  for (const auto& a : info.addresses) {
    addresses += (addresses.empty() ? "" : ", ") + printable(a.transport) + " " + printable(format_address(a));
  }
  field(out, "addresses", addresses.empty() ? "none (it cannot be dialed)" : addresses);
  field(out, "floodfill", info.floodfill ? "yes" : "no");
  field(out, "bandwidth", std::to_string(info.bandwidth_kbps) + " KB/s");
  field(out, "region", info.region.empty() ? "(none)" : printable(info.region));
  field(out, "network", std::to_string(info.network_id));
  field(out, "published", when(info.published, now));
  field(out, "expires", when(info.published + netdb::kRouterInfoMaxAge, now));
  field(out, "signing key", core::to_base32(info.identity.signing_key));
  field(out, "static key", core::to_base32(info.identity.static_key));
  if (auto contact = info.contact()) field(out, "contact", printable(contact->to_string()));
}

void print_score(std::ostream& out, const netdb::PeerProfile& p, core::WallTime now) {
  const netdb::ScoreTerms t = netdb::score_terms(p, now);
  field(out, "score", fixed(netdb::score(p, now), 3));
  field(out, "score terms",
        "freshness " + fixed(t.freshness, 3) + " * (" + fixed(netdb::kWeightReachability, 1) + " * reachability " +
            fixed(t.reachability, 3) + " + " + fixed(netdb::kWeightLatency, 1) + " * latency " + fixed(t.latency, 3) +
            " + " + fixed(netdb::kWeightBandwidth, 1) + " * bandwidth " + fixed(t.bandwidth, 3) + " + " +
            fixed(netdb::kWeightBuilds, 1) + " * builds " + fixed(t.builds, 3) + ")");
}

void print_profile_section(std::ostream& out, const netdb::PeerProfile* p, core::WallTime now) {
  if (p == nullptr) {
    line(out, "profile", "none (never measured)");
    return;
  }
  out << "profile\n";
  field(out, "reachability",
        p->reachability.empty()
            ? "not tested yet"
            : std::to_string(p->window_successes()) + " ok, " + std::to_string(p->window_failures()) +
                  " failed of the last " + count_of(p->reachability.size(), "test") + " (window " +
                  std::to_string(netdb::kReachabilityWindow) + ")");
  field(out, "failing", count_of(p->consecutive_failures, "consecutive failure"));
  field(out, "rtt",
        p->rtt_samples == 0 ? "no sample"
                            : "srtt " + milliseconds(p->srtt) + ", rttvar " + milliseconds(p->rttvar) + " (" +
                                  count_of(p->rtt_samples, "sample") + ")");
  field(out, "bandwidth",
        p->bandwidth_samples == 0 ? "no probe"
                                  : fixed(p->bandwidth, 0) + " B/s (" + count_of(p->bandwidth_samples, "probe") + ")");
  const netdb::BuildCounts b = netdb::decayed(p->builds, now);
  field(out, "builds",
        fixed(b.accepted, 2) + " accepted, " + fixed(b.declined, 2) + " declined, " + fixed(b.timed_out, 2) +
            " timed out (decayed to now, half-life " + format_duration(netdb::kBuildHalfLife) + ")");
  field(out, "last seen", when(p->last_seen, now));
  field(out, "last tested", when(p->last_tested, now));
  print_score(out, *p, now);
}

void print_ban_section(std::ostream& out, const netdb::Ban* ban, core::WallTime now) {
  if (ban == nullptr) {
    line(out, "ban", "none");
    return;
  }
  out << "ban\n";
  field(out, "reason", printable(ban->reason));
  field(out, "start", when(ban->start, now));
  field(out, "end", when(ban->end, now));
  field(out, "state", format_ban_state(*ban, now));
}

}  // namespace

std::string router_status(const StoredRouterView& router) {
  return router.is_valid() ? "ok" : std::string(netdb::to_string(*router.refusal));
}

void print_router_table(std::ostream& out, const NetDbView& view, core::WallTime now) {
  std::vector<Row> rows;
  for (const auto& router : view.routers) rows.push_back(router_row(view, router, now));
  out << render_table({"HASH", "ADDRESS", "FF", "KB/S", "REGION", "PUBLISHED", "SCORE", "BAN", "STATUS"}, rows);
  const auto valid =
      std::count_if(view.routers.begin(), view.routers.end(), [](const auto& r) { return r.is_valid(); });
  out << "RouterInfos: " << view.routers.size() << " (" << valid << " valid); profiles: " << view.profiles.size()
      << "; bans: " << view.bans.size() << " (" << bans_in_force(view.bans, now) << " in force)";
  if (view.skipped_rows > 0) out << "; unreadable rows skipped: " << view.skipped_rows;
  out << "\n";
}

void print_router_json(std::ostream& out, const NetDbView& view, core::WallTime now) {
  out << "{\"now\":" << json_string(format_utc(now))
      << ",\"self\":" << (view.self ? json_string(view.self->to_string()) : "null") << ",\"routers\":[";
  for (std::size_t i = 0; i < view.routers.size(); ++i) {
    out << (i ? ",\n" : "\n") << router_json(view, view.routers[i], now);
  }
  out << "\n],\"profiles\":" << view.profiles.size() << ",\"bans\":" << view.bans.size()
      << ",\"skipped_rows\":" << view.skipped_rows << "}\n";
}

void print_router_detail(std::ostream& out, const NetDbView& view, const core::RouterHash& hash, core::WallTime now) {
  line(out, "router", hash.to_string() + (view.is_self(hash) ? " (self: this node)" : ""));
  print_info_section(out, view.find_router(hash), now);
  print_profile_section(out, view.find_profile(hash), now);
  print_ban_section(out, view.bans.find(hash), now);
}

void print_ban_table(std::ostream& out, const NetDbView& view, core::WallTime now) {
  if (view.bans.size() == 0) {
    out << "no bans\n";
    return;
  }
  std::vector<Row> rows;
  for (const auto& [hash, ban] : view.bans.all()) {
    rows.push_back({hash.short_string(), format_utc(ban.start), format_utc(ban.end), format_ban_state(ban, now),
                    printable(ban.reason)});
  }
  out << render_table({"HASH", "START", "END", "STATE", "REASON"}, rows);
  out << "bans: " << view.bans.size() << " (" << bans_in_force(view.bans, now) << " in force)\n";
}

}  // namespace hop::router
