// `hopline testnet up|down|status`: a local overlay of real node processes (docs/operations.md,
// "hopline testnet"). up lays the nodes out (testnet_layout.h), creates their identities and
// service keys so that seeds and addresses are known before anything starts, writes every file,
// starts the nodes (testnet_processes.h) and waits on their consoles until each has its
// exploratory tunnels; down stops them; status asks each one.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "hop/core/errors.h"
#include "hop/core/files.h"
#include "hop/core/log.h"
#include "hop/netdb/destination.h"
#include "hop/router/config.h"
#include "hop/router/console_client.h"
#include "hop/router/json_reader.h"
#include "hop/router/node.h"
#include "hop/router/testnet.h"
#include "hop/transport/link_layer.h"
#include "testnet_layout.h"
#include "testnet_processes.h"
#include "text_table.h"

namespace hop::router {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitRunning = 3;
constexpr auto kDefaultReadyTimeout = 60s;
constexpr auto kStopGrace = 10s;
constexpr auto kPollInterval = 500ms;
constexpr auto kConsoleTimeout = 2s;  // per request; a node busy starting may answer slowly
constexpr int kLogTailLines = 5;

using Flags = std::map<std::string, std::string>;

// "--name V" / "--name=V" pairs, only those in `known`.
core::Result<Flags> parse_flags(const std::vector<std::string>& args, const std::set<std::string>& known) {
  Flags flags;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto eq = a.find('=');
    const std::string name = a.substr(0, eq);
    if (!known.count(name)) {
      return core::make_error(core::Errc::kInvalidArgument, "testnet " + args[0] + ": unexpected argument '" + a + "'");
    }
    if (eq != std::string::npos) {
      flags[name] = a.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      flags[name] = args[++i];
    } else {
      return core::make_error(core::Errc::kInvalidArgument, name + " needs a value");
    }
  }
  return flags;
}

template <class Int>
bool parse_number(const std::string& text, Int min, Int max, Int& out) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) return false;
  out = static_cast<Int>(v);
  return true;
}

// DIR from --dir, absolute (the node configs and the PID file name it).
core::Result<fs::path> testnet_dir(const Flags& flags, const std::string& command) {
  auto it = flags.find("--dir");
  if (it == flags.end() || it->second.empty()) {
    return core::make_error(core::Errc::kInvalidArgument, "testnet " + command + ": --dir DIR is required "
                                                          "(the directory that holds the nodes' files)");
  }
  std::error_code ec;
  auto dir = fs::absolute(it->second, ec).lexically_normal();
  if (ec) return core::make_error(ec, it->second);
  if (!dir.has_filename()) dir = dir.parent_path();  // "DIR/" -> "DIR"
  return dir;
}

int failed(std::ostream& err, const std::string& message) {
  err << message << "\n";
  return kExitFailed;
}

// A usage problem reads as its own sentence; a system error adds what the OS said.
std::string describe(const core::Error& e) {
  return e.code == core::Errc::kInvalidArgument ? e.context : e.message();
}

int usage(std::ostream& err, const core::Error& e) {
  err << "hopline: " << describe(e) << "\n";
  return kExitUsage;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string tail_of(const fs::path& file, int lines) {
  std::ifstream in(file);
  std::vector<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > static_cast<std::size_t>(lines)) last.erase(last.begin());
  }
  std::string out;
  for (const auto& l : last) out += "    " + l + "\n";
  return out;
}

// ---- the console of one node ----

// GETs `target` from the console at `url` and parses it; the error is one short phrase.
core::Result<JsonValue> ask(const std::string& url, std::string_view target) {
  auto parsed = parse_console_url(url);
  if (!parsed) return parsed.error();
  const auto reply = console_get(*parsed, target, kConsoleTimeout);
  if (reply.failure != ConsoleFailure::kNone) return core::make_error(core::Errc::kIo, "console " + reply.reason);
  if (reply.status != 200) return core::make_error(core::Errc::kIo, "console answered " + std::to_string(reply.status));
  return parse_json(reply.body);
}

struct TunnelCount {
  int inbound = 0, outbound = 0;
};

