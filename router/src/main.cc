// hopline: the command-line entry point. Exceptions and start-up errors end here with a clear
// message and a non-zero exit code.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "hop/core/asio_runtime.h"
#include "hop/core/encoding.h"
#include "hop/core/errors.h"
#include "hop/core/identity.h"
#include "hop/router/config.h"
#include "hop/router/console_cli.h"
#include "hop/router/netdb_cli.h"
#include "hop/router/node.h"
#include "hop/router/proxy_cli.h"
#include "hop/router/reload.h"
#include "hop/router/testnet.h"

namespace {

using namespace hop;

constexpr int kExitUsage = 2;
constexpr int kExitStartup = 1;

void print_usage() {
  std::cout <<
      R"(usage: hopline COMMAND [options]

commands:
  node --config FILE [--KEY=VALUE ...]   run a node; any config key can be given as a flag
  keygen --out DIR [--force]             create DIR/identity.key (mode 0600) and print its seed line
  testnet up --dir DIR [--nodes N] [--base-port P] [--pop-port Q] [--network-id ID]
             [--log-level L] [--timeout D]
                                         start N node processes on loopback (node I on
                                         127.I.0.1:P+I, console http://127.0.0.1:P+I), wait for
                                         their tunnels; node 1 is a POP (geo-proxy on
                                         127.1.0.1:Q, 18080) in front of two demo backends
                                         placed in DE and the US
  testnet down|status --dir DIR          stop them; show each one (pid, alive, links, tunnels)
  testnet [run] [--nodes N] [--dir DIR] [--duration D] [--network-id ID] [--log-level L]
          [--pop-port P] [--no-pop]      the same overlay in this one process, for D (20s),
                                         reporting links
  netdb list|show HASH|export|bans --data_dir DIR [--network_id N] [--json] [--all]
                                         read a node's NetDB: routers, one router in full,
                                         seed lines (routerinfo:...), bans; see hopline netdb help
  status|peers|tunnels|services [--console URL] [--json]
                                         ask a running node's console (default
                                         http://127.0.0.1:7070): status, peer profiles,
                                         our tunnels, services, client tunnels and their
                                         destinations, as tables or the JSON as served
  netdb --console URL|--json             the routers in a running node's NetDB, from its console
  proxy init-db PATH                     create an empty routing.db (the geo-proxy's backends)
  proxy check (--config FILE | --routing-db PATH [--geoip PATH])
                                         what the geo-proxy would load: backends, geo overrides,
                                         skipped rows with their reason
  proxy explain --ip ADDR [--app NAME] (--config FILE | --routing-db PATH [--geoip PATH]
                [--region R]) [--json]   where the proxy would send that client, and why
  proxy [status] [--console URL] [--json]
                                         a running node's geo-proxy: listeners, routing.db,
                                         counters, backends; see hopline proxy help
  help config                            list every config key with its default
  version

See docs/operations.md for the configuration reference.
)";
}

int fail(int code, const std::string& message) {
  std::cerr << "hopline: " << message << "\n";
  return code;
}

// Runs `io` until SIGINT/SIGTERM, then calls `on_stop` and drains the remaining handlers. With
// `on_reload`, SIGHUP calls it (on the io thread) and keeps running; without, SIGHUP is left alone.
void run_until_signal(boost::asio::io_context& io, const std::function<void()>& on_stop,
                      const std::function<void()>& on_reload = {}) {
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  if (on_reload) signals.add(SIGHUP);
  std::function<void()> wait = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        spdlog::info("received SIGHUP, re-reading the config");
        on_reload();
        wait();
        return;
      }
      spdlog::info("received signal {}, stopping", sig);
      on_stop();
      io.stop();
    });
  };
  wait();
  io.run();
}

