// LocalDestination: a destination hosted on this node (docs/sessions.md, "Sessions"). It owns a
// tunnel pool, publishes its LeaseSet as the pool's inbound tunnels change, keeps one end-to-end
// session per remote destination (session_crypto.h), and runs the streams between them over a
// StreamMux per session. It is the asynchronous shell around the sans-I/O pieces: it reads the
// clock, arms one timer, and chooses the tunnel path each message takes.
//
// Paths: a session sends through one of our outbound tunnels to one lease of the peer's LeaseSet
// and keeps that path while it works, so that packets are not reordered across tunnels. It moves
// when either is about to expire, when a send fails, or when a stream's retransmission timer
// fires (the path may be broken). Which half of the round trip broke, ours or the peer's, is
// unknown, so after a timeout it takes any other pair of tunnel and lease, avoids the pairs
// that timed out for a while, bumps its path epoch (every message carries it), and for a few
// round trips sends every packet over every pair: the streams keep making progress while the
// new path proves itself. A peer that sees a new epoch followed by data it already had knows
// its acks were lost and does the same with its half. Retransmissions take the new path:
// nothing is lost or duplicated, the streams repair what was in flight.
//
// Timers (one Timer, armed in arm_timer() and recomputed in on_timer()): the earliest of every established session's stream
// deadline, the next LeaseSet check (every lease_check) and the next housekeeping pass (handshake
// retries and timeouts, idle sessions, every kHousekeeping).
// Thread affinity: the node's network thread (its Runtime's).
#pragma once

#include <compare>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hop/core/runtime.h"
#include "hop/netdb/destination.h"
#include "hop/netdb/lease_set.h"
#include "hop/tunnels/session_crypto.h"
#include "hop/tunnels/stream_mux.h"
#include "hop/tunnels/tunnel_manager.h"

namespace hop::netdb {
class NetDb;
}

namespace hop::tunnels {

using namespace std::chrono_literals;

struct LocalDestinationConfig {
  PoolConfig pool;
  StreamMuxConfig streams;
  std::uint32_t network_id = 1;
  core::Duration lease_check = 500ms;       // how often the inbound tunnels are compared with the LeaseSet
  core::Duration connect_timeout = 30s;     // LeaseSet lookup + our tunnels + handshake
  core::Duration handshake_retry = 1s;      // INIT resent (through another path) until ACCEPT
  core::Duration session_idle = 10min;      // a session without streams is dropped after this
  core::Duration session_silence = 30s;     // a new stream does not reuse a session silent this long
  std::size_t max_sessions = 1024;
};

// Why a stream ended, as its user learns it.
enum class StreamEnd {
  kFinished,       // both directions closed normally
  kReset,          // the peer (or we) reset it
  kTimeout,        // unanswered retransmissions, or idle
  kNoLeaseSet,     // the remote destination's LeaseSet was not found
  kConnectTimeout, // no tunnels of ours, or no answer to the handshake, within connect_timeout
  kRefused,        // the peer refused the stream (too many streams) or the session failed
  kStopped,        // the destination stopped
};
std::string_view to_string(StreamEnd end);

// A stream's user (the TCP bridge). Callbacks run on the destination's thread, never from inside
// a call the user made into the destination.
class StreamEvents {
 public:
  virtual ~StreamEvents() = default;
  // Bytes are ready to read(), or the peer finished writing (read_closed()).
  virtual void on_stream_readable() = 0;
  // write() takes bytes again after it took fewer than offered.
  virtual void on_stream_writable() = 0;
  // The peer answered: the stream is up (an accepted stream is up from the start).
  virtual void on_stream_established() {}
  // The stream is gone (its key is dead); after kFinished everything was delivered both ways.
  virtual void on_stream_closed(StreamEnd end) = 0;
};

struct StreamKey {
  SessionId session = 0;
  StreamId stream = 0;
  auto operator<=>(const StreamKey&) const = default;
};

struct LocalDestinationCounters {
  std::uint64_t lease_sets_published = 0;
  std::uint64_t lease_sets_pushed = 0;  // to peers over their sessions
  std::uint64_t sessions_initiated = 0;
  std::uint64_t sessions_accepted = 0;
  std::uint64_t sessions_failed = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t messages_refused = 0;   // malformed, unknown session, bad tag or replay
  std::uint64_t send_failures = 0;      // no tunnel or lease to send through
  std::uint64_t path_changes = 0;
  std::uint64_t streams_opened = 0;
  std::uint64_t streams_accepted = 0;
  std::uint64_t bytes_sent = 0;         // session messages, sealed
  std::uint64_t bytes_received = 0;
};

struct SessionView {
  SessionId local_id = 0;
  netdb::DestinationHash remote;
  std::string state;
  bool initiator = false;
  std::size_t streams = 0;
  std::uint64_t path_changes = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  core::TimePoint created{};
  core::TimePoint last_receive{};
  std::uint64_t outbound_tunnel = 0;  // the path's tunnel (TunnelView::id); 0: no path
  core::RouterHash lease_gateway;     // the path's remote inbound gateway
};

class LocalDestination {
 public:
  // A new stream the peer opened; attach() it (or reset() it) before returning.
  using AcceptHandler = std::function<void(StreamKey key, const netdb::DestinationHash& from)>;

