#include "hop/router/testnet.h"

#include <fmt/format.h>

#include <fstream>

#include "hop/core/errors.h"
#include "hop/router/proxy_host.h"
#include "testnet_layout.h"

namespace hop::router {

core::Result<std::unique_ptr<Testnet>> Testnet::create(core::AsioRuntime& runtime,
                                                       TestnetOptions options) {
  if (options.nodes < 2 || options.nodes > 250) {
    return core::make_error(core::Errc::kInvalidArgument, "--nodes must be from 2 to 250");
  }
  auto net = std::unique_ptr<Testnet>(new Testnet(options));
  for (int i = 1; i <= options.nodes; ++i) {
    NodeConfig config;
    config.network_id = options.network_id;
    config.data_dir = options.dir / ("node" + std::to_string(i));
    config.listen_host = "127." + std::to_string(i) + ".0.1";
    config.listen_port = 0;
    config.log.level = options.log_level;
    config.floodfill = i <= 3;  // the first three nodes serve the floodfill DHT
    if (i == 1 && options.pop) {
      if (auto st = net->prepare_pop(runtime, config); !st) return st.error().wrap("testnet POP");
    }
    auto node = Node::create(runtime, std::move(config), {});
    if (!node) return node.error().wrap("testnet node " + std::to_string(i));
    net->nodes_.push_back(std::move(*node));
  }
  return net;
}

// Starts the demo backends and writes the POP's routing.db: one row per backend, one override
// per client network; clients from anywhere else land in the POP's own region (eu).
core::Status Testnet::prepare_pop(core::AsioRuntime& runtime, NodeConfig& config) {
  std::error_code fs_ec;
  std::filesystem::create_directories(config.data_dir, fs_ec);
  const auto db_path = std::filesystem::absolute(config.data_dir / "routing.db", fs_ec);
  std::vector<DemoRoute> routes;
  for (const auto& place : kDemoPlaces) {
    auto backend = std::make_unique<DemoBackend>(runtime.io(), place.name);
    if (auto st = backend->start(place.host, 0); !st) return st;
    routes.push_back({&place, backend->address()});
    backends_.push_back(std::move(backend));
  }
  if (auto st = write_demo_routing_db(db_path, routes); !st) return st;
  config.proxy.listeners = {{config.listen_host, options_.pop_port}};
  config.proxy.routing_db = db_path;
  config.proxy.region = kDemoPopRegion;
  config.proxy.workers = 1;
  return core::ok_status();
}

std::string Testnet::pop_address() const {
  if (!options_.pop || nodes_.empty() || !nodes_[0]->proxy()) return "";
  const auto& e = nodes_[0]->proxy()->endpoints().front();
  return e.address().to_string() + ":" + std::to_string(e.port());
}

std::string Testnet::pop_howto() const {
  const std::string pop = pop_address();
  return pop.empty() ? "" : demo_howto(pop);
}

core::Status Testnet::start() {
  for (auto& node : nodes_) {
    if (auto st = node->start(); !st) return st;
  }
  std::ofstream seeds(options_.dir / "seeds.txt");
  seeds << "# host:port:static-key of each testnet node\n";
  for (auto& node : nodes_) seeds << node->contact().to_string() << "\n";
  for (auto& node : nodes_) {
    std::vector<transport::PeerContact> others;
    for (auto& other : nodes_) {
      if (other != node) others.push_back(other->contact());
    }
    node->set_seeds(std::move(others));
  }
  return {};
}

void Testnet::stop() {
  for (auto& node : nodes_) node->stop();
  for (auto& backend : backends_) backend->stop();
}

std::size_t Testnet::links_up() const {
  std::size_t n = 0;
  for (const auto& node : nodes_) n += node->links().links().size();
  return n;
}

std::string Testnet::report() const {
  std::string out = fmt::format("{:<7} {:<10} {:<22} {:>5} {:>5} {:>7}  {}\n", "node", "hash", "address",
                                "netdb", "links", "tun i/o", "peers (rtt)");
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const Node& node = *nodes_[i];
    std::string peers;
    for (const auto& link : node.links().links()) {
      const double ms = link.rtt ? std::chrono::duration<double, std::milli>(*link.rtt).count() : -1;
      peers += fmt::format("{}({:.2f}ms) ", link.peer.short_string(), ms);
    }
    const std::string name = "node" + std::to_string(i + 1) + (node.config().floodfill ? "*" : "");
    const std::string tunnels = fmt::format("{}/{}", node.tunnels().established(tunnels::Direction::kInbound),
                                            node.tunnels().established(tunnels::Direction::kOutbound));
    out += fmt::format("{:<7} {:<10} {:<22} {:>5} {:>5} {:>7}  {}\n", name, node.identity().hash().short_string(),
                       node.contact().address(), node.netdb().size(), node.links().links().size(), tunnels, peers);
  }
  out += "(* floodfill; netdb = RouterInfos known, including its own; tun i/o = established inbound/outbound tunnels)\n";
  if (const ProxyHost* proxy = nodes_.empty() ? nullptr : nodes_[0]->proxy()) {
    out += fmt::format("POP {}: {} client(s) now, {} accepted\n", pop_address(), proxy->shared().counters.current(),
                       proxy->shared().counters.accepted());
    for (const auto& backend : backends_) {
      out += fmt::format("  {:<11} {:<20} {} connection(s) served\n", backend->name(), backend->address(), backend->served());
    }
  }
  return out;
}

std::size_t Testnet::netdb_known() const {
  std::size_t n = 0;
  for (const auto& node : nodes_) n += node->netdb().size();
  return n;
}

}  // namespace hop::router