TunnelCount exploratory_established(const JsonValue& tunnels) {
  TunnelCount n;
  for (const auto& t : tunnels["tunnels"].items()) {
    if (t["pool"].as_number() != 0.0 || t["state"].as_text() != "established") continue;  // pool 0: exploratory
    (t["direction"].as_text() == "inbound" ? n.inbound : n.outbound)++;
  }
  return n;
}

// Empty when the node is ready: its exploratory pool is full, each of its destinations has
// published its LeaseSet and, on the POP, the proxy listens.
std::string not_ready(const TestnetProcess& p, bool pop) {
  auto tunnels = ask(p.console, "/api/v1/tunnels");
  if (!tunnels) return tunnels.error().context;
  const NodeConfig defaults;
  const auto want = defaults.tunnels.exploratory;
  const auto have = exploratory_established(*tunnels);
  if (have.inbound < static_cast<int>(want.inbound_quantity) || have.outbound < static_cast<int>(want.outbound_quantity)) {
    return fmt::format("exploratory tunnels {} in / {} out of {} / {}", have.inbound, have.outbound,
                       want.inbound_quantity, want.outbound_quantity);
  }
  auto services = ask(p.console, "/api/v1/services");
  if (!services) return services.error().context;
  for (const auto& d : (*services)["destinations"].items()) {  // a service's, or the POP's gateway's
    if (d["lease_set"].is_null() || d["counters"]["lease_sets_published"].as_number().value_or(0) < 1) {
      return fmt::format("destination {} has no LeaseSet published yet", d["name"].as_text().value_or("?"));
    }
  }
  if (!pop) return "";
  auto proxy = ask(p.console, "/api/v1/proxy");
  if (!proxy) return proxy.error().context;
  if ((*proxy)["enabled"].as_bool() != true || (*proxy)["listeners"].items().empty()) return "geo-proxy not listening";
  return "";
}

// Which of `all` ban `p` and until when ("; banned by node1, node3 until ..."), or "": a node
// its peers still ban from an earlier run (bans are kept across restarts) gets no tunnels.
std::string bans_of(const TestnetProcess& p, const std::vector<TestnetProcess>& all) {
  auto status = ask(p.console, "/api/v1/status");
  const auto hash = status ? (*status)["identity"].as_text() : std::nullopt;
  if (!hash) return "";
  std::string by, until;
  for (const auto& other : all) {
    auto peers = other.index == p.index ? core::Result<JsonValue>(JsonValue()) : ask(other.console, "/api/v1/peers");
    if (!peers) continue;
    for (const auto& peer : (*peers)["peers"].items()) {
      if (peer["hash"].as_text() != hash || peer["ban"].is_null()) continue;
      by += (by.empty() ? "node" : ", node") + std::to_string(other.index);
      until = std::max(until, std::string(peer["ban"]["end"].as_text().value_or("")));
    }
  }
  if (by.empty()) return "";
  return "; banned by " + by + " until " + until + " (from an earlier run? a ban ends by itself: netdb.ban_duration)";
}

// What a client placed in `place`'s country gets from the POP for a GET: "" when it is the
// place's own backend's answer, else what went wrong. The client binds the first address of the
// place's client network (routing.db places it there).
std::string pop_check(const TestnetLayout& layout, const DemoPlace& place) {
  std::string source = place.clients;  // "127.101.0.0/16" -> 127.101.0.1
  source = source.substr(0, source.rfind('.', source.find('/'))) + ".1";
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  timeval tv{3, 0};  // connect, send and each read
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in from{}, to{};
  from.sin_family = to.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  to.sin_port = htons(layout.options.pop_port);
  ::inet_pton(AF_INET, layout.nodes.front().host.c_str(), &to.sin_addr);
  std::string answer, problem;
  const std::string request = "GET / HTTP/1.0\r\n\r\n";
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 ||
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    problem = std::strerror(errno);
  }
  char buf[512];
  for (ssize_t n; problem.empty() && answer.size() < 4096 && (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, n);
  ::close(fd);
  if (!problem.empty()) return fmt::format("a client from {} cannot reach the POP: {}", source, problem);
  if (answer.find(std::string("hello from ") + place.name) != std::string::npos) return "";
  return fmt::format("a client from {} ({}) does not reach {} through the POP yet", source, place.country, place.name);
}

