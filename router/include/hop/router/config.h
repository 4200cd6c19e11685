// Node configuration: a small INI format ("key = value", [section] headers, # comments) whose
// keys are named section.key; any key can be overridden on the command line as --section.key=V.
// docs/operations.md lists every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hop/core/log.h"
#include "hop/core/result.h"
#include "hop/netdb/netdb.h"
#include "hop/netdb/peer_book.h"
#include "hop/netdb/prober.h"
#include "hop/proxy/proxy_config.h"
#include "hop/tunnels/tunnel_manager.h"
#include "hop/transport/link_manager.h"

namespace hop::router {

// The console (docs/console.md). NodeConfig{} has it off (tests, testnet); the console.listen key
// turns it on at 127.0.0.1:7070 unless set to "off".
struct ConsoleConfig {
  bool enabled = false;
  std::string host = "127.0.0.1";
  std::uint16_t port = 7070;  // 0: any free port
  std::string token;          // empty: no state-changing request is accepted
};
// A console listening off loopback without a token is refused (with what to do).
core::Status check_console_config(const ConsoleConfig& console);

// A destination's tunnels: unset keys take the exploratory pool's (tunnels.*) values.
struct DestinationPoolKeys {
  std::optional<std::size_t> inbound_quantity, outbound_quantity, length;
  std::optional<core::Duration> lifetime;
};

// [service.NAME]: streams to this destination go to a local TCP target (docs/services.md).
struct ServiceConfig {
  std::string name;
  std::filesystem::path keys;  // destination key file, relative to data_dir; created when missing
  std::string target_host;
  std::uint16_t target_port = 0;
  DestinationPoolKeys pool;
};

// [client.NAME]: each TCP connection accepted on `listen` becomes a stream to `destination`.
struct ClientTunnelConfig {
  std::string name;
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;
  std::string destination;     // NAME.hop, checked when the config is built
  std::filesystem::path keys;  // empty: a new destination each start
  DestinationPoolKeys pool;
};

// [demo] backend = NAME HOST:PORT: the built-in demo responder (demo_backend.h) this node runs,
// for a testnet's services. Empty name: none.
struct DemoBackendConfig {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
};

struct NodeConfig {
  std::uint32_t network_id = 1;
  std::filesystem::path data_dir = "hopline-data";
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 7100;
  std::filesystem::path seed_file;  // empty: no seeds
  core::LogConfig log;
  transport::LinkSettings link;
  transport::LinkLimits limits;
  bool floodfill = false;
  std::uint32_t bandwidth_kbps = 1024;  // this node's bandwidth, KB/s
  std::uint32_t share_percent = 80;     // of bandwidth_kbps, for transit tunnels (advertised)
  std::string region;                   // country/region hint advertised in our RouterInfo
  core::Duration explore_interval = std::chrono::seconds(30);  // NetDB exploration lookups
  netdb::ProberConfig prober;
  netdb::BanPolicy bans;
  netdb::SelectionOptions selection;
  tunnels::TunnelManagerConfig tunnels;  // transit.share_bytes_per_sec is derived: see tunnel_manager()
  ConsoleConfig console;
  proxy::ProxyConfig proxy;  // proxy.listen empty: this node runs no geo-proxy
  std::vector<ServiceConfig> services;
  std::vector<ClientTunnelConfig> clients;
  DemoBackendConfig demo_backend;

  // The bandwidth we share with transit tunnels and advertise in our RouterInfo, KB/s.
  std::uint32_t shared_kbps() const { return static_cast<std::uint32_t>(std::uint64_t{bandwidth_kbps} * share_percent / 100); }
  tunnels::TunnelManagerConfig tunnel_manager() const;
  // A destination's pool: its own keys over the exploratory pool's.
  tunnels::PoolConfig destination_pool(const DestinationPoolKeys& keys) const;

  transport::LinkManagerConfig link_manager() const;
  netdb::NetDbConfig netdb() const;
};

// Raw key/value pairs with where each came from, for error messages.
struct ConfigEntry {
  std::string value;
  std::string origin;  // "file.conf:12" or "--flag"
};
using ConfigMap = std::map<std::string, ConfigEntry>;

// Parses the INI text; errors name the line.
core::Result<ConfigMap> parse_config_text(std::string_view text, const std::string& origin);
core::Result<ConfigMap> read_config_file(const std::filesystem::path& path);
// Parses "--section.key=value" / "--section.key value" arguments into `map` (overriding).
core::Status apply_overrides(ConfigMap& map, const std::vector<std::string>& args);
// Builds a typed, validated config; unknown keys and bad values are errors naming their origin.
core::Result<NodeConfig> build_node_config(const ConfigMap& map);

// The keys whose value differs between two maps (a key set in only one counts), sorted; where a
// value came from (file line, flag) does not matter. Used when the node re-reads its config.
std::vector<std::string> changed_keys(const ConfigMap& before, const ConfigMap& after);
// Whether a running node applies a new value of `key` on reload (SIGHUP); others need a restart.
bool is_reloadable_key(std::string_view key);

// Every key with its default and meaning, in documentation order (used by --help and tests).
struct ConfigKeyDoc {
  const char* key;
  const char* default_value;
  const char* meaning;
};
const std::vector<ConfigKeyDoc>& config_keys();

// "10s", "250ms", "5m", "24h" -> duration.
core::Result<core::Duration> parse_duration(std::string_view text);

}  // namespace hop::router