  LocalDestination(core::Runtime& runtime, TunnelManager& tunnels, netdb::NetDb& netdb, netdb::Destination keys,
                   LocalDestinationConfig config);
  ~LocalDestination();
  LocalDestination(const LocalDestination&) = delete;
  LocalDestination& operator=(const LocalDestination&) = delete;

  // Adds the tunnel pool; the LeaseSet is published once an inbound tunnel is up.
  core::Status start();
  // Ends every stream (kStopped), withdraws the LeaseSet and drops the pool.
  void stop();

  // A session message (service byte kSessionService first) that came through our inbound tunnels.
  void on_message(core::ByteView message);

  void set_accept_handler(AcceptHandler handler) { on_accept_ = std::move(handler); }
  // Opens a stream to `remote`: looks up its LeaseSet and sets up a session when needed.
  // Writes are buffered until the stream is up; failures arrive as on_stream_closed.
  StreamKey connect(const netdb::DestinationHash& remote, StreamEvents& events);
  void attach(StreamKey key, StreamEvents& events);
  // Takes what the stream's send buffer holds (0: wait for on_stream_writable, or it is closed).
  std::size_t write(StreamKey key, core::ByteView data);
  // Up to `max` bytes in order; empty when none are ready.
  core::Bytes read(StreamKey key, std::size_t max);
  // The peer finished writing and everything was read.
  bool read_closed(StreamKey key);
  // Half-close: FIN after what was written.
  void shutdown_write(StreamKey key);
  // Detaches the user: the stream finishes on its own (the FIN exchange) and goes away.
  void release(StreamKey key);
  // Aborts the stream (RST) and detaches the user.
  void reset(StreamKey key);

  const netdb::Destination& keys() const { return keys_; }
  const netdb::DestinationHash& hash() const { return keys_.hash(); }
  PoolId pool() const { return pool_; }
  bool running() const { return running_; }
  // Our LeaseSet as last published (nullptr before the first inbound tunnel).
  const netdb::SignedLeaseSet* lease_set() const { return lease_set_ ? &*lease_set_ : nullptr; }
  const LocalDestinationCounters& counters() const { return counters_; }
  std::vector<SessionView> sessions() const;
  std::size_t open_streams() const;

 private:
  enum class SessionState { kLookup, kWaitingTunnels, kHandshake, kEstablished, kFailed };
  struct Attached {
    StreamEvents* events = nullptr;
    bool write_blocked = false;
    bool eof_told = false;
    bool established_told = false;
  };
  struct Path {
    std::uint64_t outbound = 0;
    core::RouterHash gateway;
    TunnelId tunnel = 0;
    core::TimePoint valid_until{};
  };
  struct Session {
    Session(SessionId id, const netdb::DestinationHash& peer, MuxSide side, const StreamMuxConfig& config,
            core::TimePoint now);
    SessionId local_id;
    netdb::DestinationHash remote;
    SessionState state = SessionState::kLookup;
    bool initiator = true;
    std::optional<netdb::SignedLeaseSet> remote_lease_set;
    std::optional<InitiatorHandshake> handshake;
    std::optional<SessionCipher> cipher;
    core::Bytes accept_message;  // responder: sent again when the INIT comes again
    StreamMux mux;
    std::map<StreamId, Attached> attached;
    std::optional<Path> path;
    // Paths a retransmission timeout fired on, each avoided until its valid_until.
    std::vector<Path> failed_paths;
    std::uint8_t our_epoch = 0;
    std::optional<std::uint8_t> peer_epoch;
    bool peer_timed_out = false;  // its epoch changed: its next data says whether our acks were lost
    core::TimePoint spread_until{};  // a path failed: until then packets go over every path
    std::uint64_t rtos_seen = 0;
    std::uint64_t path_changes = 0;
    std::uint64_t messages_sent = 0;
    std::uint64_t messages_received = 0;
    core::WallTime lease_set_pushed{};  // `published` of our LeaseSet the peer was last sent
    core::TimePoint created{};
    core::TimePoint last_receive{};
    core::TimePoint last_activity{};  // a stream existed
    core::TimePoint next_init{};
    core::WallTime init_lease_set{};  // `published` of our LeaseSet the INIT carries
    int init_retries = 0;
    core::TimePoint next_lease_refresh{};  // a path failed: the peer's LeaseSet is asked for anew
    bool flush_posted = false;
    StreamEnd failure = StreamEnd::kRefused;
  };