// One row per node: alive or not and, from its console, links, tunnels, floodfill, bans.
std::string status_table(const std::vector<TestnetProcess>& processes, int* alive_count) {
  std::vector<TextRow> rows;
  *alive_count = 0;
  for (const auto& p : processes) {
    const bool alive = is_running(p);
    *alive_count += alive;
    TextRow row = {std::to_string(p.index), std::to_string(p.pid), alive ? "alive" : "dead", p.role, p.listen, p.console};
    if (!alive) {
      rows.push_back(std::move(row));
      continue;
    }
    auto st = ask(p.console, "/api/v1/status");
    if (!st) {
      row.push_back(st.error().context);
    } else {
      auto num = [](const JsonValue& v) { return v.as_text() ? std::string(*v.as_text()) : std::string("-"); };
      row.push_back(num((*st)["links"]["count"]));
      row.push_back(num((*st)["tunnels"]["inbound"]) + "/" + num((*st)["tunnels"]["outbound"]));
      row.push_back((*st)["floodfill"].as_bool().value_or(false) ? "yes" : "no");
      row.push_back(num((*st)["bans"]));
    }
    rows.push_back(std::move(row));
  }
  return render_table({"NODE", "PID", "STATE", "ROLE", "LISTEN", "CONSOLE", "LINKS", "TUNNELS", "FLOODFILL", "BANS"},
                      rows);
}

// ---- up ----

// A demo backend as `up` sets it up: the responder's address and its service's overlay address.
struct DemoService {
  const DemoPlace* place;
  int node;
  std::string direct;   // host:port of the responder
  std::string address;  // the service's NAME.hop
};

// The target the POP's routing.db gives a demo backend: its service's .hop address, so that
// clients reach it through the overlay (the responder's own address is `s.direct`).
std::string routing_target(const DemoService& s) { return s.address; }

// Every address the testnet will bind that something else holds now.
std::vector<std::string> busy_bindings(const TestnetLayout& layout) {
  std::vector<std::string> busy;
  for (const auto& b : layout.bindings()) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the node's listeners do
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(b.port);
    ::inet_pton(AF_INET, b.host.c_str(), &addr.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      busy.push_back(fmt::format("{}:{} ({}): {}", b.host, b.port, b.what, std::strerror(errno)));
    }
    ::close(fd);
  }
  return busy;
}

core::Result<netdb::Destination> load_or_create_service_keys(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) return netdb::Destination::load(path);
  auto created = netdb::Destination::generate();
  if (auto st = created.save(path); !st) return st.error();
  return created;
}

core::Status write_text(const fs::path& path, const std::string& text) {
  return core::atomic_write_file(path, core::as_bytes(text), 0644);
}

// Identities and service keys first, then every file the nodes read: seeds, node.conf, routing.db.
core::Result<std::vector<DemoService>> prepare_files(const TestnetLayout& layout) {
  std::vector<std::string> floodfills(layout.nodes.size());  // seed line per floodfill index
  std::vector<DemoService> services;
  for (const auto& n : layout.nodes) {
    auto id = load_or_create_identity(n.dir);
    if (!id) return id.error().wrap("node" + std::to_string(n.index));
    if (n.floodfill) {
      transport::PeerContact c{n.host, n.port, id->static_keypair().public_key, std::nullopt};
      floodfills[n.index - 1] = c.to_string();
    }
    if (n.backend) {
      auto keys = load_or_create_service_keys(TestnetLayout::service_keys(n));
      if (!keys) return keys.error().wrap("node" + std::to_string(n.index) + " service " + n.backend->name);
      services.push_back({n.backend, n.index, layout.backend_address(*n.backend), keys->address()});
    }
  }
  std::string all = "# host:port:static-key of the testnet's floodfills (hand this file to another node)\n";
  for (const auto& line : floodfills) all += line.empty() ? "" : line + "\n";
  if (auto st = write_text(layout.seed_file(), all); !st) return st.error();
  for (const auto& n : layout.nodes) {
    std::string own = "# the testnet's floodfills but this node\n";
    for (std::size_t i = 0; i < floodfills.size(); ++i) {
      if (!floodfills[i].empty() && static_cast<int>(i) + 1 != n.index) own += floodfills[i] + "\n";
    }
    if (auto st = write_text(n.seed_file(), own); !st) return st.error();
    if (auto st = write_text(n.config_file(), node_config_text(layout, n)); !st) return st.error();
  }
  std::vector<DemoRoute> routes;
  for (const auto& s : services) routes.push_back({s.place, routing_target(s)});
  if (auto st = write_demo_routing_db(layout.nodes.front().dir / "routing.db", routes); !st) {
    return st.error().wrap("the POP's routing.db");
  }
  return services;
}

