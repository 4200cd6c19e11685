#include "hop/router/proxy_cli.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>

#include "cli_args.h"
#include "hop/core/errors.h"
#include "hop/proxy/geoip.h"
#include "hop/proxy/ip.h"
#include "hop/proxy/proxy_state.h"
#include "hop/proxy/routing_db.h"
#include "hop/proxy/routing_reloader.h"
#include "hop/proxy/selection.h"
#include "hop/router/config.h"
#include "hop/router/console_client.h"
#include "hop/router/proxy_host.h"
#include "json_writer.h"
#include "netdb_format.h"
#include "text_table.h"

namespace hop::router {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUsage =
    R"(usage: hopline proxy COMMAND [options]

commands:
  init-db PATH    create an empty routing.db at PATH (tables backends and geo_overrides)
  check SOURCE    load routing.db (and the GeoIP database) as the proxy would: the backends and
                  geo overrides it would use, and every row it would skip, with the reason
  explain --ip ADDR [--app NAME] SOURCE [--json]
                  where the proxy would send a client from ADDR, and why: its place (geo
                  override or GeoIP), every backend with its tier and score or the reason it is
                  left out, and the backend it would choose
  status [--console URL] [--json]
                  a running node's proxy, from its console (default http://127.0.0.1:7070):
                  listeners, routing.db state, counters, backends with load and health;
                  --json prints the console's answer as served. The default command.

SOURCE is one of
  --config FILE   the node's config: its proxy.routing_db, proxy.geoip and proxy.region
                  (relative paths are inside its data_dir)
  --routing-db PATH [--geoip PATH] [--region R]
                  the files themselves, and the POP's own region (proxy.region)
)";

constexpr std::string_view kAssumptions =
    "offline: scores assume no open connections (all slots empty) and no connect-time history; client affinity is not "
    "considered (a client seen within proxy.affinity_ttl goes back to its last backend)";

// ---- arguments ----

enum class Command { kInitDb, kCheck, kExplain, kStatus };

struct Options {
  Command command = Command::kStatus;
  std::string init_path;                 // init-db PATH
  std::string config;                    // --config
  std::string routing_db;                // --routing-db
  std::string geoip;                     // --geoip
  std::optional<std::string> region;     // --region
  std::optional<proxy::IpAddress> ip;    // --ip
  std::string app;                       // --app
  std::string console = std::string(kDefaultConsoleUrl);
  bool json = false;
  std::vector<std::string> given;        // option names as given, to check they fit the command
};

std::optional<Command> command_named(std::string_view name) {
  if (name == "init-db") return Command::kInitDb;
  if (name == "check") return Command::kCheck;
  if (name == "explain") return Command::kExplain;
  if (name == "status") return Command::kStatus;
  return std::nullopt;
}

// The options each command takes, space-separated.
std::string_view options_of(Command c) {
  switch (c) {
    case Command::kInitDb: return "";
    case Command::kCheck: return "--config --routing-db --geoip --region";
    case Command::kExplain: return "--config --routing-db --geoip --region --ip --app --json";
    case Command::kStatus: return "--console --json";
  }
  return "";
}

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Stores the value of option `name` (already known to take one).
core::Status set_value(Options& o, const std::string& name, const std::string& value) {
  if (value.empty()) return usage_error(name + " needs a value");
  if (name == "--config") {
    o.config = value;
  } else if (name == "--routing-db") {
    o.routing_db = value;
  } else if (name == "--geoip") {
    o.geoip = value;
  } else if (name == "--region") {
    o.region = lower(value);
  } else if (name == "--app") {
    o.app = value;
  } else if (name == "--console") {
    o.console = value;
  } else if (name == "--ip") {
    auto ip = proxy::parse_ip(value);
    if (!ip) return usage_error("--ip '" + printable(value) + "' is not an IPv4 or IPv6 address (192.0.2.1, 2001:db8::1)");
    o.ip = *ip;
  }
  return {};
}

