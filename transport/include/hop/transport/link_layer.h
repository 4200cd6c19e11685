// The link layer as upper layers see it. The TCP LinkManager and the in-memory SimNetwork both
// implement it, so NetDB and tunnel logic runs unchanged on either.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/result.h"
#include "hop/core/runtime.h"
#include "hop/transport/frame.h"

namespace hop::transport {

// How to reach a peer: its address and static key, and its router hash when known.
struct PeerContact {
  std::string host;  // numeric IPv4 or IPv6 address
  std::uint16_t port = 0;
  core::crypto::Key32 static_key{};
  std::optional<core::RouterHash> hash;

  // "host:port:static-key" with the key in base32 (52 chars); IPv6 hosts in brackets.
  std::string to_string() const;
  static core::Result<PeerContact> parse(std::string_view text);
  std::string address() const;  // "host:port" / "[v6]:port"
};

// A numeric IPv4 or IPv6 address in canonical form; refuses names, scope ids ("%eth0") and any
// character outside hex digits, '.' and ':'.
std::optional<std::string> parse_ip(std::string_view text);

// "host:port" or "[v6]:port" with a numeric host; port 0 only when `allow_any_port` (listeners).
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
core::Result<HostPort> parse_host_port(std::string_view text, bool allow_any_port);

enum class LinkDirection : std::uint8_t { kInbound, kOutbound };

// Why a link ended (also sent to the peer in a Close block and counted).
enum class CloseReason : std::uint8_t {
  kLocal = 0,            // closed on request (disconnect, shutdown)
  kPeerClosed = 1,       // peer closed the connection or sent Close
  kHandshakeTimeout = 2,
  kHandshakeFailed = 3,  // authentication failed: wrong static key, network id, bad identity
  kProtocolError = 4,    // bad length, failed frame authentication, malformed block
  kIdle = 5,
  kUnresponsive = 6,     // ping unanswered
  kEvicted = 7,          // over the soft limit, the idlest link goes
  kDuplicate = 8,        // a second link to the same peer
  kLimit = 9,            // hard limit: refused
  kNetworkError = 10,
};
std::string_view to_string(CloseReason reason);
// The peer may be gone: the link ended without either side deciding to close it for a reason
// of its own (idle, evicted, duplicate, limit, our own close). A peer that shuts down counts.
bool is_lost(CloseReason reason);

struct LinkInfo {
  core::RouterHash peer;
  core::crypto::Key32 peer_static_key{};
  std::string remote_address;
  LinkDirection direction = LinkDirection::kOutbound;
  core::TimePoint established_at{};
  core::TimePoint last_activity{};  // last message or cell either way (pings do not count)
  std::optional<core::Duration> rtt;  // smoothed; from the handshake, then pings
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::size_t queued_bytes = 0;
  bool persistent = false;
};

struct ConnectOptions {
  // Exempt from the idle timeout and from soft-limit eviction (configured seeds, for now).
  bool persistent = false;
};

// Events from the link layer. Called on the link layer's thread.
class LinkEvents {
 public:
  virtual ~LinkEvents() = default;
  virtual void on_link_up(const LinkInfo& link) = 0;
  virtual void on_link_down(const core::RouterHash& peer, CloseReason reason,
                            const std::string& detail) = 0;
  // A kMessage or kCell block from a linked peer. `body` is valid only during the call.
  virtual void on_block(const core::RouterHash& peer, BlockType type, core::ByteView body) = 0;
  // An outbound dial failed before a link existed.
  virtual void on_dial_failed(const PeerContact& contact, CloseReason reason,
                              const std::string& detail) {
    (void)contact, (void)reason, (void)detail;
  }
  // The send queue to `peer` drained below half after send() reported backpressure.
  virtual void on_writable(const core::RouterHash& peer) { (void)peer; }
};

// Thread affinity: the owning node's network thread.
class LinkLayer {
 public:
  virtual ~LinkLayer() = default;
  virtual void set_events(LinkEvents* events) = 0;
  // Dials unless a link to the peer exists or is being dialed. Fails over the soft limit and
  // for our own key.
  virtual core::Status connect(const PeerContact& contact, ConnectOptions options = {}) = 0;
  // Queues a kMessage or kCell block on the link to `peer`. Errors: kNoLink, kBackpressure.
  virtual core::Status send(const core::RouterHash& peer, BlockType type, core::ByteView body) = 0;
  // Dial on demand: sends on the existing link, or dials and queues the block until it is up.
  virtual core::Status send_to(const PeerContact& contact, BlockType type, core::ByteView body) = 0;
  virtual void disconnect(const core::RouterHash& peer) = 0;
  virtual std::vector<LinkInfo> links() const = 0;
};

}  // namespace hop::transport