// Starts every node, recording each in the PID file as soon as it runs.
core::Result<std::vector<TestnetProcess>> start_nodes(const TestnetLayout& layout) {
  auto binary = own_executable();
  if (!binary) return binary.error();
  std::vector<TestnetProcess> started;
  for (const auto& n : layout.nodes) {
    std::ofstream(n.log_file(), std::ios::app) << "--- hopline testnet up, " << now_utc() << " ---\n";
    auto pid = spawn_node(*binary, n.config_file(), n.log_file());
    if (!pid) return pid.error();
    started.push_back({n.index, *pid, n.listen(), n.console_url(), n.role(), n.config_file()});
    if (auto st = write_pid_file(layout.pid_file(), started); !st) return st.error();
  }
  return started;
}

// Polls every node until all are ready, one has exited, or `timeout` passed. Returns the
// problems, one line each (empty: ready).
std::vector<std::string> wait_until_ready(const TestnetLayout& layout, const std::vector<TestnetProcess>& nodes,
                                          core::Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<bool> ready(nodes.size(), false);
  std::vector<std::string> waiting(nodes.size());
  while (true) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (auto code = reap_if_exited(nodes[i].pid)) {
        return {fmt::format("node{} exited with code {} while starting; the end of {}:\n{}", nodes[i].index, *code,
                            layout.nodes[i].log_file().string(), tail_of(layout.nodes[i].log_file(), kLogTailLines))};
      }
      if (!ready[i]) waiting[i] = not_ready(nodes[i], layout.nodes[i].pop);
      ready[i] = waiting[i].empty();
    }
    if (std::all_of(ready.begin(), ready.end(), [](bool r) { return r; })) {
      // Every node is: the demo works when a client of each country reaches its backend.
      std::string pop_problem;
      for (const auto& place : kDemoPlaces) {
        if (pop_problem.empty()) pop_problem = pop_check(layout, place);
      }
      if (pop_problem.empty()) return {};
      waiting[0] = pop_problem;
      ready[0] = false;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (!ready[i]) {
      problems.push_back(fmt::format("node{}: {}{} (log: {})", nodes[i].index, waiting[i], bans_of(nodes[i], nodes),
                                     layout.nodes[i].log_file().string()));
    }
  }
  return problems;
}

void print_ready(const TestnetLayout& layout, const std::vector<TestnetProcess>& nodes,
                 const std::vector<DemoService>& services, std::ostream& out) {
  int alive = 0;
  out << status_table(nodes, &alive) << "\n" << demo_howto(layout.pop_address());
  out << "services (a demo responder each, on the overlay):\n";
  for (const auto& s : services) {
    out << fmt::format("  {} on node{}: {} -> {}\n", s.place->name, s.node, s.address, s.direct);
  }
  const std::string dir = layout.options.dir.string();
  out << "more:\n"
      << fmt::format("  hopline status --console {}      # a node at a glance (also peers, tunnels, services, proxy)\n",
                     nodes.front().console)
      << fmt::format("  hopline testnet status --dir {}\n", dir)
      << fmt::format("  hopline testnet down --dir {}     # stops every node; their files stay in {}\n", dir, dir);
}

