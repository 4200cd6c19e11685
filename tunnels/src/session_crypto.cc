#include "hop/tunnels/session_crypto.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "hop/netdb/constants.h"
#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

namespace crypto = core::crypto;
using crypto::Hash64;
using crypto::Key32;
using crypto::SecretKey;

// docs/sessions.md, "Key derivation" and "INIT".
constexpr std::string_view kProtocolLabel = "hopline-session-v1";
constexpr std::string_view kSignatureLabel = "hopline-session-init-v1";
// k1 and k2 each seal exactly one message, so their nonce can be fixed.
constexpr std::uint64_t kHandshakeNonce = 0;
// Never a DATA counter: a receiver's window could not move past it, and a retired cipher
// marks itself with it.
constexpr std::uint64_t kCounterLimit = std::numeric_limits<std::uint64_t>::max();

// Offsets (docs/sessions.md, the message tables).
constexpr std::size_t kServiceAt = 0;
constexpr std::size_t kKindAt = 1;
constexpr std::size_t kInitEphemeralAt = 2;
constexpr std::size_t kReceiverAt = 2;
constexpr std::size_t kAcceptEphemeralAt = 10;
constexpr std::size_t kCounterAt = 10;
// INIT plaintext.
constexpr std::size_t kInitIdAt = 0;
constexpr std::size_t kInitSignatureAt = 8;
constexpr std::size_t kInitLeaseSetAt = kInitFixedPlaintext;
constexpr std::size_t kMinInitMessage = kInitHeaderSize + kInitFixedPlaintext + 1 + crypto::kTagSize;

static_assert(kInitEphemeralAt + crypto::kKeySize == kInitHeaderSize);
static_assert(kAcceptEphemeralAt + crypto::kKeySize == kAcceptHeaderSize);
static_assert(kCounterAt + 8 == kDataHeaderSize);
static_assert(kInitSignatureAt + crypto::kSignatureSize == kInitLeaseSetAt);
static_assert(kMaxInitMessage == kInitHeaderSize + kInitFixedPlaintext + netdb::kMaxLeaseSetSize + crypto::kTagSize);
static_assert(kAcceptSize == 66);
static_assert(kMaxSessionPayload + kDataHeaderSize + crypto::kTagSize == kMaxSessionMessage);

core::Error error(Errc code, const std::string& what) { return core::make_error(code, what); }

Key32 get_key(const std::uint8_t* p) {
  Key32 key;
  std::memcpy(key.data(), p, key.size());
  return key;
}

Key32 first_half(const Hash64& h) {
  Key32 key;
  std::memcpy(key.data(), h.data(), key.size());
  return key;
}

// The Noise-style symmetric state: h absorbs every byte either side sent, ck every DH output.
// ck is secret and wiped; h is not (it is a hash of public bytes and ciphertexts).
struct Transcript {
  Hash64 ck{};
  Hash64 h{};

  Transcript(const Hash64& chaining_key, const Hash64& hash) : ck(chaining_key), h(hash) {}
  Transcript(Transcript&&) = default;  // both copies are wiped
  Transcript(const Transcript&) = delete;
  Transcript& operator=(const Transcript&) = delete;
  ~Transcript() { crypto::secure_wipe(ck); }

  // h = HASH(h || data)
  void mix_hash(core::ByteView data) {
    crypto::Blake2b hash;
    hash.update(h).update(data);
    hash.finish(h);
  }
  // ck, t = HKDF(ck, dh); the key is t[0:32].
  SecretKey mix_key(const SecretKey& dh) {
    auto out = crypto::noise_hkdf(ck, dh.bytes(), 2);
    ck = out.first;
    SecretKey key(first_half(out.second));
    crypto::secure_wipe(out.first);
    crypto::secure_wipe(out.second);
    return key;
  }
};

// h0 = HASH(label); ck = h0; h = HASH(h0 || responder's destination hash).
Transcript start_transcript(const netdb::DestinationHash& responder) {
  const Hash64 h0 = crypto::blake2b_512(core::as_bytes(kProtocolLabel));
  Transcript t(h0, h0);
  t.mix_hash(responder.bytes);
  return t;
}

