// End-to-end sessions between two destinations (docs/sessions.md): the INIT/ACCEPT handshake
// (ephemeral X25519 with the responder's static key, then ephemeral-ephemeral for forward
// secrecy) and the sealing of DATA messages with a replay window. Pure and sans-I/O: bytes and
// keys in, bytes and errors out; the caller routes messages, retries and keeps sessions.
// Thread affinity: none; each object is used by one thread at a time.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>

#include "hop/core/bytes.h"
#include "hop/core/crypto.h"
#include "hop/core/result.h"
#include "hop/netdb/destination.h"
#include "hop/netdb/lease_set.h"

namespace hop::tunnels {

// First byte of every session message (netdb 1, probe 2 and tunnels 3 are taken).
inline constexpr std::uint8_t kSessionService = 4;
enum class SessionMessageKind : std::uint8_t { kInit = 1, kAccept = 2, kData = 3 };
// Nonzero, chosen by each side for its end; the peer puts it into what it sends us.
using SessionId = std::uint64_t;

// Every session message fits one tunnel message.
inline constexpr std::size_t kMaxSessionMessage = 61440;
// INIT: service, kind, e (32) || sealed { session id, signature, LeaseSet (<= 4096) }.
inline constexpr std::size_t kInitHeaderSize = 34;
inline constexpr std::size_t kInitFixedPlaintext = 8 + core::crypto::kSignatureSize;  // id, signature
inline constexpr std::size_t kMaxInitMessage = 4218;  // a LeaseSet of kMaxLeaseSetSize (4096)
// ACCEPT: service, kind, receiver id, e (32) || sealed { session id }: always 66 bytes.
inline constexpr std::size_t kAcceptHeaderSize = 42;
inline constexpr std::size_t kAcceptSize = kAcceptHeaderSize + 8 + core::crypto::kTagSize;
// DATA: service, kind, receiver id, counter || sealed payload.
inline constexpr std::size_t kDataHeaderSize = 18;
inline constexpr std::size_t kMaxSessionPayload = kMaxSessionMessage - kDataHeaderSize - core::crypto::kTagSize;
// Counters a receiver remembers below the highest seen: messages take different tunnels and
// arrive out of order by far more than a cell's 64.
inline constexpr std::size_t kSessionReplayWindow = 4096;

// Cheap routing look without crypto. `receiver` is the session id the message is addressed to
// (0 for INIT, which is addressed to the destination). Errc::kTooLarge over the kind's limit,
// kMalformed for a wrong service byte, an unknown kind, a wrong size or receiver 0.
struct SessionHeader {
  SessionMessageKind kind = SessionMessageKind::kData;
  SessionId receiver = 0;
};
core::Result<SessionHeader> peek_session_message(core::ByteView message);

// Which DATA counters a receiver has accepted: fresh = above every counter seen, or among the
// kSessionReplayWindow counters ending at the highest and not seen yet. 2^64-1 is never fresh.
class SessionReplayWindow {
 public:
  bool is_fresh(std::uint64_t counter) const;
  // Records `counter` (precondition: is_fresh(counter)).
  void mark(std::uint64_t counter);

 private:
  std::uint64_t next_ = 0;                  // one past the highest counter marked; 0 = none yet
  std::bitset<kSessionReplayWindow> seen_;  // bit c % size for c in [next_ - size, next_)
};

struct AcceptedSession;

// One established session, one side of it: seals what we send, opens what the peer sent.
// Move-only (a copy would reuse nonces); a moved-from cipher opens nothing and must not seal.
class SessionCipher {
 public:
  SessionCipher(SessionCipher&& other) noexcept;
  SessionCipher& operator=(SessionCipher&& other) noexcept;
  SessionCipher(const SessionCipher&) = delete;
  SessionCipher& operator=(const SessionCipher&) = delete;
  ~SessionCipher() = default;  // SecretKey members wipe themselves

  // A whole DATA message (service byte first) to the peer, with the next counter. Aborts if
  // payload.size() > kMaxSessionPayload, after 2^64-1 messages or once moved from (caller bugs).
  core::Bytes seal(core::ByteView payload);
  // The payload of a DATA message addressed to us. Errc::kMalformed / kTooLarge as
  // peek_session_message, kNotForUs for another receiver id, kReplay for a counter seen before
  // or below the window, kIntegrity for a bad tag. A refused message changes nothing.
  core::Result<core::Bytes> open(core::ByteView message);