// A second `up` on a running testnet: nothing is started.
std::optional<int> refuse_if_running(const TestnetLayout& layout, std::ostream& err) {
  std::error_code ec;
  if (!fs::exists(layout.pid_file(), ec)) return std::nullopt;
  auto recorded = read_pid_file(layout.pid_file());
  if (!recorded) {
    err << "hopline: " << recorded.error().message() << "; remove it if no testnet runs in "
        << layout.options.dir.string() << "\n";
    return kExitFailed;
  }
  const auto alive = std::count_if(recorded->begin(), recorded->end(), [](const auto& p) { return is_running(p); });
  if (alive == 0) return std::nullopt;  // a testnet that was stopped (or crashed): started again
  err << "hopline: testnet already running in " << layout.options.dir.string() << " (" << alive << " node"
      << (alive == 1 ? "" : "s") << "); hopline testnet down --dir " << layout.options.dir.string() << "\n";
  return kExitRunning;
}

core::Result<std::pair<TestnetLayout, core::Duration>> parse_up(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, {"--nodes", "--dir", "--network-id", "--log-level", "--base-port", "--pop-port",
                                  "--timeout"});
  if (!flags) return flags.error();
  auto dir = testnet_dir(*flags, "up");
  if (!dir) return dir.error();
  TestnetLayoutOptions o;
  o.dir = *dir;
  core::Duration timeout = kDefaultReadyTimeout;
  auto bad = [](const std::string& what) { return core::make_error(core::Errc::kInvalidArgument, what); };
  for (const auto& [name, value] : *flags) {
    if (name == "--nodes" && !parse_number(value, 0, 100000, o.nodes)) return bad("--nodes needs a number");
    if (name == "--network-id" && !parse_number<std::uint32_t>(value, 0, UINT32_MAX, o.network_id)) {
      return bad("--network-id needs a number from 0 to 4294967295");
    }
    if (name == "--base-port" && !parse_number<std::uint16_t>(value, 1, 65535, o.base_port)) {
      return bad("--base-port needs a port number");
    }
    if (name == "--pop-port" && !parse_number<std::uint16_t>(value, 1, 65535, o.pop_port)) {
      return bad("--pop-port needs a port number from 1 to 65535");
    }
    if (name == "--log-level") o.log_level = value;
    if (name == "--timeout") {
      auto d = parse_duration(value);
      if (!d || d->count() <= 0) return bad("--timeout needs a duration such as 60s or 2m");
      timeout = *d;
    }
  }
  if (auto st = core::check_log_level(o.log_level); !st) return bad("--log-level: " + st.error().message());
  auto layout = plan_testnet(std::move(o));
  if (!layout) return layout.error();
  return std::pair(std::move(*layout), timeout);
}

int cmd_up(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = parse_up(args);
  if (!parsed) return usage(err, parsed.error());
  const auto& [layout, timeout] = *parsed;
  const std::string dir = layout.options.dir.string();
  std::error_code ec;
  fs::create_directories(layout.options.dir, ec);
  if (ec) return failed(err, "hopline: creating " + dir + ": " + ec.message());
  auto lock = TestnetLock::acquire(layout.options.dir);
  if (!lock) return failed(err, "hopline: " + describe(lock.error()));
  if (auto refused = refuse_if_running(layout, err)) return *refused;
  if (auto busy = busy_bindings(layout); !busy.empty()) {
    err << "hopline: testnet up: " << busy.size() << " address(es) the testnet needs are in use:\n";
    for (const auto& b : busy) err << "  " << b << "\n";
    err << "stop what holds them, or pick other ports with --base-port P (nodes use P+1..P+N) or --pop-port P\n";
    return kExitFailed;
  }
  auto services = prepare_files(layout);
  if (!services) return failed(err, "hopline: testnet up: " + services.error().message());
  auto nodes = start_nodes(layout);
  if (!nodes) {
    err << "hopline: testnet up: " << nodes.error().message() << "; hopline testnet down --dir " << dir
        << " stops the nodes started so far\n";
    return kExitFailed;
  }
  out << fmt::format("testnet: {} node processes in {} (seeds in {}); waiting up to {} s for their tunnels\n",
                     nodes->size(), dir, layout.seed_file().string(),
                     std::chrono::duration_cast<std::chrono::seconds>(timeout).count())
      << std::flush;
  const auto started = std::chrono::steady_clock::now();
  if (auto problems = wait_until_ready(layout, *nodes, timeout); !problems.empty()) {
    err << "hopline: testnet up: not every node is ready:\n";
    for (const auto& p : problems) err << "  " << p << "\n";
    err << "the nodes keep running: hopline testnet status --dir " << dir << " shows them, hopline testnet down --dir "
        << dir << " stops them\n";
    return kExitFailed;
  }
  out << fmt::format("testnet ready after {} s\n",
                     std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count());
  print_ready(layout, *nodes, *services, out);
  return 0;
}