int cmd_keygen(const std::vector<std::string>& args) {
  std::string out;
  bool force = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--out" && i + 1 < args.size()) {
      out = args[++i];
    } else if (args[i].rfind("--out=", 0) == 0) {
      out = args[i].substr(6);
    } else if (args[i] == "--force") {
      force = true;
    } else {
      return fail(kExitUsage, "keygen: unexpected argument '" + args[i] + "' (usage: keygen --out DIR [--force])");
    }
  }
  if (out.empty()) return fail(kExitUsage, "keygen: --out DIR is required");
  const std::filesystem::path path = std::filesystem::path(out) / "identity.key";
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !force) {
    return fail(kExitStartup, path.string() + " already exists; refusing to replace an identity "
                              "(use --force to replace it, which changes the router hash)");
  }
  std::filesystem::create_directories(out, ec);
  if (ec) return fail(kExitStartup, "creating " + out + ": " + ec.message());
  auto id = core::Identity::generate();
  if (auto st = id.save(path); !st) return fail(kExitStartup, st.error().message());
  std::cout << "identity:    " << path.string() << "\n"
            << "router hash: " << id.hash().to_string() << "\n"
            << "static key:  " << core::to_base32(id.static_keypair().public_key) << "\n"
            << "seed line:   HOST:PORT:" << core::to_base32(id.static_keypair().public_key) << "\n";
  return 0;
}

// Where a node's config comes from: re-read in this order on every SIGHUP.
struct ConfigSources {
  std::vector<std::string> files;  // --config FILE, in order; a later one replaces the earlier
  std::vector<std::string> overrides;
};

core::Result<router::ConfigMap> load_config(const ConfigSources& sources) {
  router::ConfigMap map;
  for (const auto& file : sources.files) {
    auto read = router::read_config_file(file);
    if (!read) return read.error();
    map = std::move(*read);
  }
  if (auto st = router::apply_overrides(map, sources.overrides); !st) return st.error();
  return map;
}

// SIGHUP: applies the keys that can change live (is_reloadable_key) to the process, the node and
// `running`; lists the others, which keep their running values until a restart (reload.h).
void reload_config(const ConfigSources& sources, router::ConfigMap& running, router::Node& node) {
  (void)router::reload_node(load_config(sources), running, node);
}

int cmd_node(const std::vector<std::string>& args) {
  ConfigSources sources;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) return fail(kExitUsage, "--config needs a file");
      sources.files.push_back(args[++i]);
    } else if (args[i].rfind("--config=", 0) == 0) {
      sources.files.push_back(args[i].substr(9));
    } else {
      sources.overrides.push_back(args[i]);
    }
  }
  router::ConfigMap map;
  for (const auto& file : sources.files) {
    auto read = router::read_config_file(file);
    if (!read) return fail(kExitStartup, read.error().message());
    map = std::move(*read);
  }
  if (auto st = router::apply_overrides(map, sources.overrides); !st) return fail(kExitUsage, st.error().message());
  auto config = router::build_node_config(map);
  if (!config) return fail(kExitStartup, config.error().message());
  if (auto st = core::init_logging(config->log); !st) return fail(kExitStartup, st.error().message());

  boost::asio::io_context io;
  core::AsioRuntime runtime(io);
  auto node = router::Node::create(runtime, *config);
  if (!node) return fail(kExitStartup, node.error().message());
  // Started from the loop, so the signal handlers are in place before anyone learns the node is up
  // (a SIGHUP right after start would otherwise end the process).
  core::Status started;
  boost::asio::post(io, [&] {
    started = (*node)->start();
    if (!started) io.stop();
  });
  run_until_signal(io, [&] { (*node)->stop(); }, [&] { reload_config(sources, map, **node); });
  if (!started) return fail(kExitStartup, started.error().message());
  spdlog::info("node stopped");
  return 0;
}

