#include "testnet_layout.h"

#include <fmt/format.h>

#include "hop/core/errors.h"
#include "hop/core/sqlite.h"
#include "hop/proxy/routing_db.h"

namespace hop::router {

namespace {

core::Error bad_option(const std::string& what) { return core::make_error(core::Errc::kInvalidArgument, what); }

}  // namespace

core::Status write_demo_routing_db(const std::filesystem::path& path, const std::vector<DemoRoute>& routes) {
  std::error_code ignored;
  std::filesystem::remove(path, ignored);  // derived from the layout: written afresh each time
  if (auto st = proxy::init_routing_db(path); !st) return st;
  core::sqlite::Database db;
  if (db.open(path, SQLITE_OPEN_READWRITE) != SQLITE_OK) return core::make_error(core::Errc::kIo, db.error());
  for (const auto& route : routes) {
    const DemoPlace& p = *route.place;
    const std::string sql = fmt::format(
        "INSERT INTO backends(id, region, country, continent, target, soft_limit, hard_limit) "
        "VALUES('{}', '{}', '{}', '{}', '{}', 100, 200); "
        "INSERT INTO geo_overrides(cidr, country, continent, region) VALUES('{}', '{}', '{}', '{}');",
        p.name, p.region, p.country, p.continent, route.target, p.clients, p.country, p.continent, p.region);
    if (db.exec(sql.c_str()) != SQLITE_OK) return core::make_error(core::Errc::kIo, path.string() + ": " + db.error());
  }
  return core::ok_status();
}

std::string demo_howto(const std::string& pop_address) {
  return fmt::format(
      "POP (node1) geo-proxy on {0}; try:\n"
      "  curl --interface 127.101.0.1 http://{0}/   # a client placed in DE -> backend-de\n"
      "  curl --interface 127.102.0.1 http://{0}/   # a client placed in US -> backend-us\n"
      "  curl http://{0}/                           # unplaced -> the POP's region ({1})\n",
      pop_address, kDemoPopRegion);
}

std::string TestnetNode::role() const {
  if (pop) return "pop";
  if (backend) return backend->name;
  return "relay";
}

std::string TestnetLayout::backend_address(const DemoPlace& place) const {
  return std::string(place.host) + ":" + std::to_string(options.base_port);
}

std::vector<TestnetBinding> TestnetLayout::bindings() const {
  std::vector<TestnetBinding> out;
  for (const auto& n : nodes) {
    const std::string name = "node" + std::to_string(n.index);
    out.push_back({n.host, n.port, name + "'s link listener"});
    out.push_back({"127.0.0.1", n.port, name + "'s console"});
    if (n.pop) out.push_back({n.host, options.pop_port, name + "'s geo-proxy"});
    if (n.backend) out.push_back({n.backend->host, options.base_port, std::string("demo backend ") + n.backend->name});
  }
  return out;
}

core::Result<TestnetLayout> plan_testnet(TestnetLayoutOptions options) {
  if (options.nodes < kMinProcessNodes || options.nodes > kMaxProcessNodes) {
    return bad_option(fmt::format("--nodes must be from {} to {} (a 3-hop tunnel needs 3 peers besides its owner)",
                                  kMinProcessNodes, kMaxProcessNodes));
  }
  if (options.base_port == 0 || options.base_port + options.nodes > 65535) {
    return bad_option(fmt::format("--base-port {}: nodes use ports {}+1 to {}+{}; pick a base from 1 to {}",
                                  options.base_port, options.base_port, options.base_port, options.nodes,
                                  65535 - options.nodes));
  }
  if (options.pop_port == 0) return bad_option("--pop-port must be a port from 1 to 65535 (the demo prints it)");
  if (options.pop_port == options.base_port + 1) {
    return bad_option(fmt::format("--pop-port {} is node1's link port (--base-port {} + 1); pick another",
                                  options.pop_port, options.base_port));
  }
  TestnetLayout layout;
  layout.options = std::move(options);
  for (int i = 1; i <= layout.options.nodes; ++i) {
    TestnetNode n;
    n.index = i;
    n.dir = layout.options.dir / ("node" + std::to_string(i));
    n.host = "127." + std::to_string(i) + ".0.1";  // distinct /16s: tunnels may use any hop pair
    n.port = static_cast<std::uint16_t>(layout.options.base_port + i);
    n.floodfill = i <= kFloodfills;
    n.pop = i == 1;
    if (i == 2 || i == 3) n.backend = &kDemoPlaces[i - 2];
    layout.nodes.push_back(std::move(n));
  }
  return layout;
}

std::string node_config_text(const TestnetLayout& layout, const TestnetNode& node) {
  const auto& o = layout.options;
  std::string text = fmt::format(
      "# node{0} of the testnet in {1} ({2}); `hopline testnet up` rewrites this file.\n"
      "network_id = {3}\n"
      "data_dir = {4}\n"
      "listen = {5}\n"
      "seed_file = {6}\n"
      "\n[log]\nlevel = {7}\n"
      "\n[console]\nlisten = 127.0.0.1:{8}\n"
      "\n[netdb]\nfloodfill = {9}\n{10}"
      "# Quick timings for a local testnet: peers are found and tested within seconds; a peer that\n"
      "# stays away is banned after about 15 s, for a minute, so that a node killed in an experiment\n"
      "# can rejoin soon (a restarted testnet waits for its bans to end).\n"
      "explore_interval = 5s\nprobe_interval = 5s\nprobe_timeout = 3s\nban_duration = 1m\n"
      "# Loopback links are fast: each node shares 40 MB/s of transit (80 % of this), not the\n"
      "# default 1 MB/s, or a burst of clients through the POP would overflow every hop's bucket.\n"
      "bandwidth_kbps = 51200\n",
      node.index, o.dir.string(), node.role(), o.network_id, node.dir.string(), node.listen(),
      node.seed_file().string(), o.log_level, node.port, node.floodfill ? "true" : "false",
      node.backend ? fmt::format("region = {}\n", node.backend->country) : "");
  if (node.backend) {
    const std::string address = layout.backend_address(*node.backend);
    text += fmt::format(
        "\n# The built-in demo responder, and the service that puts it on the overlay.\n"
        "[demo]\nbackend = {0} {1}\n"
        "\n[service.{0}]\ntarget = {1}\n",
        node.backend->name, address);
  }
  if (node.pop) {
    text += fmt::format(
        "\n# The geo-proxy; routing.db (in data_dir) places 127.101/16 in DE and 127.102/16 in the US.\n"
        "[proxy]\nlisten = {}\nrouting_db = routing.db\nregion = {}\nworkers = 1\n",
        layout.pop_address(), kDemoPopRegion);
  }
  return text;
}

}  // namespace hop::router