// Applies one `--name[=value]` option; `next` yields the following argument as its value.
core::Status apply_option(Options& o, std::string_view arg, const NextArg& next) {
  const auto eq = arg.find('=');
  const std::string name(arg.substr(0, eq));
  const bool inline_value = eq != std::string_view::npos;
  o.given.push_back(name);
  if (name == "--json") {
    if (inline_value) return usage_error("--json takes no value");
    o.json = true;
    return {};
  }
  static constexpr std::string_view kValued = " --config --routing-db --geoip --region --ip --app --console ";
  if (kValued.find(" " + name + " ") == std::string_view::npos) return usage_error("unknown option '" + printable(name) + "'");
  const std::optional<std::string> value = inline_value ? std::string(arg.substr(eq + 1)) : next();
  return set_value(o, name, value.value_or(""));
}

std::string_view name_of(Command c) {
  switch (c) {
    case Command::kInitDb: return "init-db";
    case Command::kCheck: return "check";
    case Command::kExplain: return "explain";
    case Command::kStatus: return "status";
  }
  return "?";
}

// Whether `--config` or `--routing-db` (exactly one) says where the files are.
core::Status check_source(const Options& o) {
  if (o.config.empty() && o.routing_db.empty()) {
    return usage_error(std::string(name_of(o.command)) +
                       " needs --config FILE (the node's config) or --routing-db PATH (the file itself)");
  }
  if (!o.config.empty() && !o.routing_db.empty()) return usage_error("give --config or --routing-db, not both");
  if (!o.config.empty() && (!o.geoip.empty() || o.region)) {
    return usage_error("--geoip and --region go with --routing-db; with --config the config's proxy.geoip and "
                       "proxy.region are used");
  }
  return {};
}

core::Status check_options(const Options& o, const std::vector<std::string>& positional) {
  const std::string allowed = " " + std::string(options_of(o.command)) + " ";
  for (const auto& name : o.given) {
    if (allowed.find(" " + name + " ") == std::string::npos) {
      return usage_error(name + " does not go with " + std::string(name_of(o.command)));
    }
  }
  const std::size_t wanted = o.command == Command::kInitDb ? 2 : 1;
  if (o.command == Command::kInitDb && positional.size() < 2) return usage_error("init-db needs a PATH (e.g. routing.db)");
  if (positional.size() > wanted) return usage_error("unexpected argument '" + printable(positional[wanted]) + "'");
  if (o.command == Command::kCheck || o.command == Command::kExplain) {
    if (auto st = check_source(o); !st) return st;
  }
  if (o.command == Command::kExplain && !o.ip) return usage_error("explain needs --ip ADDR (the client's address)");
  if (o.command == Command::kStatus) {
    if (auto url = parse_console_url(o.console); !url) return url.error();
  }
  return {};
}

// `positional` starts with the command; none (only options) is status.
core::Result<Options> parse_options(const std::vector<std::string>& args) {
  Options o;
  auto split = split_args(args, [&o](std::string_view arg, const NextArg& next) { return apply_option(o, arg, next); });
  if (!split) return split.error();
  std::vector<std::string>& positional = *split;
  if (positional.empty()) positional.emplace_back("status");
  const auto command = command_named(positional.front());
  if (!command) return usage_error("unknown proxy command '" + printable(positional.front()) + "'");
  o.command = *command;
  if (o.command == Command::kInitDb && positional.size() > 1) o.init_path = positional[1];
  if (auto st = check_options(o, positional); !st) return st.error();
  return o;
}

// ---- text helpers ----

using Row = TextRow;

std::string or_dash(std::string_view s) { return s.empty() ? "-" : printable(s); }

std::string plural(std::size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string format_score(double score) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", score);
  return buf;
}