int cmd_testnet(std::vector<std::string> args) {
  if (!args.empty() && router::is_testnet_command(args[0])) return router::run_testnet_command(args, std::cout, std::cerr);
  if (!args.empty() && args[0] == "run") args.erase(args.begin());
  router::TestnetOptions options;
  options.pop = true;  // the demo: node 1 is a POP in front of two demo backends
  options.pop_port = 18080;
  core::Duration duration = std::chrono::seconds(20);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (auto eq = a.find('='); eq != std::string::npos) return a.substr(eq + 1);
      return i + 1 < args.size() ? args[++i] : std::string();
    };
    const std::string name = a.substr(0, a.find('='));
    if (name == "--nodes") {
      try {
        options.nodes = std::stoi(value());
      } catch (const std::exception&) {
        return fail(kExitUsage, "--nodes needs a number");
      }
    } else if (name == "--dir") {
      options.dir = value();
    } else if (name == "--network-id") {
      try {
        options.network_id = static_cast<std::uint32_t>(std::stoul(value()));
      } catch (const std::exception&) {
        return fail(kExitUsage, "--network-id needs a number");
      }
    } else if (name == "--log-level") {
      options.log_level = value();
    } else if (name == "--no-pop") {
      options.pop = false;
    } else if (name == "--pop-port") {
      try {
        const int port = std::stoi(value());
        if (port < 0 || port > 65535) throw std::out_of_range("port");
        options.pop_port = static_cast<std::uint16_t>(port);
      } catch (const std::exception&) {
        return fail(kExitUsage, "--pop-port needs a port number (0: any free port)");
      }
    } else if (name == "--duration") {
      auto d = router::parse_duration(value());
      if (!d) return fail(kExitUsage, d.error().message());
      duration = *d;
    } else {
      return fail(kExitUsage, "testnet: unexpected argument '" + a + "'");
    }
  }
  if (options.dir.empty()) {
    char tmpl[] = "/tmp/hopline-testnet-XXXXXX";
    if (!::mkdtemp(tmpl)) return fail(kExitStartup, "cannot create a temporary directory");
    options.dir = tmpl;
  }
  if (auto st = core::init_logging({options.log_level, ""}); !st) return fail(kExitUsage, st.error().message());

  boost::asio::io_context io;
  core::AsioRuntime runtime(io);
  auto net = router::Testnet::create(runtime, options);
  if (!net) return fail(kExitStartup, net.error().message());
  if (auto st = (*net)->start(); !st) return fail(kExitStartup, st.error().message());
  std::cout << "testnet: " << options.nodes << " nodes in " << options.dir.string()
            << " (seeds in " << (options.dir / "seeds.txt").string() << "), running for "
            << std::chrono::duration_cast<std::chrono::seconds>(duration).count()
            << " s; Ctrl-C stops early\n"
            << (*net)->pop_howto();

  bool meshed = false;
  auto report_timer = runtime.make_timer(nullptr);
  const auto started = runtime.now();
  std::function<void()> report = [&] {
    std::cout << "\n--- links after "
              << std::chrono::duration_cast<std::chrono::seconds>(runtime.now() - started).count()
              << " s: " << (*net)->links_up() << " of " << (*net)->full_mesh_links() << " ---\n"
              << (*net)->report() << std::flush;
    if (runtime.now() - started >= duration) {
      meshed = (*net)->links_up() == (*net)->full_mesh_links();
      (*net)->stop();
      io.stop();
      return;
    }
    report_timer->arm(std::min(runtime.now() + std::chrono::seconds(5), started + duration));
  };
  report_timer = runtime.make_timer([&] { report(); });
  report_timer->arm(runtime.now() + std::chrono::seconds(2));
  run_until_signal(io, [&] {
    meshed = (*net)->links_up() == (*net)->full_mesh_links();
    (*net)->stop();
  });
  std::cout << (meshed ? "testnet: full mesh formed, every node linked to every other\n"
                       : "testnet: the mesh was incomplete when it stopped\n");
  return meshed ? 0 : 1;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage();
    return kExitUsage;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "node") return cmd_node(args);
  if (command == "keygen") return cmd_keygen(args);
  if (command == "testnet") return cmd_testnet(args);
  if (router::is_console_command(command) &&
      (command != "netdb" || (!args.empty() && (args[0] == "--json" || args[0].rfind("--console", 0) == 0)))) {
    return router::run_console_command(command, args, std::cout, std::cerr);
  }
  if (command == "proxy") return router::run_proxy_command(args, std::cout, std::cerr);
  if (command == "netdb") return router::run_netdb_command(args, std::cout, std::cerr, core::WallClock::now());
  if (command == "version" || command == "--version") {
    std::cout << "hopline " << HOP_VERSION << "\n";
    return 0;
  }
  if (command == "help" && !args.empty() && args[0] == "config") {
    for (const auto& k : router::config_keys()) {
      std::printf("  %-26s %-20s %s\n", k.key, k.default_value, k.meaning);
    }
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    print_usage();
    return 0;
  }
  print_usage();
  return fail(kExitUsage, "unknown command '" + command + "'");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return fail(kExitStartup, std::string("fatal: ") + e.what());
  }
}