struct DirectionKeys {
  SecretKey initiator_to_responder;
  SecretKey responder_to_initiator;
};

// t1, t2 = HKDF(ck, h): the keys depend on every DH and on everything both sides saw.
DirectionKeys split(const Transcript& t) {
  auto out = crypto::noise_hkdf(t.ck, t.h, 2);
  DirectionKeys keys{SecretKey(first_half(out.first)), SecretKey(first_half(out.second))};
  crypto::secure_wipe(out.first);
  crypto::secure_wipe(out.second);
  return keys;
}

// "hopline-session-init-v1" || responder hash || e || u64be(initiator's session id).
core::Bytes init_signed_message(const netdb::DestinationHash& responder, const Key32& ephemeral, SessionId id) {
  core::Bytes m(core::as_bytes(kSignatureLabel).begin(), core::as_bytes(kSignatureLabel).end());
  core::append(m, responder.bytes);
  core::append(m, ephemeral);
  const std::size_t at = m.size();
  m.resize(at + 8);
  core::put_u64(m.data() + at, id);
  return m;
}

core::Bytes header_of(SessionMessageKind kind, std::size_t size) {
  core::Bytes m(size);
  m[kServiceAt] = kSessionService;
  m[kKindAt] = static_cast<std::uint8_t>(kind);
  return m;
}

core::Result<SessionHeader> peek_kind(core::ByteView message, SessionMessageKind expected, std::string_view what) {
  auto header = peek_session_message(message);
  if (!header) return header.error().wrap(std::string(what));
  if (header->kind != expected) return error(Errc::kMalformed, std::string(what) + ": another kind of message");
  return header;
}

// The INIT plaintext: u64be(id) || signature || LeaseSet wire.
core::Bytes init_plaintext(const netdb::Destination& self, core::ByteView lease_set_wire,
                           const netdb::DestinationHash& responder, const Key32& ephemeral, SessionId id) {
  core::Bytes p(kInitFixedPlaintext);
  core::put_u64(p.data() + kInitIdAt, id);
  const auto signature = self.sign(init_signed_message(responder, ephemeral, id));
  std::memcpy(p.data() + kInitSignatureAt, signature.data(), signature.size());
  core::append(p, lease_set_wire);
  return p;
}

// What the responder has from an INIT once its tag verified.
struct OpenedInit {
  SessionId initiator_id = 0;
  crypto::Signature signature{};
  core::Bytes lease_set_wire;
};

core::Result<OpenedInit> parse_init_plaintext(core::ByteView p) {
  OpenedInit out;
  out.initiator_id = core::get_u64(p.data() + kInitIdAt);
  if (out.initiator_id == 0) return error(Errc::kMalformed, "opening INIT: session id 0");
  std::memcpy(out.signature.data(), p.data() + kInitSignatureAt, out.signature.size());
  out.lease_set_wire.assign(p.begin() + kInitLeaseSetAt, p.end());
  return out;
}

// ACCEPT = header (receiver = the initiator's id, e_B) || ENCRYPT(k2, 0, h, u64be(local_id)).
// `t` holds the state after INIT and ends after ACCEPT.
core::Result<core::Bytes> seal_accept(Transcript& t, const Key32& initiator_ephemeral, SessionId initiator_id,
                                      SessionId local_id) {
  const auto ephemeral = crypto::X25519Keypair::generate();
  core::Bytes accept = header_of(SessionMessageKind::kAccept, kAcceptSize);
  core::put_u64(accept.data() + kReceiverAt, initiator_id);
  std::memcpy(accept.data() + kAcceptEphemeralAt, ephemeral.public_key.data(), crypto::kKeySize);
  t.mix_hash(core::ByteView(accept).first(kAcceptHeaderSize));
  const auto ee = crypto::x25519(ephemeral.secret, initiator_ephemeral);  // ee
  if (!ee) return error(Errc::kMalformed, "opening INIT: low-order ephemeral key");
  const SecretKey k2 = t.mix_key(*ee);
  std::uint8_t id[8];
  core::put_u64(id, local_id);
  const auto sealed = core::MutableByteView(accept).subspan(kAcceptHeaderSize);
  crypto::aead_seal(k2.bytes(), kHandshakeNonce, t.h, id, sealed);
  t.mix_hash(sealed);
  return accept;
}

}  // namespace

