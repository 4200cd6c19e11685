#include "hop/transport/link_manager.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <vector>

#include "hop/core/encoding.h"
#include "hop/core/errors.h"
#include "hop/transport/errors.h"
#include "tcp_link.h"

namespace hop::transport {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string endpoint_string(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  if (addr.is_v6()) return "[" + addr.to_string() + "]:" + std::to_string(ep.port());
  return addr.to_string() + ":" + std::to_string(ep.port());
}

// send_to() waits this long after a failed dial before dialing that peer again; a few thousand
// peers are remembered.
constexpr auto kSendToBackoff = std::chrono::seconds(5);
constexpr std::size_t kMaxSendToBackoffs = 4096;

// Pause before accepting again after an accept error (EMFILE and the like would otherwise spin).
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

}  // namespace

LinkManager::LinkManager(core::AsioRuntime& runtime, const core::Identity& identity,
                         LinkManagerConfig config)
    : runtime_(runtime), identity_(identity), config_(std::move(config)), acceptor_(runtime.io()) {
  tick_timer_ = runtime_.make_timer([this] { on_tick(); });
  accept_retry_timer_ = runtime_.make_timer([this] { do_accept(); });
}

LinkManager::~LinkManager() { stop(); }

core::Status LinkManager::start() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(config_.listen_host, ec);
  if (ec) {
    return core::make_error(core::Errc::kInvalidArgument,
                            "listen address '" + config_.listen_host + "' is not a numeric IP");
  }
  tcp::endpoint ep(addr, config_.listen_port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::make_error(std::error_code(ec.value(), std::generic_category()),
                            "listening on " + endpoint_string(ep));
  }
  do_accept();
  tick_timer_->arm(runtime_.now() + kTickInterval);
  return {};
}

void LinkManager::stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  tick_timer_->cancel();
  accept_retry_timer_->cancel();
  auto all = connections_;  // close() erases from connections_
  for (auto& [id, link] : all) link->close(CloseReason::kLocal, "shutting down");
  connections_.clear();
  by_peer_.clear();
  by_static_.clear();
}

tcp::endpoint LinkManager::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

PeerContact LinkManager::local_contact() const {
  PeerContact c;
  auto ep = local_endpoint();
  c.host = ep.address().to_string();
  c.port = ep.port();
  c.static_key = identity_.static_keypair().public_key;
  c.hash = identity_.hash();
  return c;
}

void LinkManager::do_accept() {
  if (stopping_ || !acceptor_.is_open()) return;
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    // Checked before touching `this`: an aborted accept may complete after we are destroyed.
    if (ec == asio::error::operation_aborted) return;
    if (stopping_) return;
    if (ec) {
      // Accept errors never stop the listener: count, log at a limited rate, retry shortly.
      ++counters_.accept_errors;
      if (log_limiter_.allow(runtime_.now())) spdlog::warn("accept failed: {}", ec.message());
      accept_retry_timer_->arm(runtime_.now() + kAcceptRetryDelay);
      return;
    }
    boost::system::error_code ep_ec;
    const std::string remote = endpoint_string(socket.remote_endpoint(ep_ec));
    if (!may_accept(config_.limits, connections_.size())) {
      // Refused cleanly: the socket closes at once; existing links are untouched.
      ++counters_.inbound_refused_limit;
      if (log_limiter_.allow(runtime_.now())) {
        spdlog::warn("refusing inbound connection from {}: hard link limit {} reached", remote,
                     config_.limits.hard);
      }
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      ++counters_.inbound_accepted;
      const std::uint64_t id = next_id_++;
      auto link = std::make_shared<TcpLink>(
          *this, id, std::move(socket),
          LinkConnection::inbound(identity_, config_.link, runtime_.now()), remote, std::nullopt);
      connections_.emplace(id, link);
      link->start_inbound();
    }
    do_accept();
  });
}

TcpLink* LinkManager::find_by_static(const core::crypto::Key32& key) const {
  auto it = by_static_.find(key);
  if (it == by_static_.end()) return nullptr;
  auto link = connections_.find(it->second);
  return link == connections_.end() ? nullptr : link->second.get();
}