// `text` quoted for a POSIX shell when it needs it.
std::string shell_quoted(const std::string& text) {
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || std::string_view("/._-+:@").find(ch) != std::string_view::npos;
  });
  if (plain) return text;
  std::string out = "'";
  for (const char ch : text) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// ---- loading routing.db and GeoIP as the proxy does ----

struct Sources {
  fs::path routing_db;
  fs::path geoip;      // empty: none configured
  std::string region;  // the POP's own region, lower case
};

// The files named by --routing-db/--geoip/--region, or by the node config given with --config
// (its relative paths inside its data_dir, as the node resolves them).
core::Result<Sources> resolve_sources(const Options& o) {
  if (o.config.empty()) return Sources{o.routing_db, o.geoip, o.region.value_or("")};
  auto map = read_config_file(o.config);
  if (!map) return map.error();
  auto config = build_node_config(*map);
  if (!config) return config.error().wrap("reading " + o.config);
  return Sources{resolve_in(config->data_dir, config->proxy.routing_db), resolve_in(config->data_dir, config->proxy.geoip),
                 config->proxy.region};
}

// What the proxy would route by, loaded offline. Slots are fresh: no connection, no history.
struct Loaded {
  Sources sources;
  proxy::BackendSlots slots;
  std::shared_ptr<const proxy::RoutingSnapshot> snapshot;
  std::vector<proxy::SkippedRow> skipped;

  const proxy::RoutingTable& table() const { return snapshot->table->table(); }
};

// Loads both files with the proxy's own code (load_snapshot) and the policy ProxyHost uses.
core::Result<std::unique_ptr<Loaded>> load(const Sources& sources) {
  auto loaded = std::make_unique<Loaded>();
  loaded->sources = sources;
  proxy::SelectionPolicy policy{.pop_region = sources.region};
  auto snapshot = proxy::load_snapshot(sources.routing_db, sources.geoip, loaded->slots, policy, &loaded->skipped);
  if (!snapshot) return snapshot.error();
  loaded->snapshot = *snapshot;
  return loaded;
}

std::string geoip_text(const Loaded& l) {
  return l.snapshot->geoip ? l.snapshot->geoip->description() : "none configured (clients are placed by geo_overrides only)";
}

std::string summary(const Loaded& l) {
  return plural(l.table().backends.size(), "backend", "backends") + ", " +
         plural(l.table().overrides.size(), "geo override", "geo overrides") + ", " +
         plural(l.skipped.size(), "row", "rows") + " skipped";
}

// ---- init-db ----

core::Status run_init_db(const Options& o, std::ostream& out) {
  if (auto st = proxy::init_routing_db(o.init_path); !st) return st;
  const std::string path = shell_quoted(o.init_path);
  out << "created routing.db " << o.init_path
      << ": tables backends and geo_overrides (schema version 1, WAL mode), no rows yet\n"
      << "add a backend, for example:\n"
      << "  sqlite3 " << path
      << " \"INSERT INTO backends(id, country, continent, target, soft_limit, hard_limit)"
         " VALUES ('fra-1', 'DE', 'EU', '192.0.2.10:8080', 200, 500);\"\n"
      << "docs/routing_db.md describes every column; hopline proxy check --routing-db " << path
      << " shows what the proxy would load\n";
  return {};
}

// ---- check ----

std::string backends_table(const proxy::RoutingTable& table) {
  if (table.backends.empty()) return "no backends: the proxy would refuse every client (docs/routing_db.md: adding one)\n";
  std::vector<Row> rows;
  for (const auto& b : table.backends) {
    rows.push_back({b.id, or_dash(b.app), or_dash(b.region), or_dash(b.country), or_dash(b.continent), b.target_text,
                    std::to_string(b.weight), std::to_string(b.soft_limit), std::to_string(b.hard_limit),
                    b.healthy ? "yes" : "no (drained)"});
  }
  return "backends:\n" +
         render_table({"id", "app", "region", "country", "continent", "target", "weight", "soft", "hard", "healthy"}, rows, "  ");
}

