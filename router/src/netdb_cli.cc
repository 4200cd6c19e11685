#include "hop/router/netdb_cli.h"

#include <charconv>
#include <filesystem>
#include <functional>
#include <optional>

#include "cli_args.h"
#include "hop/core/encoding.h"
#include "hop/core/errors.h"
#include "hop/netdb/errors.h"
#include "hop/netdb/store.h"
#include "hop/router/data_dir.h"
#include "netdb_format.h"
#include "netdb_report.h"
#include "netdb_view.h"

namespace hop::router {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUsage =
    R"(usage: hopline netdb COMMAND --data_dir DIR [--network_id N]

Reads the NetDB of the node whose data directory is DIR (DIR/netdb.sqlite); the node may be running.

commands:
  list [--json]    every stored RouterInfo: hash, address, floodfill, bandwidth, region,
                   published age, score and ban; records that no longer verify are marked
  show HASH        one router in full: RouterInfo, profile with its score terms, ban
                   (a unique prefix of the hash is enough)
  export [--all]   this node's own RouterInfo as a seed-file line (routerinfo:BASE32);
                   --all: every stored RouterInfo that verifies
  bans             every ban with its reason, start, end and time left

options:
  --data_dir DIR   the node's data directory (required)
  --network_id N   the overlay id records are verified against (default 1)
)";

enum class Command { kList, kShow, kExport, kBans };

struct Options {
  Command command = Command::kList;
  fs::path data_dir;
  std::uint32_t network_id = 1;
  bool json = false;  // list
  bool all = false;   // export
  std::string hash;   // show
};

std::optional<Command> command_named(std::string_view name) {
  if (name == "list") return Command::kList;
  if (name == "show") return Command::kShow;
  if (name == "export") return Command::kExport;
  if (name == "bans") return Command::kBans;
  return std::nullopt;
}

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

// Applies one `--name[=value]` option; `next` yields the following argument as its value.
core::Status apply_option(Options& o, std::string_view arg, const NextArg& next) {
  const auto eq = arg.find('=');
  const std::string name(arg.substr(0, eq));
  const bool inline_value = eq != std::string_view::npos;
  if (name == "--json" || name == "--all") {
    if (inline_value) return usage_error(name + " takes no value");
    (name == "--json" ? o.json : o.all) = true;
    return {};
  }
  const std::optional<std::string> value = inline_value ? std::string(arg.substr(eq + 1)) : next();
  if (name == "--data_dir") {
    if (!value || value->empty()) return usage_error("--data_dir needs a directory");
    o.data_dir = *value;
  } else if (name == "--network_id") {
    const auto id = value ? parse_u32(*value) : std::nullopt;
    if (!id) return usage_error("--network_id needs a number from 0 to 4294967295");
    o.network_id = *id;
  } else {
    return usage_error("unknown option '" + name + "'");
  }
  return {};
}

core::Status check_command(const Options& o, const std::vector<std::string>& positional) {
  const std::size_t wanted = o.command == Command::kShow ? 2 : 1;
  if (o.command == Command::kShow && positional.size() < 2) return usage_error("show needs a HASH");
  if (positional.size() > wanted) return usage_error("unexpected argument '" + positional[wanted] + "'");
  if (o.json && o.command != Command::kList) return usage_error("--json goes with list");
  if (o.all && o.command != Command::kExport) return usage_error("--all goes with export");
  if (o.data_dir.empty()) return usage_error("--data_dir DIR is required (the node's data directory)");
  return {};
}

core::Result<Options> parse_options(const std::vector<std::string>& args) {
  Options o;
  auto split = split_args(args, [&o](std::string_view arg, const NextArg& next) { return apply_option(o, arg, next); });
  if (!split) return split.error();
  std::vector<std::string>& positional = *split;
  if (positional.empty()) return usage_error("missing command: list, show, export or bans");
  const auto command = command_named(positional.front());
  if (!command) return usage_error("unknown netdb command '" + positional.front() + "'");
  o.command = *command;
  if (o.command == Command::kShow && positional.size() > 1) o.hash = positional[1];
  if (auto st = check_command(o, positional); !st) return st.error();
  return o;
}

core::Error not_found(const std::string& what) { return core::make_error(core::Errc::kNotFound, what); }

// The file type of `path` (not_found if it does not exist); an error if it cannot be looked at.
core::Result<fs::file_status> status_of(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return core::make_error(core::Errc::kIo, "cannot look at " + path.string() + ": " + ec.message() +
                                                 " (check that this user may read it)");
  }
  return status;
}

