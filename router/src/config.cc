#include "hop/router/config.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "hop/core/errors.h"
#include "hop/core/files.h"
#include "config_setters.h"
#include "text_lines.h"

namespace hop::router {
namespace {

using core::Errc;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

constexpr std::size_t kMaxConfigFile = 1 << 20;

}  // namespace

const std::vector<ConfigKeyDoc>& config_keys() {
  static const std::vector<ConfigKeyDoc> keys = [] {
    std::vector<ConfigKeyDoc> docs = {
      {"network_id", "1", "overlay id; nodes with different ids never link"},
      {"data_dir", "hopline-data", "directory for identity.key and netdb.sqlite (routers, profiles, bans)"},
      {"listen", "127.0.0.1:7100", "address:port the link listener binds ([v6]:port for IPv6)"},
      {"seed_file", "(none)", "seeds: host:port:static-key lines, or routerinfo:BASE32 lines from hopline netdb export"},
      {"log.level", "info", "trace, debug, info, warn, error, critical or off"},
      {"log.file", "(stdout)", "log to this file instead of stdout"},
      {"links.hard_limit", "1500", "most connections; inbound ones beyond are refused"},
      {"links.soft_limit", "75% of hard_limit", "above it no new dials and the idlest link is evicted"},
      {"links.handshake_timeout", "10s", "a connection must complete its handshake within this"},
      {"links.idle_timeout", "5m", "a link without messages for this long is closed (not seeds)"},
      {"links.ping_interval", "30s", "how often each link is pinged to measure RTT"},
      {"links.ping_timeout", "20s", "a ping unanswered this long closes the link"},
      {"links.max_queued_bytes", "4194304", "bytes a link queues for sending before backpressure"},
      {"netdb.floodfill", "false", "serve the floodfill DHT: store and answer for others' records"},
      {"netdb.bandwidth_kbps", "1024", "this node's bandwidth (KB/s); tunnels.share of it is shared and advertised"},
      {"netdb.region", "(empty)", "country or region hint advertised in our RouterInfo, e.g. DE"},
      {"netdb.explore_interval", "30s", "an exploratory lookup of a random key about this often, to find peers"},
      {"netdb.probe_interval", "2m", "each known peer's reachability is tested about this often (±25%)"},
      {"netdb.probe_timeout", "15s", "a reachability test without a link by then has failed"},
      {"netdb.probe_budget", "30", "most reachability tests started per minute"},
      {"netdb.bandwidth_probe_bytes", "262144", "size of a bandwidth probe burst; 0: no bandwidth probes"},
      {"netdb.bandwidth_probe_interval", "10m", "each linked peer's bandwidth is measured about this often"},
      {"netdb.ban_after_failures", "3", "failed reachability tests in a row that ban a peer; 0: never ban"},
      {"netdb.ban_duration", "24h", "how long a ban lasts; only time lifts it"},
      {"netdb.min_score", "0.3", "score (0-1) a peer needs to enter the selection pool of tunnel hops"},
      {"netdb.selection_capacity", "300", "most peers in the selection pool (the best are kept)"},
      {"tunnels.inbound_quantity", "2", "inbound tunnels in the exploratory pool (1-6)"},
      {"tunnels.outbound_quantity", "2", "outbound tunnels in the exploratory pool (1-6)"},
      {"tunnels.length", "3", "hops per tunnel (0-7; 0: direct links)"},
      {"tunnels.lifetime", "10m", "a tunnel is used this long; its successor is built before it expires"},
      {"tunnels.build_timeout", "10s", "a build unanswered this long has failed; every hop is charged"},
      {"tunnels.test_interval", "30s", "each tunnel is tested (out one tunnel, back another) this often"},
      {"tunnels.max_transit", "5000", "most tunnels this node carries for others; builds beyond are refused"},
      {"tunnels.share", "80", "percent of netdb.bandwidth_kbps that transit tunnels may use (token bucket)"},
      {"tunnels.min_hop_bandwidth_kbps", "128", "peers sharing less are not chosen as hops (relaxed in small overlays)"},
      {"tunnels.build_rate_per_peer", "60", "build requests per minute accepted from one previous hop"},
      {"console.listen", "127.0.0.1:7070", "address:port of the console (JSON API, /metrics); off: no console"},
      {"console.token", "(empty)", "bearer token for state-changing requests; required off loopback"},
      {"demo.backend", "(none)", "NAME HOST:PORT: run the built-in demo responder (HTTP: hello from NAME; else echo) there"},
    };
    add_proxy_key_docs(docs);
    add_edge_key_docs(docs);
    return docs;
  }();
  return keys;
}

std::vector<std::string> changed_keys(const ConfigMap& before, const ConfigMap& after) {
  std::vector<std::string> out;
  for (const auto& [key, entry] : before) {
    const auto it = after.find(key);
    if (it == after.end() || it->second.value != entry.value) out.push_back(key);
  }
  for (const auto& [key, entry] : after) {
    if (!before.count(key)) out.push_back(key);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool is_reloadable_key(std::string_view key) {
  // Each is applied by reload_node (reload.cc) and listed in docs/operations.md, "Reloading the
  // config (SIGHUP)", with what happens to it.
  static constexpr std::string_view kLive[] = {
      "log.level",
      "netdb.bandwidth_kbps", "tunnels.share", "tunnels.max_transit", "tunnels.build_rate_per_peer",
      "proxy.routing_db", "proxy.max_connections", "proxy.client_rate", "proxy.connect_tries",
      "proxy.connect_timeout", "proxy.idle_timeout", "proxy.header_timeout", "proxy.drain_timeout",
  };
  return std::find(std::begin(kLive), std::end(kLive), key) != std::end(kLive);
}

core::Result<core::Duration> parse_duration(std::string_view text) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  if (ec != std::errc() || ptr == text.data()) unit = "?";
  using namespace std::chrono;
  if (unit == "ms") return duration_cast<core::Duration>(milliseconds(n));
  if (unit == "s") return duration_cast<core::Duration>(seconds(n));
  if (unit == "m") return duration_cast<core::Duration>(minutes(n));
  if (unit == "h") return duration_cast<core::Duration>(hours(n));
  return core::make_error(Errc::kInvalidArgument, "duration '" + std::string(text) +
                                                      "': expected a number with ms, s, m or h");
}

core::Result<ConfigMap> parse_config_text(std::string_view text, const std::string& origin) {
  ConfigMap map;
  std::string section;
  auto st = for_each_content_line(text, [&](int line_no, std::string_view line) -> core::Status {
    const std::string where = origin + ":" + std::to_string(line_no);
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return core::make_error(Errc::kInvalidArgument, where + ": malformed section header");
      }
      section = std::string(trim(line.substr(1, line.size() - 2)));
      return {};
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) return core::make_error(Errc::kInvalidArgument, where + ": expected 'key = value'");
    std::string key(trim(line.substr(0, eq)));
    if (key.empty()) return core::make_error(Errc::kInvalidArgument, where + ": empty key");
    if (!section.empty()) key = section + "." + key;
    if (map.count(key)) return core::make_error(Errc::kInvalidArgument, where + ": " + key + " is set twice");
    map[key] = {std::string(trim(line.substr(eq + 1))), where};
    return {};
  });
  if (!st) return st.error();
  return map;
}