// --- peek ---

core::Result<SessionHeader> peek_session_message(core::ByteView message) {
  if (message.size() > kMaxSessionMessage) return error(Errc::kTooLarge, "session message over 61440 bytes");
  if (message.size() < 2 || message[kServiceAt] != kSessionService) {
    return error(Errc::kMalformed, "not a session message");
  }
  SessionHeader header;
  switch (static_cast<SessionMessageKind>(message[kKindAt])) {
    case SessionMessageKind::kInit:
      if (message.size() > kMaxInitMessage) return error(Errc::kTooLarge, "INIT over 4218 bytes");
      if (message.size() < kMinInitMessage) return error(Errc::kMalformed, "INIT too short");
      header.kind = SessionMessageKind::kInit;
      return header;
    case SessionMessageKind::kAccept:
      if (message.size() != kAcceptSize) return error(Errc::kMalformed, "ACCEPT of the wrong size");
      header.kind = SessionMessageKind::kAccept;
      break;
    case SessionMessageKind::kData:
      if (message.size() < kDataHeaderSize + crypto::kTagSize) return error(Errc::kMalformed, "DATA too short");
      header.kind = SessionMessageKind::kData;
      break;
    default: return error(Errc::kMalformed, "unknown session message kind");
  }
  header.receiver = core::get_u64(message.data() + kReceiverAt);
  if (header.receiver == 0) return error(Errc::kMalformed, "session message for session id 0");
  return header;
}

// --- replay window ---

bool SessionReplayWindow::is_fresh(std::uint64_t counter) const {
  if (counter == kCounterLimit) return false;
  if (counter >= next_) return true;
  if (next_ - counter > kSessionReplayWindow) return false;  // below the window
  return !seen_[counter % kSessionReplayWindow];
}

void SessionReplayWindow::mark(std::uint64_t counter) {
  if (counter >= next_) {
    // The window slides up to end at counter: the positions of counters next_..counter-1 held
    // counters that now fall below it.
    if (counter - next_ >= kSessionReplayWindow) {
      seen_.reset();
    } else {
      for (std::uint64_t c = next_; c < counter; ++c) seen_.reset(c % kSessionReplayWindow);
    }
    next_ = counter + 1;
  }
  seen_.set(counter % kSessionReplayWindow);
}

// --- SessionCipher ---

SessionCipher::SessionCipher(SessionId local_id, SessionId remote_id, const Key32& send_key, const Key32& receive_key)
    : local_id_(local_id), remote_id_(remote_id), send_key_(send_key), receive_key_(receive_key) {}

SessionCipher::SessionCipher(SessionCipher&& other) noexcept
    : local_id_(other.local_id_),
      remote_id_(other.remote_id_),
      send_key_(other.send_key_),
      receive_key_(other.receive_key_),
      send_counter_(other.send_counter_),
      window_(other.window_) {
  other.retire();
}

SessionCipher& SessionCipher::operator=(SessionCipher&& other) noexcept {
  if (this == &other) return *this;
  local_id_ = other.local_id_;
  remote_id_ = other.remote_id_;
  send_key_ = other.send_key_;
  receive_key_ = other.receive_key_;
  send_counter_ = other.send_counter_;
  window_ = other.window_;
  other.retire();
  return *this;
}

// Local id 0 matches no message (peek refuses it) and the counter limit stops seal().
void SessionCipher::retire() {
  local_id_ = 0;
  remote_id_ = 0;
  send_key_ = SecretKey();
  receive_key_ = SecretKey();
  send_counter_ = kCounterLimit;
  window_ = SessionReplayWindow();
}

core::Bytes SessionCipher::seal(core::ByteView payload) {
  if (payload.size() > kMaxSessionPayload || send_counter_ == kCounterLimit) std::abort();  // see the contract
  const std::uint64_t counter = send_counter_++;
  core::Bytes m = header_of(SessionMessageKind::kData, kDataHeaderSize + payload.size() + crypto::kTagSize);
  core::put_u64(m.data() + kReceiverAt, remote_id_);
  core::put_u64(m.data() + kCounterAt, counter);
  const core::ByteView header = core::ByteView(m).first(kDataHeaderSize);
  crypto::aead_seal(send_key_.bytes(), counter, header, payload, core::MutableByteView(m).subspan(kDataHeaderSize));
  return m;
}