  Session* find_session(SessionId id);
  Session& new_session(const netdb::DestinationHash& remote, bool initiator);
  SessionId fresh_session_id() ;
  MuxSide side_towards(const netdb::DestinationHash& remote) const;

  void on_init(core::ByteView message);
  void on_accept_message(const SessionHeader& header, core::ByteView message);
  void on_data(const SessionHeader& header, core::ByteView message);
  void on_inner(Session& s, core::ByteView inner);
  void on_lease_set_found(SessionId id, const netdb::SignedLeaseSet* found);
  void begin_handshake(Session& s);
  void send_init(Session& s);
  void established(Session& s);
  void fail(Session& s, StreamEnd why, const std::string& reason);

  // Sends every packet the session's streams have, then tells the users what changed.
  void flush(Session& s);
  void schedule_flush(Session& s);
  void notify(Session& s);
  void send_inner(Session& s, std::uint8_t kind, core::ByteView body);
  bool send_raw(Session& s, core::ByteView message);
  // The message over every path (at most kMaxSpreadPaths), for the round trips after a path failed.
  bool send_spread(Session& s, core::ByteView message);
  // Every pair of one of our outbound tunnels and one of the peer's leases, each valid until a
  // margin before either expires.
  std::vector<Path> paths_of(const Session& s) const;
  static bool same_route(const Path& a, const Path& b);
  // A path for the session, preferring paths that did not fail lately; `move`: another than the
  // current one when there is another.
  bool choose_path(Session& s, bool move);
  // The current path goes to the failed ones (avoided for kFailedPathMemory); another is chosen.
  void leave_path(Session& s);
  // Our half of the round trip may have lost data: another path, this one avoided for a while,
  // and packets over every path for a few round trips; at most once per move (nothing while the
  // last move's spreading lasts). `our_timeout`: one of our timers fired (not the peer's), so the
  // peer is told to check its half.
  void on_path_failed(Session& s, bool our_timeout);
  // A path of the session may be broken: our pool is tested at once (TunnelManager::
  // suspect_pool) and the peer's LeaseSet asked for again (at most every kLeaseRefreshInterval).
  void suspect_paths(Session& s);
  // A stream packet of an established session, with the path decision its arrival implies.
  void on_stream_packet(Session& s, const StreamPacket& packet);
  // The peer's LeaseSet, pushed or looked up again; a newer one replaces the session's.
  void on_peer_lease_set(Session& s, const netdb::SignedLeaseSet& lease_set);
  // New tunnels of ours or new leases of the peer: if the session is stalled, its streams resend
  // what is in flight over them now rather than after a backed-off timer.
  void on_new_paths(Session& s);
  // Our pool's outbound tunnels, compared with the last look: new ones are new paths.
  void check_outbound_tunnels();

  void check_lease_set();
  void push_lease_set(Session& s);
  void housekeeping();
  void on_timer();
  // The timer fires at `at` unless it is armed for earlier already.
  void arm_timer(core::TimePoint at);

  Stream* stream_of(StreamKey key, Session** session = nullptr);

  core::Runtime& runtime_;
  TunnelManager& tunnels_;
  netdb::NetDb& netdb_;
  netdb::Destination keys_;
  LocalDestinationConfig config_;
  PoolId pool_ = kExploratoryPool;
  bool running_ = false;
  std::optional<netdb::SignedLeaseSet> lease_set_;
  std::set<std::uint64_t> outbound_seen_;  // our outbound tunnels at the last check
  std::map<SessionId, Session> sessions_;
  std::map<netdb::DestinationHash, SessionId> by_remote_;  // the session new streams use
  std::map<core::crypto::Key32, SessionId> init_ephemerals_;  // INITs seen, for retransmitted INITs
  std::deque<core::crypto::Key32> init_order_;
  AcceptHandler on_accept_;
  LocalDestinationCounters counters_;
  std::unique_ptr<core::Timer> timer_;
  std::optional<core::TimePoint> timer_at_;
  core::TimePoint next_lease_check_{};
  core::TimePoint next_housekeeping_{};
  std::mt19937_64 rng_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards lookups and posted calls
};

}  // namespace hop::tunnels
