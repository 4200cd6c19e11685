#include "hop/router/console_cli.h"

#include <array>

#include "console_tables.h"
#include "hop/router/console_client.h"
#include "hop/router/json_reader.h"

namespace hop::router {

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

struct ConsoleCommand {
  std::string_view name;
  std::string_view path;
  core::Result<std::string> (*table)(const JsonValue&);
};

constexpr std::array<ConsoleCommand, 5> kCommands = {{
    {"status", "/api/v1/status", format_status_table},
    {"peers", "/api/v1/peers", format_peers_table},
    {"tunnels", "/api/v1/tunnels", format_tunnels_table},
    {"netdb", "/api/v1/netdb", format_netdb_table},
    {"services", "/api/v1/services", format_services_table},
}};

const ConsoleCommand* find_command(std::string_view name) {
  for (const auto& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

struct Options {
  std::string url = std::string(kDefaultConsoleUrl);
  bool json = false;
};

// Empty on success, else the usage error.
std::string parse_options(const std::vector<std::string>& args, Options& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      o.json = true;
    } else if (a == "--console") {
      if (i + 1 >= args.size()) return "--console needs a URL (http://HOST:PORT)";
      o.url = args[++i];
    } else if (a.rfind("--console=", 0) == 0) {
      o.url = a.substr(10);
    } else {
      return "unexpected argument '" + a + "'";
    }
  }
  return {};
}

}  // namespace

bool is_console_command(std::string_view command) { return find_command(command) != nullptr; }

int run_console_command(std::string_view command, const std::vector<std::string>& args, std::ostream& out,
                        std::ostream& err) {
  const ConsoleCommand* cmd = find_command(command);
  const std::string name(command);
  const std::string usage = " (usage: hopline " + name + " [--console http://HOST:PORT] [--json])";
  if (!cmd) {
    err << "hopline: unknown console command '" << name << "'\n";
    return kExitUsage;
  }
  Options o;
  if (auto problem = parse_options(args, o); !problem.empty()) {
    err << "hopline: " << name << ": " << problem << usage << "\n";
    return kExitUsage;
  }
  auto url = parse_console_url(o.url);
  if (!url) {
    err << "hopline: " << url.error().context << "\n";
    return kExitUsage;
  }
  const ConsoleReply reply = console_get(*url, cmd->path);
  if (reply.failure == ConsoleFailure::kUnreachable) {
    err << "hopline: cannot reach the console at " << url->text << " (" << reply.reason
        << "): is the node running with console.listen set?\n";
    return kExitError;
  }
  if (reply.failure == ConsoleFailure::kBadAnswer) {
    err << "hopline: the console at " << url->text << " gave no complete answer (" << reply.reason << ")\n";
    return kExitError;
  }
  if (reply.status != 200) {
    err << "hopline: the console at " << url->text << " answered " << reply.status << " to GET " << cmd->path << ": "
        << reply.body << (reply.body.empty() || reply.body.back() != '\n' ? "\n" : "");
    return kExitError;
  }
  if (o.json) {
    out << reply.body << (reply.body.empty() || reply.body.back() != '\n' ? "\n" : "");
    return 0;
  }
  auto doc = parse_json(reply.body);
  if (!doc) {
    err << "hopline: the console at " << url->text << " sent JSON this hopline cannot read: " << doc.error().context << "\n";
    return kExitError;
  }
  auto table = cmd->table(*doc);
  if (!table) {
    err << "hopline: " << table.error().context << "\n";
    return kExitError;
  }
  out << *table;
  return 0;
}

}  // namespace hop::router