core::Result<std::shared_ptr<TcpLink>> LinkManager::dial(const PeerContact& contact,
                                                         ConnectOptions options) {
  if (stopping_) return core::make_error(Errc::kClosed, "link manager stopped");
  if (contact.static_key == identity_.static_keypair().public_key) {
    return core::make_error(Errc::kSelfDial);
  }
  if (!may_dial(config_.limits, connections_.size())) {
    return core::make_error(Errc::kLinkLimit, "soft limit of " + std::to_string(config_.limits.soft) +
                                                  " links reached; not dialing " + contact.address());
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(contact.host, ec);
  if (ec) return core::make_error(core::Errc::kInvalidArgument, "peer host '" + contact.host + "'");
  ++counters_.dials;
  const std::uint64_t id = next_id_++;
  auto conn = LinkConnection::outbound(identity_, config_.link, contact, runtime_.now());
  conn.set_persistent(options.persistent);
  // Dial from our listen address so peers see the address (and /16) we are known by.
  tcp::socket socket(runtime_.io());
  const auto local = local_endpoint();
  if (local.address().is_unspecified() || local.protocol() != tcp::endpoint(addr, 0).protocol()) {
    socket.open(tcp::endpoint(addr, 0).protocol(), ec);
  } else {
    socket.open(local.protocol(), ec);
    if (!ec) socket.bind(tcp::endpoint(local.address(), 0), ec);
  }
  if (ec) return core::make_error(Errc::kNetwork, "opening socket to " + contact.address() + ": " + ec.message());
  auto link = std::make_shared<TcpLink>(*this, id, std::move(socket), std::move(conn),
                                        contact.address(), contact);
  connections_.emplace(id, link);
  by_static_[contact.static_key] = id;
  link->start_outbound(tcp::endpoint(addr, contact.port));
  return link;
}

core::Status LinkManager::connect(const PeerContact& contact, ConnectOptions options) {
  if (TcpLink* existing = find_by_static(contact.static_key)) {
    if (options.persistent) existing->connection().set_persistent(true);
    return {};
  }
  auto link = dial(contact, options);
  if (!link) return link.error();
  return {};
}

core::Status LinkManager::send(const core::RouterHash& peer, BlockType type, core::ByteView body) {
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return core::make_error(Errc::kNoLink, peer.short_string());
  return connections_.at(it->second)->send(type, body);
}

core::Status LinkManager::send_to(const PeerContact& contact, BlockType type, core::ByteView body) {
  if (TcpLink* existing = find_by_static(contact.static_key)) return existing->send(type, body);
  if (auto held = send_to_backoff_.find(contact.static_key); held != send_to_backoff_.end()) {
    if (runtime_.now() < held->second) {
      return core::make_error(Errc::kNoLink, "the last dial of " + contact.address() + " failed moments ago");
    }
    send_to_backoff_.erase(held);
  }
  auto link = dial(contact, {});
  if (!link) return link.error();
  return (*link)->send(type, body);
}

void LinkManager::disconnect(const core::RouterHash& peer) {
  auto it = by_peer_.find(peer);
  if (it == by_peer_.end()) return;
  connections_.at(it->second)->close(CloseReason::kLocal, "disconnect requested");
}

std::vector<LinkInfo> LinkManager::links() const {
  std::vector<LinkInfo> out;
  out.reserve(by_peer_.size());
  for (const auto& [hash, id] : by_peer_) out.push_back(connections_.at(id)->info());
  return out;
}

void LinkManager::on_link_established(TcpLink& link) {
  const core::RouterHash peer = *link.connection().peer();
  if (peer == identity_.hash()) {
    link.close(CloseReason::kHandshakeFailed, "connected to ourselves");
    return;
  }
  ++counters_.handshakes_completed;
  if (auto it = by_peer_.find(peer); it != by_peer_.end()) {
    // Both sides dialed at once. Both keep the link initiated by the smaller router hash (the
    // older one if the same side dialed twice), so they agree without talking about it.
    TcpLink& other = *connections_.at(it->second);
    auto initiator = [&](const TcpLink& l) {
      return l.connection().direction() == LinkDirection::kOutbound ? identity_.hash() : peer;
    };
    const bool keep_new = initiator(link) < initiator(other);
    TcpLink& loser = keep_new ? other : link;
    if (keep_new) {
      it->second = link.id();
      by_static_[link.connection().peer_identity()->static_key] = link.id();
      if (other.connection().is_persistent()) link.connection().set_persistent(true);
    }
    ++counters_.duplicates_closed;
    loser.close(CloseReason::kDuplicate, "another link to this peer exists");
    return;
  }
  by_peer_.emplace(peer, link.id());
  by_static_[link.connection().peer_identity()->static_key] = link.id();
  if (events_) events_->on_link_up(link.info());
}

void LinkManager::count_close(const TcpLink& link, CloseReason reason) {
  switch (reason) {
    case CloseReason::kHandshakeTimeout: ++counters_.handshake_timeouts; break;
    case CloseReason::kHandshakeFailed: ++counters_.handshake_failures; break;
    case CloseReason::kProtocolError:
      if (link.connection().is_established()) {
        ++counters_.protocol_errors;
      } else {
        ++counters_.handshake_failures;
      }
      break;
    case CloseReason::kIdle: ++counters_.idle_closed; break;
    case CloseReason::kUnresponsive: ++counters_.unresponsive_closed; break;
    case CloseReason::kEvicted: ++counters_.evicted; break;
    default: break;
  }
}

void LinkManager::on_link_closed(TcpLink& link, CloseReason reason, const std::string& detail) {
  auto self = connections_.find(link.id());
  if (self == connections_.end()) return;
  auto keep_alive = self->second;  // the link object outlives this call
  connections_.erase(self);
  count_close(link, reason);
  const bool established = link.connection().is_established();
  const auto peer = link.connection().peer();
  if (link.contact()) {
    auto it = by_static_.find(link.contact()->static_key);
    if (it != by_static_.end() && it->second == link.id()) by_static_.erase(it);
  }
  if (established && peer) {
    auto it = by_peer_.find(*peer);
    if (it != by_peer_.end() && it->second == link.id()) {
      by_peer_.erase(it);
      by_static_.erase(link.connection().peer_identity()->static_key);
      spdlog::info("link down: peer {} at {} ({}{}{})", peer->short_string(), link.remote_address(),
                   to_string(reason), detail.empty() ? "" : ": ", detail);
      if (events_) events_->on_link_down(*peer, reason, detail);
    }
    return;
  }
  if (reason == CloseReason::kDuplicate) return;
  // Never linked: a failed dial or a failed inbound handshake.
  if (reason != CloseReason::kLocal && log_limiter_.allow(runtime_.now())) {
    spdlog::warn("{} handshake with {} failed: {} ({})",
                 link.connection().direction() == LinkDirection::kOutbound ? "outbound" : "inbound",
                 link.remote_address(), to_string(reason), detail);
  }
  if (link.contact()) {
    ++counters_.dial_failures;
    if (send_to_backoff_.size() > kMaxSendToBackoffs) send_to_backoff_.clear();  // bounded; only an optimisation
    send_to_backoff_[link.contact()->static_key] = runtime_.now() + kSendToBackoff;
    if (events_) events_->on_dial_failed(*link.contact(), reason, detail);
  }
}

void LinkManager::on_link_block(TcpLink& link, BlockType type, core::ByteView body) {
  if (events_) events_->on_block(*link.connection().peer(), type, body);
}

void LinkManager::on_link_drained(TcpLink& link) {
  if (events_ && link.connection().peer()) events_->on_writable(*link.connection().peer());
}

void LinkManager::on_tick() {
  const core::TimePoint now = runtime_.now();
  std::vector<std::shared_ptr<TcpLink>> all;
  all.reserve(connections_.size());
  for (auto& [id, link] : connections_) all.push_back(link);
  for (auto& link : all) link->tick(now);
  // Over the soft limit: evict the idlest link, one per tick, so churn stays gentle.
  if (connections_.size() > config_.limits.soft) {
    std::vector<LinkUsage> usage;
    std::vector<TcpLink*> handles;
    for (auto& [id, link] : connections_) {
      usage.push_back({handles.size(), link->connection().last_activity(),
                       link->connection().is_persistent(), link->connection().is_established()});
      handles.push_back(link.get());
    }
    if (auto victim = pick_eviction(config_.limits, usage)) {
      handles[*victim]->close(CloseReason::kEvicted, "over the soft link limit");
    }
  }
  if (!stopping_) tick_timer_->arm(now + kTickInterval);
}

}  // namespace hop::transport
