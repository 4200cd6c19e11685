// The [proxy] config keys: the geo-proxy of a POP (docs/operations.md, docs/proxy.md).
#include <cctype>

#include "config_setters.h"
#include "hop/transport/link_layer.h"

namespace hop::router {
namespace {

constexpr std::size_t kMaxListeners = 64;

std::vector<std::string_view> split(std::string_view text, char by) {
  std::vector<std::string_view> out;
  while (true) {
    const auto at = text.find(by);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_app_name(std::string_view app) {
  if (app.empty() || app.size() > 64) return false;
  for (const char ch : app) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                    ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

// One "HOST:PORT [app=NAME] [proxy_protocol=v1|v2|any]" entry; "" when fine, else what is wrong.
std::string parse_listener(std::string_view entry, proxy::ListenerConfig& out) {
  std::vector<std::string_view> words;
  for (const auto word : split(trimmed(entry), ' ')) {
    if (!word.empty()) words.push_back(word);
  }
  if (words.empty()) return "an empty listener";
  auto hp = transport::parse_host_port(words[0], /*allow_any_port=*/true);
  if (!hp) return "'" + std::string(words[0]) + "' is not a numeric address and port";
  out.host = hp->host;
  out.port = hp->port;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const auto word = words[i];
    if (word.substr(0, 4) == "app=" && is_app_name(word.substr(4))) {
      out.app = word.substr(4);
    } else if (word == "proxy_protocol=v1") {
      out.proxy_protocol = proxy::ProxyVersions::kV1;
    } else if (word == "proxy_protocol=v2") {
      out.proxy_protocol = proxy::ProxyVersions::kV2;
    } else if (word == "proxy_protocol=any" || word == "proxy_protocol") {
      out.proxy_protocol = proxy::ProxyVersions::kEither;
    } else {
      return "unknown listener option '" + std::string(word) + "' (app=NAME, proxy_protocol=v1|v2|any)";
    }
  }
  return "";
}

Setter listeners_into(std::vector<proxy::ListenerConfig>& out) {
  return [&out](const std::string& key, const ConfigEntry& e) -> core::Status {
    out.clear();
    if (e.value.empty() || e.value == "off") return {};
    const auto entries = split(e.value, ',');
    if (entries.size() > kMaxListeners) return bad_value(key, e, "at most 64 listeners");
    for (const auto entry : entries) {
      proxy::ListenerConfig listener;
      if (const auto why = parse_listener(entry, listener); !why.empty()) {
        return bad_value(key, e, "HOST:PORT [app=NAME] [proxy_protocol=v1|v2|any], comma-separated (" + why + ")");
      }
      out.push_back(std::move(listener));
    }
    return {};
  };
}

}  // namespace

void add_proxy_setters(Setters& setters, proxy::ProxyConfig& p) {
  const Setters mine = {
      {"proxy.listen", listeners_into(p.listeners)},
      {"proxy.routing_db", [&p](auto&, auto& e) -> core::Status { p.routing_db = e.value; return {}; }},
      {"proxy.geoip", [&p](auto&, auto& e) -> core::Status { p.geoip = e.value; return {}; }},
      {"proxy.region", [&p](auto& k, auto& e) -> core::Status {
         if (e.value.size() > 64) return bad_value(k, e, "at most 64 characters");
         p.region = e.value;
         for (auto& ch : p.region) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
         return {};
       }},
      {"proxy.workers", int_into<unsigned>(p.workers, 0, 256)},
      {"proxy.connect_timeout", duration_into(p.connect_timeout)},
      {"proxy.idle_timeout", duration_into(p.idle_timeout)},
      {"proxy.header_timeout", duration_into(p.header_timeout)},
      {"proxy.drain_timeout", duration_into(p.drain_timeout)},
      {"proxy.max_connections", int_into<std::uint32_t>(p.max_connections, 1, 10'000'000)},
      {"proxy.client_rate", int_into<std::uint32_t>(p.client_rate, 0, 65535)},
      {"proxy.connect_tries", int_into<std::uint32_t>(p.connect_tries, 1, 8)},
      {"proxy.affinity_size", int_into<std::size_t>(p.affinity_size, 4, std::size_t{1} << 26)},
      {"proxy.affinity_ttl", duration_into(p.affinity_ttl)},
      {"proxy.reload_poll", duration_into(p.reload_poll)},
      {"proxy.breaker_failures", int_into<std::uint32_t>(p.breaker.failures, 1, 1000)},
      {"proxy.breaker_cooldown", duration_into(p.breaker.cooldown)},
  };
  setters.insert(mine.begin(), mine.end());
}

void add_proxy_key_docs(std::vector<ConfigKeyDoc>& docs) {
  const std::vector<ConfigKeyDoc> mine = {
      {"proxy.listen", "(off)", "geo-proxy listeners: HOST:PORT [app=NAME] [proxy_protocol=v1|v2|any], comma-separated"},
      {"proxy.routing_db", "routing.db", "the backends and geo overrides (docs/routing_db.md); relative to data_dir; reloaded on change"},
      {"proxy.geoip", "(none)", "MaxMind DB (GeoLite2/GeoIP2 Country or City); reopened when the file changes"},
      {"proxy.region", "(empty)", "this POP's own region: its backends are the third tier"},
      {"proxy.workers", "0", "proxy worker threads (SO_REUSEPORT acceptors); 0: one per core"},
      {"proxy.connect_timeout", "3s", "a backend connect slower than this fails over to the next candidate"},
      {"proxy.idle_timeout", "5m", "a proxied connection without traffic this long is closed"},
      {"proxy.header_timeout", "5s", "a PROXY protocol header must arrive within this"},
      {"proxy.drain_timeout", "10s", "on SIGTERM, open connections get this long to finish"},
      {"proxy.max_connections", "20000", "client connections at once; beyond, new ones are closed"},
      {"proxy.client_rate", "0", "new connections per second from one client address; 0: no limit"},
      {"proxy.connect_tries", "3", "backends tried for one client before it is refused (1-8)"},
      {"proxy.affinity_size", "65536", "client affinity bindings kept (a fixed-size table)"},
      {"proxy.affinity_ttl", "10m", "a client keeps its backend this long after its last connection"},
      {"proxy.reload_poll", "250ms", "how often routing.db and the GeoIP file are checked for changes"},
      {"proxy.breaker_failures", "3", "connect failures in a row that take a backend out (passive health)"},
      {"proxy.breaker_cooldown", "10s", "how long it stays out before one trial connection; doubles, up to 2m"},
  };
  docs.insert(docs.end(), mine.begin(), mine.end());
}

}  // namespace hop::router