// Cheap checks first: the shape, the id, the window; the tag last, and only a good tag moves
// the window (a forged counter must not push real ones below it).
core::Result<core::Bytes> SessionCipher::open(core::ByteView message) {
  auto header = peek_kind(message, SessionMessageKind::kData, "opening DATA");
  if (!header) return header.error();
  if (header->receiver != local_id_) return error(Errc::kNotForUs, "opening DATA: for another session");
  const std::uint64_t counter = core::get_u64(message.data() + kCounterAt);
  if (!window_.is_fresh(counter)) return error(Errc::kReplay, "opening DATA: counter seen or below the window");
  core::Bytes payload(message.size() - kDataHeaderSize - crypto::kTagSize);
  if (!crypto::aead_open(receive_key_.bytes(), counter, message.first(kDataHeaderSize),
                         message.subspan(kDataHeaderSize), payload)) {
    return error(Errc::kIntegrity, "opening DATA: authentication failed");
  }
  window_.mark(counter);
  return payload;
}

// --- initiator ---

core::Result<InitiatorHandshake> InitiatorHandshake::start(const netdb::Destination& self,
                                                           core::ByteView self_lease_set_wire,
                                                           const netdb::DestinationKeys& remote, SessionId local_id) {
  if (local_id == 0 || self_lease_set_wire.size() > netdb::kMaxLeaseSetSize) std::abort();  // see the contract
  InitiatorHandshake hs;
  hs.local_id_ = local_id;
  hs.remote_ = remote;
  auto ephemeral = crypto::X25519Keypair::generate();
  hs.ephemeral_ = ephemeral.secret;
  hs.ephemeral_public_ = ephemeral.public_key;

  const netdb::DestinationHash remote_hash = remote.hash();
  Transcript t = start_transcript(remote_hash);
  hs.init_ = header_of(SessionMessageKind::kInit, kInitHeaderSize);
  std::memcpy(hs.init_.data() + kInitEphemeralAt, ephemeral.public_key.data(), crypto::kKeySize);
  t.mix_hash(hs.init_);
  const auto es = crypto::x25519(ephemeral.secret, remote.encryption_key);  // es
  if (!es) return error(Errc::kMalformed, "starting a session: the remote's encryption key is low-order");
  const SecretKey k1 = t.mix_key(*es);

  core::Bytes plaintext = init_plaintext(self, self_lease_set_wire, remote_hash, ephemeral.public_key, local_id);
  hs.init_.resize(kInitHeaderSize + plaintext.size() + crypto::kTagSize);
  const auto sealed = core::MutableByteView(hs.init_).subspan(kInitHeaderSize);
  crypto::aead_seal(k1.bytes(), kHandshakeNonce, t.h, plaintext, sealed);
  crypto::secure_wipe(plaintext);  // who we are is for the responder only
  t.mix_hash(sealed);
  hs.chaining_key_ = t.ck;
  hs.hash_ = t.h;
  return hs;
}

InitiatorHandshake::InitiatorHandshake(InitiatorHandshake&& other) noexcept
    : local_id_(other.local_id_),
      remote_(other.remote_),
      init_(std::move(other.init_)),
      ephemeral_(other.ephemeral_),
      ephemeral_public_(other.ephemeral_public_),
      chaining_key_(other.chaining_key_),
      hash_(other.hash_),
      complete_(other.complete_) {
  other.retire();
}

InitiatorHandshake& InitiatorHandshake::operator=(InitiatorHandshake&& other) noexcept {
  if (this == &other) return *this;
  local_id_ = other.local_id_;
  remote_ = other.remote_;
  init_ = std::move(other.init_);
  ephemeral_ = other.ephemeral_;
  ephemeral_public_ = other.ephemeral_public_;
  chaining_key_ = other.chaining_key_;
  hash_ = other.hash_;
  complete_ = other.complete_;
  other.retire();
  return *this;
}

InitiatorHandshake::~InitiatorHandshake() { crypto::secure_wipe(chaining_key_); }