std::string overrides_table(const proxy::RoutingTable& table) {
  if (table.overrides.empty()) return "geo overrides: none\n";
  std::vector<Row> rows;
  for (const auto& g : table.overrides) {
    rows.push_back({proxy::to_string(g.prefix), or_dash(g.country), or_dash(g.continent), or_dash(g.region)});
  }
  return "geo overrides (most specific first):\n" + render_table({"cidr", "country", "continent", "region"}, rows, "  ");
}

std::string skipped_table(const std::vector<proxy::SkippedRow>& skipped) {
  if (skipped.empty()) return "skipped rows: none\n";
  std::vector<Row> rows;
  for (const auto& s : skipped) rows.push_back({s.table, or_dash(s.key), printable(s.reason)});
  return "skipped rows (left out; the other rows load):\n" + render_table({"table", "key", "reason"}, rows, "  ");
}

void print_check(std::ostream& out, const Loaded& l) {
  out << "routing.db:  " << l.sources.routing_db.string() << "\n"
      << "GeoIP:       " << geoip_text(l) << "\n"
      << "POP region:  " << (l.sources.region.empty() ? "(none)" : l.sources.region) << "\n\n"
      << backends_table(l.table()) << "\n"
      << overrides_table(l.table()) << "\n"
      << skipped_table(l.skipped) << "\n"
      << "loads: " << summary(l) << "\n";
}

// ---- explain ----

// Where the client is, and how that was decided.
struct GeoAnswer {
  proxy::Place place;
  std::string override_cidr;          // source kOverride: the geo_override that matched
  std::optional<proxy::Place> geoip;  // source kOverride: what GeoIP says (the override wins)
  std::string unknown;                // source kNone: why
};

// The first (most specific: the table keeps them sorted) override containing `client`.
std::string matching_override(const proxy::RoutingTable& table, const proxy::IpAddress& client) {
  for (const auto& g : table.overrides) {
    if (g.prefix.contains(client)) return proxy::to_string(g.prefix);
  }
  return "?";
}

GeoAnswer locate_client(const proxy::RoutingSnapshot& snapshot, const proxy::IpAddress& client) {
  GeoAnswer a;
  a.place = proxy::locate(snapshot, client, nullptr);  // the proxy's own answer
  std::optional<core::Result<std::optional<proxy::Place>>> looked_up;
  if (snapshot.geoip) looked_up = snapshot.geoip->lookup(client);
  if (a.place.source == proxy::Place::Source::kOverride) {
    a.override_cidr = matching_override(snapshot.table->table(), client);
    if (looked_up && *looked_up) a.geoip = **looked_up;
  } else if (a.place.source == proxy::Place::Source::kNone) {
    if (!looked_up) {
      a.unknown = "no GeoIP database configured, and no geo_override matched";
    } else if (!*looked_up) {
      a.unknown = "the GeoIP lookup failed: " + looked_up->error().message();
    } else {
      a.unknown = "not in the GeoIP database, and no geo_override matched";
    }
  }
  return a;
}

// "country SE, continent EU" (the fields that are set).
std::string place_fields(const proxy::Place& p) {
  std::string out;
  auto add = [&](const char* name, const std::string& value) {
    if (!value.empty()) out += (out.empty() ? "" : ", ") + std::string(name) + " " + value;
  };
  add("country", p.country);
  add("continent", p.continent);
  add("region", p.region);
  return out.empty() ? "nothing" : out;
}

std::string place_text(const GeoAnswer& a, const Loaded& l) {
  switch (a.place.source) {
    case proxy::Place::Source::kOverride:
      return place_fields(a.place) + " (geo_override " + a.override_cidr + ")" +
             (a.geoip ? "; GeoIP says " + place_fields(*a.geoip) + ", the override wins" : "");
    case proxy::Place::Source::kGeoIp:
      return place_fields(a.place) + " (GeoIP: " + l.snapshot->geoip->description() + ")";
    case proxy::Place::Source::kNone: break;
  }
  return "unknown (" + a.unknown + ")";
}