core::Result<ConfigMap> read_config_file(const std::filesystem::path& path) {
  auto data = core::read_file(path, kMaxConfigFile);
  if (!data) return data.error().wrap("reading config");
  return parse_config_text(std::string_view(reinterpret_cast<const char*>(data->data()), data->size()),
                           path.string());
}

core::Status apply_overrides(ConfigMap& map, const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.substr(0, 2) != "--") {
      return core::make_error(Errc::kInvalidArgument, "unexpected argument '" + std::string(arg) + "'");
    }
    arg.remove_prefix(2);
    std::string key, value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      key = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 >= args.size()) {
        return core::make_error(Errc::kInvalidArgument, "--" + std::string(arg) + " needs a value");
      }
      key = arg;
      value = args[++i];
    }
    map[key] = {value, "--" + key};
  }
  return {};
}

core::Result<NodeConfig> build_node_config(const ConfigMap& map) {
  NodeConfig c;
  c.console.enabled = true;  // a configured node has a console unless console.listen = off
  std::optional<std::size_t> soft;
  Setters setters = {
      {"network_id", int_into<std::uint32_t>(c.network_id, 0, UINT32_MAX)},
      {"data_dir", [&](auto&, auto& e) -> core::Status { c.data_dir = e.value; return {}; }},
      {"seed_file", [&](auto&, auto& e) -> core::Status { c.seed_file = e.value; return {}; }},
      {"listen", [&](auto& k, auto& e) -> core::Status {
         auto hp = transport::parse_host_port(e.value, /*allow_any_port=*/true);
         if (!hp) return bad_value(k, e, "a numeric address and port (0: any free port), e.g. 127.0.0.1:7100 or [::1]:7100");
         c.listen_host = hp->host;
         c.listen_port = hp->port;
         return {};
       }},
      {"log.level", [&](auto&, auto& e) -> core::Status { c.log.level = e.value; return {}; }},
      {"log.file", [&](auto&, auto& e) -> core::Status { c.log.file = e.value; return {}; }},
      {"links.hard_limit", int_into<std::size_t>(c.limits.hard, 1, 1'000'000)},
      {"links.soft_limit", [&](auto& k, auto& e) -> core::Status {
         auto v = parse_int<std::size_t>(k, e, 1, 1'000'000);
         if (!v) return v.error();
         soft = *v;
         return {};
       }},
      {"links.max_queued_bytes", int_into<std::size_t>(c.link.max_queued_bytes, 65536, std::size_t{1} << 30)},
      {"netdb.floodfill", [&](auto& k, auto& e) -> core::Status {
         if (e.value != "true" && e.value != "false") return bad_value(k, e, "true or false");
         c.floodfill = e.value == "true";
         return {};
       }},
      {"netdb.bandwidth_kbps", int_into<std::uint32_t>(c.bandwidth_kbps, 0, 10'000'000)},
      {"netdb.region", [&](auto& k, auto& e) -> core::Status {
         if (e.value.size() > netdb::kMaxRegionLength) return bad_value(k, e, "at most 32 characters");
         c.region = e.value;
         return {};
       }},
      {"netdb.probe_budget", int_into<std::size_t>(c.prober.budget_per_minute, 1, 100'000)},
      {"netdb.bandwidth_probe_bytes", int_into<std::size_t>(c.prober.bandwidth_bytes, 0, 64u << 20)},
      {"netdb.ban_after_failures", int_into<std::uint32_t>(c.bans.failures_before_ban, 0, 1000)},
      {"netdb.selection_capacity", int_into<std::size_t>(c.selection.capacity, 1, 1'000'000)},
      {"netdb.min_score", [&](auto& k, auto& e) -> core::Status {
         double v = -1;
         const char* end = e.value.data() + e.value.size();
         auto [ptr, ec] = std::from_chars(e.value.data(), end, v);
         if (ec != std::errc() || ptr != end || !(v >= 0.0 && v <= 1.0)) return bad_value(k, e, "a number from 0 to 1");
         c.selection.min_score = v;
         return {};
       }},
      {"tunnels.inbound_quantity", int_into<std::size_t>(c.tunnels.exploratory.inbound_quantity, 1, 6)},
      {"tunnels.outbound_quantity", int_into<std::size_t>(c.tunnels.exploratory.outbound_quantity, 1, 6)},
      {"tunnels.length", int_into<std::size_t>(c.tunnels.exploratory.length, 0, tunnels::kMaxHops)},
      {"tunnels.max_transit", int_into<std::size_t>(c.tunnels.transit.max_transit, 0, 1'000'000)},
      {"tunnels.share", int_into<std::uint32_t>(c.share_percent, 0, 100)},
      {"tunnels.min_hop_bandwidth_kbps", int_into<std::uint32_t>(c.tunnels.hop_rules.min_bandwidth_kbps, 0, 10'000'000)},
      {"tunnels.build_rate_per_peer", int_into<std::size_t>(c.tunnels.transit.build_requests_per_peer_per_minute, 1, 100'000)},
      {"console.listen", [&](auto& k, auto& e) -> core::Status {
         c.console.enabled = e.value != "off";
         if (!c.console.enabled) return {};
         auto hp = transport::parse_host_port(e.value, /*allow_any_port=*/true);
         if (!hp) return bad_value(k, e, "off, or a numeric address and port, e.g. 127.0.0.1:7070 or [::1]:7070");
         c.console.host = hp->host;
         c.console.port = hp->port;
         return {};
       }},
      {"console.token", [&](auto&, auto& e) -> core::Status { c.console.token = e.value; return {}; }},
      {"demo.backend", [&](auto& k, auto& e) -> core::Status {
         const auto space = e.value.find(' ');
         const auto rest = space == std::string::npos ? std::string_view() : trim(std::string_view(e.value).substr(space));
         auto hp = transport::parse_host_port(rest, /*allow_any_port=*/false);
         if (!hp || space == 0) return bad_value(k, e, "a name and a numeric address:port, e.g. backend-de 127.200.0.1:17000");
         c.demo_backend = {e.value.substr(0, space), hp->host, hp->port};
         return {};
       }},
      {"tunnels.lifetime", [&](auto& k, auto& e) -> core::Status {
         auto d = parse_duration(e.value);
         if (!d || *d < tunnels::kMinLifetime || *d > tunnels::kMaxLifetime) {
           return bad_value(k, e, "a duration from 10s to 10m (hops refuse tunnels that live longer)");
         }
         c.tunnels.exploratory.lifetime = *d;
         return {};
       }},
      {"tunnels.build_timeout", duration_into(c.tunnels.build_timeout)},
      {"tunnels.test_interval", duration_into(c.tunnels.test_interval)},
      {"netdb.probe_interval", duration_into(c.prober.interval)},
      {"netdb.explore_interval", duration_into(c.explore_interval)},
      {"netdb.probe_timeout", duration_into(c.prober.probe_timeout)},
      {"netdb.bandwidth_probe_interval", duration_into(c.prober.bandwidth_interval)},
      {"netdb.ban_duration", duration_into(c.bans.duration)},
      {"links.handshake_timeout", duration_into(c.link.handshake_timeout)},
      {"links.idle_timeout", duration_into(c.link.idle_timeout)},
      {"links.ping_interval", duration_into(c.link.ping_interval)},
      {"links.ping_timeout", duration_into(c.link.ping_timeout)},
  };
  add_proxy_setters(setters, c.proxy);
  for (const auto& [key, entry] : map) {
    if (is_edge_key(key)) {
      if (auto st = apply_edge_key(c, key, entry); !st) return st.error();
      continue;
    }
    auto it = setters.find(key);
    if (it == setters.end()) {
      return core::make_error(Errc::kInvalidArgument,
                              entry.origin + ": unknown config key '" + key + "' (see hopline help config)");
    }
    if (auto st = it->second(key, entry); !st) return st.error();
  }
  c.limits.soft = soft.value_or(c.limits.hard * transport::kDefaultSoftLimitPercent / 100);
  if (c.limits.soft > c.limits.hard) {
    return core::make_error(Errc::kInvalidArgument,
                            "links.soft_limit (" + std::to_string(c.limits.soft) +
                                ") must not exceed links.hard_limit (" + std::to_string(c.limits.hard) + ")");
  }
  if (auto st = core::check_log_level(c.log.level); !st) return st.error();
  if (auto st = check_edges(c); !st) return st.error();
  if (auto st = check_console_config(c.console); !st) return st.error();
  return c;
}

core::Status check_console_config(const ConsoleConfig& console) {
  if (!console.enabled || !console.token.empty()) return {};
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(console.host, ec);
  if (!ec && address.is_loopback()) return {};
  return core::make_error(Errc::kInvalidArgument,
                          "console.listen = " + console.host + ":" + std::to_string(console.port) +
                              " is not a loopback address: set console.token to a long random secret, "
                              "or listen on 127.0.0.1");
}

tunnels::TunnelManagerConfig NodeConfig::tunnel_manager() const {
  tunnels::TunnelManagerConfig t = tunnels;
  t.transit.share_bytes_per_sec = 1024.0 * shared_kbps();
  // A test must be able to fail before the next one starts.
  t.test_timeout = std::min(t.test_timeout, t.test_interval);
  return t;
}

tunnels::PoolConfig NodeConfig::destination_pool(const DestinationPoolKeys& keys) const {
  tunnels::PoolConfig p = tunnels.exploratory;
  if (keys.inbound_quantity) p.inbound_quantity = *keys.inbound_quantity;
  if (keys.outbound_quantity) p.outbound_quantity = *keys.outbound_quantity;
  if (keys.length) p.length = *keys.length;
  if (keys.lifetime) p.lifetime = *keys.lifetime;
  return p;
}

netdb::NetDbConfig NodeConfig::netdb() const {
  netdb::NetDbConfig n;
  n.network_id = network_id;
  n.floodfill = floodfill;
  n.explore_interval = explore_interval;
  return n;
}

transport::LinkManagerConfig NodeConfig::link_manager() const {
  transport::LinkManagerConfig m;
  m.listen_host = listen_host;
  m.listen_port = listen_port;
  m.link = link;
  m.link.network_id = network_id;
  m.limits = limits;
  return m;
}

}  // namespace hop::router