  SessionId local_id() const { return local_id_; }
  SessionId remote_id() const { return remote_id_; }
  // The counter the next seal() uses, i.e. how many messages were sealed (for rotation policy).
  std::uint64_t next_counter() const { return send_counter_; }

 private:
  friend class InitiatorHandshake;
  friend core::Result<AcceptedSession> accept_session(const netdb::Destination&, core::ByteView,
                                                      const netdb::LeaseSetVerifyContext&, SessionId);
  SessionCipher(SessionId local_id, SessionId remote_id, const core::crypto::Key32& send_key,
                const core::crypto::Key32& receive_key);
  void retire();

  SessionId local_id_ = 0;
  SessionId remote_id_ = 0;
  core::crypto::SecretKey send_key_;
  core::crypto::SecretKey receive_key_;
  std::uint64_t send_counter_ = 0;
  SessionReplayWindow window_;
};

// The initiator's side: INIT out, ACCEPT in. Move-only; a moved-from handshake accepts nothing.
// The ephemeral secret and chaining key are wiped when it completes or is destroyed.
class InitiatorHandshake {
 public:
  // The INIT to send to `remote`, signed as `self` and carrying `self_lease_set_wire` (our
  // SignedLeaseSet's wire, at most kMaxLeaseSetSize, so the responder knows where to answer).
  // Aborts if local_id is 0 or the LeaseSet is too large (programming errors); Errc::kMalformed
  // if remote's encryption key is low-order (no one holds its secret).
  static core::Result<InitiatorHandshake> start(const netdb::Destination& self, core::ByteView self_lease_set_wire,
                                                const netdb::DestinationKeys& remote, SessionId local_id);

  InitiatorHandshake(InitiatorHandshake&& other) noexcept;
  InitiatorHandshake& operator=(InitiatorHandshake&& other) noexcept;
  InitiatorHandshake(const InitiatorHandshake&) = delete;
  InitiatorHandshake& operator=(const InitiatorHandshake&) = delete;
  ~InitiatorHandshake();

  // The same bytes every time: resending them is safe (the responder answers a repeat with its
  // stored ACCEPT, docs/sessions.md "Left to the caller").
  const core::Bytes& init_message() const { return init_; }
  SessionId local_id() const { return local_id_; }
  const netdb::DestinationKeys& remote() const { return remote_; }

  // The remote's ACCEPT: the established cipher. Errc::kMalformed / kTooLarge for a bad shape,
  // kNotForUs for another session id, kIntegrity for a bad tag (not from the remote, or not for
  // this INIT), kReplay once a previous ACCEPT completed the handshake. Failures change nothing,
  // so a forged ACCEPT cannot kill a pending handshake.
  core::Result<SessionCipher> on_accept(core::ByteView message);

 private:
  InitiatorHandshake() = default;
  void retire();

  SessionId local_id_ = 0;
  netdb::DestinationKeys remote_;
  core::Bytes init_;
  core::crypto::SecretKey ephemeral_;
  core::crypto::Key32 ephemeral_public_{};
  core::crypto::Hash64 chaining_key_{};  // secret: wiped
  core::crypto::Hash64 hash_{};          // the transcript hash after INIT
  bool complete_ = false;
};

// What the responder learns from a good INIT, and its answer.
struct AcceptedSession {
  SessionCipher cipher;
  netdb::SignedLeaseSet initiator_lease_set;  // verified; .lease_set.destination = the initiator's keys
  core::Bytes accept_message;                 // to send back through one of its leases
  // For the caller's cache of INITs seen: a repeat carries the same key. Keep it until
  // initiator_lease_set.lease_set.expires; after that the same INIT is refused anyway.
  core::crypto::Key32 initiator_ephemeral{};
};

// The responder's side: opens an INIT addressed to `self`, verifies the initiator's LeaseSet
// against `context` and its signature, and answers with `local_id` (nonzero; aborts on 0).
// Errc::kMalformed / kTooLarge for a bad shape, kIntegrity for a bad tag (not sealed to us) or
// signature; netdb::Errc::kRefused (the context names the refusal) for a bad LeaseSet.
core::Result<AcceptedSession> accept_session(const netdb::Destination& self, core::ByteView init,
                                             const netdb::LeaseSetVerifyContext& context, SessionId local_id);

}  // namespace hop::tunnels