struct Explanation {
  std::string client;
  std::string app;
  GeoAnswer geo;
  std::vector<proxy::Evaluation> backends;  // candidates best first, then the excluded
  std::optional<std::size_t> choice;  // index into backends: the first candidate
  std::size_t ties = 0;                // other candidates with the choice's tier and score
  std::string no_backend;              // no choice: why

  const proxy::Evaluation& chosen() const { return backends[*choice]; }
};


std::string why_no_backend(const Explanation& e, const Loaded& l) {
  if (l.table().backends.empty()) return "routing.db has no backends (docs/routing_db.md: adding one)";
  const bool any_serves = std::any_of(e.backends.begin(), e.backends.end(),
                                      [&](const proxy::Evaluation& ev) { return proxy::serves(*ev.backend, e.app); });
  if (!any_serves) return "no backend serves app '" + printable(e.app) + "' or every app (app '')";
  return "every backend that serves this app is left out (reasons above)";
}

// The fresh slots have no breaker history, so the time evaluate_backends judges breakers at
// cannot matter; no clock is read.
Explanation explain(const Loaded& l, const proxy::IpAddress& client, const std::string& app) {
  Explanation e{.client = proxy::to_string(client), .app = app, .geo = locate_client(*l.snapshot, client)};
  e.backends = proxy::evaluate_backends(*l.snapshot->table, e.geo.place, app, l.slots, core::TimePoint{});
  if (!e.backends.empty() && e.backends.front().excluded.empty()) {
    e.choice = 0;
    for (std::size_t i = 1; i < e.backends.size() && e.backends[i].excluded.empty(); ++i) {
      if (e.backends[i].tier == e.chosen().tier && e.backends[i].score == e.chosen().score) ++e.ties;
    }
  } else {
    e.no_backend = why_no_backend(e, l);
  }
  return e;
}

std::string evaluation_table(const Explanation& e) {
  if (e.backends.empty()) return "backends: none\n";
  std::vector<Row> rows;
  for (const auto& ev : e.backends) {
    rows.push_back({ev.backend->id, or_dash(ev.backend->app), ev.backend->target_text, proxy::to_string(ev.tier),
                    format_score(ev.score), ev.excluded.empty() ? "candidate" : "left out: " + ev.excluded});
  }
  return "backends (candidates best first: tier, then score, lower is better; then those left out):\n" +
         render_table({"id", "app", "target", "tier", "score", "verdict"}, rows, "  ");
}

std::string verdict_text(const Explanation& e) {
  if (!e.choice) return "no backend can take this client: " + e.no_backend + "\n";
  std::string out = "would choose: " + e.chosen().backend->id + " (tier " + proxy::to_string(e.chosen().tier) +
                    ", score " + format_score(e.chosen().score) + ")\n";
  if (e.ties > 0) {
    out += "  " + plural(e.ties, "other candidate has", "other candidates have") +
           " the same tier and score: the proxy rotates new clients among them\n";
  }
  return out;
}

void print_explanation(std::ostream& out, const Explanation& e, const Loaded& l) {
  out << "client:      " << e.client << "\n"
      << "app:         " << (e.app.empty() ? "'' (a listener without app=NAME)" : printable(e.app)) << "\n"
      << "routing.db:  " << l.sources.routing_db.string() << " (" << summary(l) << ")\n"
      << "GeoIP:       " << geoip_text(l) << "\n"
      << "POP region:  " << (l.sources.region.empty() ? "(none)" : l.sources.region) << "\n"
      << "place:       " << place_text(e.geo, l) << "\n"
      << "note:        " << kAssumptions << "\n\n"
      << evaluation_table(e) << "\n"
      << verdict_text(e);
}

// `f` as the double of its shortest text, so JSON shows 0.0005 rather than 0.0005000000237487257.
double json_float(float f) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf - 1, f);
  if (ec != std::errc()) return static_cast<double>(f);
  *end = '\0';
  return std::strtod(buf, nullptr);
}