void InitiatorHandshake::retire() {
  ephemeral_ = SecretKey();
  crypto::secure_wipe(chaining_key_);
  complete_ = true;
}

core::Result<SessionCipher> InitiatorHandshake::on_accept(core::ByteView message) {
  if (complete_) return error(Errc::kReplay, "opening ACCEPT: the handshake is already complete");
  auto header = peek_kind(message, SessionMessageKind::kAccept, "opening ACCEPT");
  if (!header) return header.error();
  if (header->receiver != local_id_) return error(Errc::kNotForUs, "opening ACCEPT: for another session");
  // A copy of the state after INIT: a bad ACCEPT must leave the handshake as it was.
  Transcript t(chaining_key_, hash_);
  t.mix_hash(message.first(kAcceptHeaderSize));
  const auto ee = crypto::x25519(ephemeral_, get_key(message.data() + kAcceptEphemeralAt));  // ee
  if (!ee) return error(Errc::kMalformed, "opening ACCEPT: low-order ephemeral key");
  const SecretKey k2 = t.mix_key(*ee);
  std::uint8_t id[8];
  const core::ByteView sealed = message.subspan(kAcceptHeaderSize);
  if (!crypto::aead_open(k2.bytes(), kHandshakeNonce, t.h, sealed, id)) {
    return error(Errc::kIntegrity, "opening ACCEPT: authentication failed");
  }
  const SessionId remote_id = core::get_u64(id);
  if (remote_id == 0) return error(Errc::kMalformed, "opening ACCEPT: session id 0");
  t.mix_hash(sealed);
  const DirectionKeys keys = split(t);
  retire();
  return SessionCipher(local_id_, remote_id, keys.initiator_to_responder.bytes(), keys.responder_to_initiator.bytes());
}

// --- responder ---

core::Result<AcceptedSession> accept_session(const netdb::Destination& self, core::ByteView init,
                                             const netdb::LeaseSetVerifyContext& context, SessionId local_id) {
  if (local_id == 0) std::abort();  // see the contract
  auto header = peek_kind(init, SessionMessageKind::kInit, "opening INIT");
  if (!header) return header.error();
  const Key32 initiator_ephemeral = get_key(init.data() + kInitEphemeralAt);
  Transcript t = start_transcript(self.hash());
  t.mix_hash(init.first(kInitHeaderSize));
  const auto es = crypto::x25519(self.encryption_keypair().secret, initiator_ephemeral);  // es
  if (!es) return error(Errc::kMalformed, "opening INIT: low-order ephemeral key");
  const SecretKey k1 = t.mix_key(*es);
  const core::ByteView sealed = init.subspan(kInitHeaderSize);
  core::Bytes plaintext(sealed.size() - crypto::kTagSize);
  if (!crypto::aead_open(k1.bytes(), kHandshakeNonce, t.h, sealed, plaintext)) {
    return error(Errc::kIntegrity, "opening INIT: authentication failed (not sealed to this destination)");
  }
  t.mix_hash(sealed);
  auto opened = parse_init_plaintext(plaintext);
  crypto::secure_wipe(plaintext);
  if (!opened) return opened.error();

  auto lease_set = netdb::verify_lease_set(opened->lease_set_wire, context);
  if (!lease_set) return lease_set.error().wrap("opening INIT: the initiator's LeaseSet");
  const auto signed_message = init_signed_message(self.hash(), initiator_ephemeral, opened->initiator_id);
  if (!crypto::verify(lease_set->lease_set.destination.signing_key, signed_message, opened->signature)) {
    return error(Errc::kIntegrity, "opening INIT: the initiator's signature does not verify");
  }

  auto accept = seal_accept(t, initiator_ephemeral, opened->initiator_id, local_id);
  if (!accept) return accept.error();
  const DirectionKeys keys = split(t);
  return AcceptedSession{
      .cipher = SessionCipher(local_id, opened->initiator_id, keys.responder_to_initiator.bytes(),
                              keys.initiator_to_responder.bytes()),
      .initiator_lease_set = std::move(*lease_set),
      .accept_message = std::move(*accept),
      .initiator_ephemeral = initiator_ephemeral,
  };
}

}  // namespace hop::tunnels
