#include "hop/router/node.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "hop/core/errors.h"
#include "hop/router/seed_file.h"

namespace hop::router {

namespace {
constexpr auto kSeedTimerInterval = std::chrono::seconds(1);

std::string format_rtt(const std::optional<core::Duration>& rtt) {
  if (!rtt) return "unknown";
  return fmt::format("{:.2f} ms", std::chrono::duration<double, std::milli>(*rtt).count());
}
}  // namespace

core::Result<core::Identity> load_or_create_identity(const std::filesystem::path& data_dir) {
  const auto path = data_dir / "identity.key";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return core::Identity::load(path);
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return core::make_error(ec, "creating data directory " + data_dir.string());
  }
  ::chmod(data_dir.c_str(), 0700);
  auto id = core::Identity::generate();
  if (auto st = id.save(path); !st) return st.error();
  spdlog::info("created new identity {} in {}", id.hash().to_string(), path.string());
  return id;
}

Node::Node(core::AsioRuntime& runtime, NodeConfig config, core::Identity identity,
           std::vector<transport::PeerContact> seeds)
    : runtime_(runtime),
      config_(std::move(config)),
      identity_(std::move(identity)),
      links_(std::make_unique<transport::LinkManager>(runtime_, identity_, config_.link_manager())),
      seeds_(std::move(seeds), runtime.now()) {
  links_->set_events(this);
  netdb_ = std::make_unique<netdb::NetDb>(runtime_, *links_, identity_, config_.netdb());
  seed_timer_ = runtime_.make_timer([this] { on_seed_timer(); });
}

Node::~Node() { stop(); }

core::Result<std::unique_ptr<Node>> Node::create(core::AsioRuntime& runtime, NodeConfig config) {
  std::vector<transport::PeerContact> seeds;
  if (!config.seed_file.empty()) {
    auto parsed = read_seed_file(config.seed_file);
    if (!parsed) return parsed.error();
    seeds = std::move(*parsed);
  }
  return create(runtime, std::move(config), std::move(seeds));
}

core::Result<std::unique_ptr<Node>> Node::create(core::AsioRuntime& runtime, NodeConfig config,
                                                 std::vector<transport::PeerContact> seeds) {
  auto identity = load_or_create_identity(config.data_dir);
  if (!identity) return identity.error();
  return std::unique_ptr<Node>(new Node(runtime, std::move(config), std::move(*identity), std::move(seeds)));
}

core::Status Node::start() {
  if (auto st = links_->start(); !st) return st;
  spdlog::info("node {} listening on {} (network {}), {} seed(s)", identity_.hash().to_string(),
               contact().address(), config_.network_id, seeds_.size());
  spdlog::info("seed line for this node: {}", contact().to_string());
  netdb::RouterInfo info;
  info.addresses = {{"tcp", contact().host, contact().port}};
  info.bandwidth_kbps = config_.bandwidth_kbps;
  info.region = config_.region;
  netdb_->set_local_info(std::move(info));
  netdb_->start();
  on_seed_timer();
  return {};
}

void Node::stop() {
  seed_timer_->cancel();
  netdb_->stop();
  links_->stop();
}

void Node::set_seeds(std::vector<transport::PeerContact> seeds) {
  seeds_ = SeedDialer(std::move(seeds), runtime_.now());
}

void Node::on_seed_timer() {
  const auto now = runtime_.now();
  for (const auto& contact : seeds_.due(now)) {
    if (auto st = links_->connect(contact, {.persistent = true}); !st) {
      spdlog::warn("not dialing seed {}: {}", contact.address(), st.error().message());
      seeds_.on_failed(contact.static_key, now);
    }
  }
  seed_timer_->arm(now + kSeedTimerInterval);
}

void Node::on_link_up(const transport::LinkInfo& link) {
  linked_static_keys_[link.peer] = link.peer_static_key;
  if (seeds_.on_linked(link.peer_static_key) && !netdb_->find(link.peer)) {
    // A host:port:key seed: ask it for its RouterInfo, our way into the NetDB.
    transport::PeerContact seed;
    seed.static_key = link.peer_static_key;
    seed.hash = link.peer;
    netdb_->bootstrap_from(seed);
  }
  spdlog::info("link up: peer {} at {} ({}), rtt {}", link.peer.short_string(), link.remote_address,
               link.direction == transport::LinkDirection::kInbound ? "inbound" : "outbound",
               format_rtt(link.rtt));
}

void Node::on_link_down(const core::RouterHash& peer, transport::CloseReason reason,
                        const std::string& detail) {
  // LinkManager logs the link-down line itself; a seed is redialed after its backoff.
  (void)reason, (void)detail;
  if (auto it = linked_static_keys_.find(peer); it != linked_static_keys_.end()) {
    seeds_.on_failed(it->second, runtime_.now());
    linked_static_keys_.erase(it);
  }
}

void Node::on_block(const core::RouterHash& peer, transport::BlockType type, core::ByteView body) {
  // kMessage blocks start with a service byte; the NetDB is the only service so far.
  if (type == transport::BlockType::kMessage && !body.empty() && body[0] == netdb::kNetDbService) {
    netdb_->on_message(peer, body);
    return;
  }
  spdlog::debug("block type {} of {} bytes from {} ignored", static_cast<int>(type), body.size(),
                peer.short_string());
}

void Node::on_dial_failed(const transport::PeerContact& contact, transport::CloseReason reason,
                          const std::string& detail) {
  (void)reason, (void)detail;
  seeds_.on_failed(contact.static_key, runtime_.now());
}

}  // namespace hop::router