std::string_view source_name(proxy::Place::Source s) {
  switch (s) {
    case proxy::Place::Source::kOverride: return "geo_override";
    case proxy::Place::Source::kGeoIp: return "geoip";
    case proxy::Place::Source::kNone: break;
  }
  return "unknown";
}

void write_place(JsonWriter& j, const GeoAnswer& a) {
  j.key("place").begin_object().member("source", source_name(a.place.source));
  j.member("country", a.place.country).member("continent", a.place.continent).member("region", a.place.region);
  j.key("geo_override");
  a.override_cidr.empty() ? j.null() : j.value(a.override_cidr);
  j.member("unknown_reason", a.unknown).end_object();
}

void write_backends(JsonWriter& j, const Explanation& e) {
  j.key("backends").begin_array();
  for (const auto& ev : e.backends) {
    j.begin_object().member("id", ev.backend->id).member("app", ev.backend->app).member("target", ev.backend->target_text);
    j.member("tier", proxy::to_string(ev.tier)).member("score", json_float(ev.score));
    j.member("candidate", ev.excluded.empty()).member("excluded", ev.excluded).end_object();
  }
  j.end_array();
}

std::string explanation_json(const Explanation& e, const Loaded& l) {
  JsonWriter j;
  j.begin_object().member("client", e.client).member("app", e.app).member("routing_db", l.sources.routing_db.string());
  j.key("geoip");
  l.snapshot->geoip ? j.value(l.snapshot->geoip->description()) : j.null();
  j.member("pop_region", l.sources.region).member("skipped_rows", std::uint64_t{l.skipped.size()});
  write_place(j, e.geo);
  j.member("assumptions", kAssumptions);
  write_backends(j, e);
  j.key("choice");
  if (e.choice) {
    j.begin_object().member("id", e.chosen().backend->id).member("tier", proxy::to_string(e.chosen().tier));
    j.member("score", json_float(e.chosen().score)).member("ties", std::uint64_t{e.ties}).end_object();
  } else {
    j.null();
  }
  j.member("no_backend", e.no_backend).end_object();
  return j.str() + "\n";
}

// ---- status (GET /api/v1/proxy) ----

// A scalar as text: strings made printable, numbers as written, null or "" as "-".
std::string json_text(const JsonValue& v) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull: return "-";
    case JsonValue::Kind::kBool: return *v.as_bool() ? "yes" : "no";
    case JsonValue::Kind::kNumber: return std::string(*v.as_text());
    case JsonValue::Kind::kString: return or_dash(*v.as_text());
    default: return "?";
  }
}