// ---- down and status ----

int cmd_down(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto flags = parse_flags(args, {"--dir"});
  if (!flags) return usage(err, flags.error());
  auto dir = testnet_dir(*flags, "down");
  if (!dir) return usage(err, dir.error());
  const fs::path pid_file = *dir / "testnet.pids";
  std::error_code ec;
  if (!fs::exists(pid_file, ec)) {
    out << "testnet in " << dir->string() << " is not running\n";
    return 0;
  }
  auto lock = TestnetLock::acquire(*dir);
  if (!lock) return failed(err, "hopline: " + describe(lock.error()));
  auto recorded = read_pid_file(pid_file);
  if (!recorded) return failed(err, "hopline: " + recorded.error().message());
  const auto alive = std::count_if(recorded->begin(), recorded->end(), [](const auto& p) { return is_running(p); });
  for (const int index : stop_processes(*recorded, kStopGrace)) {
    const auto& p = *std::find_if(recorded->begin(), recorded->end(), [&](const auto& r) { return r.index == index; });
    out << fmt::format("node{} (pid {}) did not stop within {} s: killed (SIGKILL)\n", index, p.pid,
                       std::chrono::duration_cast<std::chrono::seconds>(kStopGrace).count());
  }
  fs::remove(pid_file, ec);
  if (alive == 0) {
    out << "testnet in " << dir->string() << " is not running\n";
  } else {
    out << fmt::format("testnet in {} stopped ({} node{}); its files stay: hopline testnet up --dir {} starts it again\n",
                       dir->string(), alive, alive == 1 ? "" : "s", dir->string());
  }
  return 0;
}

int cmd_status(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto flags = parse_flags(args, {"--dir"});
  if (!flags) return usage(err, flags.error());
  auto dir = testnet_dir(*flags, "status");
  if (!dir) return usage(err, dir.error());
  const fs::path pid_file = *dir / "testnet.pids";
  std::error_code ec;
  if (!fs::exists(pid_file, ec)) {
    err << "hopline: no testnet in " << dir->string() << " (no testnet.pids); hopline testnet up --dir "
        << dir->string() << " starts one\n";
    return kExitFailed;
  }
  auto recorded = read_pid_file(pid_file);
  if (!recorded) return failed(err, "hopline: " + recorded.error().message());
  int alive = 0;
  out << status_table(*recorded, &alive)
      << fmt::format("{} of {} nodes alive (TUNNELS: established inbound/outbound, every pool)\n", alive,
                     recorded->size());
  return alive == static_cast<int>(recorded->size()) ? 0 : kExitFailed;
}

}  // namespace

bool is_testnet_command(std::string_view word) { return word == "up" || word == "down" || word == "status"; }

int run_testnet_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  // The nodes log to their own files; here only warnings (a refused key file) are worth a line.
  if (auto st = core::init_logging({"warn", ""}); !st) return failed(err, "hopline: " + st.error().message());
  if (args.empty() || !is_testnet_command(args[0])) {
    err << "hopline: testnet: expected up, down or status\n";
    return kExitUsage;
  }
  if (args[0] == "up") return cmd_up(args, out, err);
  if (args[0] == "down") return cmd_down(args, out, err);
  return cmd_status(args, out, err);
}

}  // namespace hop::router