// Opens the NetDB of `data_dir` only if it exists: NetDbStore::open would create a missing file,
// and an empty NetDB would hide a wrong --data_dir.
core::Result<netdb::NetDbStore> open_existing_store(const fs::path& data_dir) {
  const std::string run_node = "run the node first (hopline node --data_dir " + data_dir.string() +
                               "), which creates it, or pass the --data_dir of a node that has run";
  const auto dir = status_of(data_dir);
  if (!dir) return dir.error();
  if (!fs::exists(*dir)) return not_found("data directory " + data_dir.string() + " does not exist: " + run_node);
  if (!fs::is_directory(*dir)) {
    return core::make_error(core::Errc::kInvalidArgument,
                            data_dir.string() + " is not a directory: pass the node's data directory as --data_dir");
  }
  const fs::path file = netdb_file(data_dir);
  const auto file_status = status_of(file);
  if (!file_status) return file_status.error();
  if (!fs::exists(*file_status)) return not_found("there is no NetDB file " + file.string() + " yet: " + run_node);
  std::error_code ec;
  if (fs::is_regular_file(*file_status) && fs::file_size(file, ec) == 0 && !ec) {
    return not_found("the NetDB file " + file.string() + " is empty: " + run_node);
  }
  return netdb::NetDbStore::open(file);
}

// This node's router hash, from its identity file (the key itself is neither kept nor printed).
core::Result<core::RouterHash> load_self(const fs::path& data_dir) {
  auto identity = core::Identity::load(identity_file(data_dir));
  if (!identity) return identity.error().wrap("reading this node's identity");
  return identity->hash();
}

std::string describe(const StoredRouterView& router) {
  std::string text = "# router " + router.hash.to_string();
  if (router.info) {
    if (!router.info->addresses.empty()) text += " at " + printable(format_address(router.info->addresses.front()));
    text += ", published " + format_utc(router.info->published);
  }
  return text;
}

void print_seed_line(std::ostream& out, const StoredRouterView& router) {
  out << describe(router) << "\n"
      << "routerinfo:" << core::to_base32(router.wire) << "\n";
}

core::Status export_self(std::ostream& out, const NetDbView& view, const core::Result<core::RouterHash>& self,
                         const fs::path& file) {
  if (!self) {
    return core::Error{
        self.error().code,
        self.error().context + " (export prints this node's own RouterInfo; --all prints every stored one)"};
  }
  const StoredRouterView* router = view.find_router(*self);
  if (router == nullptr) {
    return not_found("this node's RouterInfo (" + self->to_string() + ") is not in " + file.string() +
                     " yet: start the node (it stores its signed RouterInfo at start), then export again");
  }
  if (!router->is_valid()) {
    return core::make_error(netdb::Errc::kRefused,
                            "this node's stored RouterInfo is " + router_status(*router) +
                                (router->info ? " (published " + format_utc(router->info->published) + ")" : "") +
                                ": start the node so that it publishes a fresh one, then export again");
  }
  print_seed_line(out, *router);
  return {};
}

void export_all(std::ostream& out, const NetDbView& view) {
  std::size_t exported = 0;
  for (const auto& router : view.routers) exported += router.is_valid() ? 1 : 0;
  out << "# " << exported << " RouterInfos exported by hopline netdb export --all";
  if (exported < view.routers.size()) {
    out << "; " << view.routers.size() - exported << " that do not verify (expired, ...) left out";
  }
  out << "\n";
  for (const auto& router : view.routers) {
    if (router.is_valid()) print_seed_line(out, router);
  }
}

core::Status run_command(const Options& o, std::ostream& out, std::ostream& err, core::WallTime now) {
  auto store = open_existing_store(o.data_dir);
  if (!store) return store.error();
  auto view = load_netdb_view(*store, {.network_id = o.network_id, .now = now});
  if (!view) return view.error();
  const auto self = load_self(o.data_dir);
  if (self) view->self = *self;
  if (!self && o.command != Command::kExport) {
    err << "hopline netdb: note: cannot tell which router is this node: " << self.error().message() << "\n";
  }
  switch (o.command) {
    case Command::kList:
      (o.json ? print_router_json : print_router_table)(out, *view, now);
      return {};
    case Command::kShow: {
      auto hash = resolve_hash(*view, o.hash);
      if (!hash) return hash.error().wrap("show");
      print_router_detail(out, *view, *hash, now);
      return {};
    }
    case Command::kExport:
      if (o.all) {
        export_all(out, *view);
        return {};
      }
      return export_self(out, *view, self, store->file());
    case Command::kBans:
      print_ban_table(out, *view, now);
      return {};
  }
  return {};
}

}  // namespace

int run_netdb_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, core::WallTime now) {
  if (args.empty()) {
    err << kUsage;
    return kExitUsage;
  }
  if (is_help(args.front())) {
    out << kUsage;
    return kExitOk;
  }
  auto options = parse_options(args);
  if (!options) {
    err << "hopline netdb: " << options.error().context << "\n(hopline netdb help lists the commands)\n";
    return kExitUsage;
  }
  if (auto st = run_command(*options, out, err, now); !st) {
    err << "hopline netdb: " << st.error().message() << "\n";
    return kExitError;
  }
  return kExitOk;
}

}  // namespace hop::router