std::string bytes_text(const JsonValue& v) {
  const auto n = v.as_number();
  if (!n) return "-";
  char buf[32];
  if (*n >= 1e9) std::snprintf(buf, sizeof buf, "%.1f GB", *n / 1e9);
  else if (*n >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", *n / 1e6);
  else if (*n >= 1e3) std::snprintf(buf, sizeof buf, "%.1f KB", *n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f B", *n);
  return buf;
}

// "a 1, b 2" from an object of counters, in document order.
std::string counter_list(const JsonValue& v) {
  std::string out;
  for (const auto& [name, value] : v.members()) out += (out.empty() ? "" : ", ") + printable(name) + " " + json_text(value);
  return out.empty() ? "-" : out;
}

std::string listeners_text(const JsonValue& listeners) {
  if (listeners.items().empty()) return "listeners:    none\n";
  std::vector<Row> rows;
  for (const auto& l : listeners.items()) rows.push_back({json_text(l["address"]), json_text(l["app"]), json_text(l["proxy_protocol"])});
  return "listeners:\n" + render_table({"address", "app", "proxy_protocol"}, rows, "  ");
}

std::string routing_text(const JsonValue& r) {
  std::string out = "routing.db:   " + json_text(r["path"]) + ", version " + json_text(r["version"]) + ", loaded " +
                    json_text(r["loaded_at"]) + "\n" + "              " + json_text(r["backends"]) + " backends, " +
                    json_text(r["overrides"]) + " geo overrides, " + plural(r["skipped"].items().size(), "row", "rows") +
                    " skipped\n";
  for (const auto& s : r["skipped"].items()) {
    out += "  skipped " + json_text(s["table"]) + " row '" + json_text(s["key"]) + "': " + json_text(s["reason"]) + "\n";
  }
  if (const auto e = r["last_error"].as_text(); e && !e->empty()) {
    out += "last error:   " + printable(*e) + " (at " + json_text(r["last_error_at"]) +
           "; the proxy keeps routing with version " + json_text(r["version"]) + ")\n";
  }
  out += "GeoIP:        " + json_text(r["geoip"]) + "\n";
  if (const auto e = r["geoip_error"].as_text(); e && !e->empty()) out += "GeoIP error:  " + printable(*e) + "\n";
  return out;
}

std::string counters_text(const JsonValue& p) {
  const auto& c = p["connections"];
  const auto& a = p["affinity"];
  return "connections:  " + json_text(c["current"]) + " open (at most " + json_text(c["max"]) + "), " + json_text(c["accepted_total"]) +
         " accepted\n" + "refused:      " + counter_list(p["refused"]) + "\n" + "errors:       accept " +
         json_text(p["accept_errors"]) + ", geoip misses " + json_text(p["geoip_misses"]) + ", geoip errors " +
         json_text(p["geoip_errors"]) + "\n" + "hits:         geo_override " + json_text(p["override_hits"]) + ", affinity " +
         json_text(p["affinity_hits"]) + "\n" + "affinity:     " + json_text(a["entries"]) + " of " + json_text(a["capacity"]) +
         " bindings, ttl " + json_text(a["ttl_seconds"]) + " s\n" + "selection:    " + json_text(p["selection"]["count"]) +
         " selections, mean " + json_text(p["selection"]["mean_us"]) + " us\n";
}

std::string error_sum(const JsonValue& errors) {
  if (errors.members().empty()) return "-";
  double sum = 0;
  for (const auto& [name, value] : errors.members()) sum += value.as_number().value_or(0);
  return format_score(sum);
}

Row backend_row(const JsonValue& b) {
  const std::string place = json_text(b["country"]) + "/" + json_text(b["continent"]) + "/" + json_text(b["region"]);
  const auto healthy = b["healthy"].as_bool();
  const std::string health = (healthy ? (*healthy ? "healthy" : "unhealthy") : "-") + std::string(", ") + json_text(b["breaker"]);
  const auto connect = b["connect_time_ms"].as_number();
  return {json_text(b["id"]), json_text(b["app"]), place, json_text(b["target"]),
          json_text(b["active"]) + "/" + json_text(b["soft_limit"]) + "/" + json_text(b["hard_limit"]), health,
          json_text(b["connections_total"]), bytes_text(b["bytes_to_backend"]) + " / " + bytes_text(b["bytes_from_backend"]),
          connect ? format_score(*connect) + " ms" : "-", error_sum(b["errors"])};
}

std::string backends_status_text(const JsonValue& backends) {
  if (backends.items().empty()) return "backends: none\n";
  std::vector<Row> rows;
  for (const auto& b : backends.items()) rows.push_back(backend_row(b));
  return "backends:\n" + render_table({"id", "app", "place", "target", "active/soft/hard", "health", "connections",
                                 "bytes to/from", "connect", "errors"},
                                rows, "  ");
}

// GET /api/v1/proxy as text; on failure, what went wrong (every line of it says which console).
std::optional<std::string> status_text(const ConsoleUrl& url, const ConsoleReply& reply, bool json, std::string& why) {
  const auto fail = [&why](const std::string& what) -> std::optional<std::string> {
    why = what;
    return std::nullopt;
  };
  if (reply.failure == ConsoleFailure::kUnreachable) {
    return fail("cannot reach the console at " + url.text + " (" + reply.reason +
                "): is the node running with console.listen set?");
  }
  if (reply.failure == ConsoleFailure::kBadAnswer) {
    return fail("the console at " + url.text + " gave no complete answer (" + reply.reason + ")");
  }
  if (reply.status == 404) return fail("the console at " + url.text + " has no /api/v1/proxy: is the node an older hopline?");
  if (reply.status != 200) {
    return fail("the console at " + url.text + " answered " + std::to_string(reply.status) +
                " to GET /api/v1/proxy: " + printable(reply.body));
  }
  if (json) return reply.body + (reply.body.empty() || reply.body.back() != '\n' ? "\n" : "");
  auto doc = parse_json(reply.body);
  if (!doc) return fail("the console at " + url.text + " sent JSON this hopline cannot read: " + doc.error().context);
  auto table = format_proxy_status(*doc);
  if (!table) return fail(table.error().context);
  return *table;
}

int run_status(const Options& o, std::ostream& out, std::ostream& err) {
  const auto url = parse_console_url(o.console);  // checked while parsing the options
  if (!url) return kExitUsage;
  std::string why;
  const auto text = status_text(*url, console_get(*url, "/api/v1/proxy"), o.json, why);
  if (!text) {
    err << "hopline proxy: " << why << "\n";
    return kExitError;
  }
  out << *text;
  return kExitOk;
}

core::Status run_command(const Options& o, std::ostream& out) {
  if (o.command == Command::kInitDb) return run_init_db(o, out);
  auto sources = resolve_sources(o);
  if (!sources) return sources.error();
  auto loaded = load(*sources);
  if (!loaded) return loaded.error();
  if (o.command == Command::kCheck) {
    print_check(out, **loaded);
    return {};
  }
  const Explanation e = explain(**loaded, *o.ip, o.app);
  if (o.json) {
    out << explanation_json(e, **loaded);
  } else {
    print_explanation(out, e, **loaded);
  }
  return {};
}

}  // namespace

core::Result<std::string> format_proxy_status(const JsonValue& proxy) {
  const auto shape_error = [](const std::string& what) {
    return core::make_error(core::Errc::kInvalidArgument, "the console's /api/v1/proxy answer is not what this hopline expects: " + what);
  };
  if (proxy.kind() != JsonValue::Kind::kObject) return shape_error("not an object");
  const auto enabled = proxy["enabled"].as_bool();
  if (!enabled) return shape_error("no boolean 'enabled'");
  if (!*enabled) {
    return std::string(
        "this node runs no geo-proxy: set proxy.listen in its config (e.g. proxy.listen = 0.0.0.0:8080, or\n"
        "--proxy.listen=0.0.0.0:8080) with proxy.routing_db (hopline proxy init-db creates one) and restart it;\n"
        "see docs/proxy.md\n");
  }
  return "proxy:        enabled, " + json_text(proxy["workers"]) + " workers\n" + listeners_text(proxy["listeners"]) +
         routing_text(proxy["routing"]) + counters_text(proxy) + "\n" + backends_status_text(proxy["backends"]) +
         std::to_string(proxy["backends"].items().size()) + " backends\n";
}

int run_proxy_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (!args.empty() && is_help(args.front())) {
    out << kUsage;
    return kExitOk;
  }
  auto options = parse_options(args);
  if (!options) {
    err << "hopline proxy: " << options.error().context << "\n(hopline proxy help lists the commands)\n";
    return kExitUsage;
  }
  if (options->command == Command::kStatus) return run_status(*options, out, err);
  if (auto st = run_command(*options, out); !st) {
    err << "hopline proxy: " << st.error().message() << "\n";
    return kExitError;
  }
  return kExitOk;
}

}  // namespace hop::router
