#include "hop/tunnels/session_crypto.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "hop/core/crypto.h"
#include "hop/core/encoding.h"
#include "hop/netdb/errors.h"
#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

using namespace std::chrono_literals;
namespace crypto = core::crypto;
using core::Bytes;
using core::ByteView;
using crypto::Hash64;
using crypto::Key32;

const core::WallTime kNow = core::WallTime(std::chrono::seconds(1'800'000'000));

Key32 filled(std::uint8_t v) {
  Key32 k;
  k.fill(v);
  return k;
}

// A destination with a signed LeaseSet published at kNow.
struct Party {
  netdb::Destination keys;
  netdb::SignedLeaseSet lease_set;
};

Party make_party(std::uint8_t seed = 0) {
  auto keys = seed == 0 ? netdb::Destination::generate()
                        : netdb::Destination::from_secrets(filled(seed), filled(static_cast<std::uint8_t>(seed + 1)));
  std::vector<netdb::Lease> leases;
  for (std::uint8_t i = 1; i <= 3; ++i) {
    core::RouterHash gw;
    gw.bytes.fill(i);
    leases.push_back({gw, 1000u + i, kNow + 10min});
  }
  auto signed_set = netdb::sign_lease_set(keys, std::move(leases), kNow);
  EXPECT_TRUE(signed_set.ok());
  return {std::move(keys), std::move(*signed_set)};
}

const netdb::LeaseSetVerifyContext kContext{.now = kNow};

InitiatorHandshake start(const Party& from, const Party& to, SessionId id) {
  auto hs = InitiatorHandshake::start(from.keys, from.lease_set.wire, to.keys.public_keys(), id);
  EXPECT_TRUE(hs.ok());
  return std::move(*hs);
}

AcceptedSession accept(const Party& self, ByteView init, SessionId id) {
  auto accepted = accept_session(self.keys, init, kContext, id);
  EXPECT_TRUE(accepted.ok()) << accepted.error().message();
  return std::move(*accepted);
}

// The initiator's and the responder's ciphers of one fresh session.
std::pair<SessionCipher, SessionCipher> establish(const Party& a, const Party& b, SessionId ida, SessionId idb) {
  auto hs = start(a, b, ida);
  auto accepted = accept(b, hs.init_message(), idb);
  auto cipher = hs.on_accept(accepted.accept_message);
  EXPECT_TRUE(cipher.ok());
  return {std::move(*cipher), std::move(accepted.cipher)};
}

template <class T>
void expect_error(const core::Result<T>& r, std::error_code code) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, code) << r.error().message();
}

Bytes payload_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// --- a reference of docs/sessions.md written from the spec with core crypto only ---

struct RefState {
  Hash64 ck{};
  Hash64 h{};
};

Hash64 ref_hash(ByteView a, ByteView b) {
  crypto::Blake2b x;
  x.update(a).update(b);
  Hash64 out;
  x.finish(out);
  return out;
}

Key32 first32(const Hash64& h) {
  Key32 k;
  std::copy_n(h.begin(), k.size(), k.begin());
  return k;
}

Key32 ref_dh(const Key32& secret, const Key32& pub) {
  auto shared = crypto::x25519(crypto::SecretKey(secret), pub);
  EXPECT_TRUE(shared.ok());
  return shared.ok() ? shared->bytes() : Key32{};
}

Key32 ref_public(const Key32& secret) { return crypto::X25519Keypair::from_secret(secret).public_key; }

RefState ref_start(const netdb::DestinationHash& responder) {
  const Hash64 h0 = crypto::blake2b_512(core::as_bytes("hopline-session-v1"));
  return {h0, ref_hash(h0, responder.bytes)};
}

Key32 ref_mix_key(RefState& s, const Key32& dh) {
  const auto out = crypto::noise_hkdf(s.ck, dh, 2);
  s.ck = out.first;
  return first32(out.second);
}

std::pair<Key32, Key32> ref_split(const RefState& s) {
  const auto out = crypto::noise_hkdf(s.ck, s.h, 2);
  return {first32(out.first), first32(out.second)};
}

Bytes u64be(std::uint64_t v) {
  Bytes b(8);
  core::put_u64(b.data(), v);
  return b;
}

Bytes cat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (auto p : parts) core::append(out, p);
  return out;
}

// INIT plaintext: u64be(id) || SIGN("hopline-session-init-v1" || responder hash || e || u64be(id)) || LeaseSet.
Bytes ref_init_plaintext(const netdb::Destination& signer, const netdb::DestinationHash& responder,
                         const Key32& e_public, SessionId id, ByteView lease_set_wire) {
  const Bytes signed_message = cat({core::as_bytes("hopline-session-init-v1"), responder.bytes, e_public, u64be(id)});
  const auto signature = signer.sign(signed_message);
  return cat({u64be(id), signature, lease_set_wire});
}

struct RefMessage {
  Bytes message;
  RefState state;  // after the message
  Key32 key{};     // k1 or k2
};

RefMessage ref_init(const Key32& e_secret, const netdb::DestinationKeys& responder, ByteView plaintext) {
  RefState s = ref_start(responder.hash());
  Bytes msg = cat({Bytes{kSessionService, 1}, ref_public(e_secret)});
  s.h = ref_hash(s.h, msg);
  const Key32 k1 = ref_mix_key(s, ref_dh(e_secret, responder.encryption_key));
  Bytes sealed(plaintext.size() + crypto::kTagSize);
  crypto::aead_seal(k1, 0, s.h, plaintext, sealed);
  s.h = ref_hash(s.h, sealed);
  core::append(msg, sealed);
  return {msg, s, k1};
}

// The responder's reading of an INIT: the plaintext and the state after it.
std::pair<Bytes, RefState> ref_open_init(const netdb::Destination& responder, ByteView init) {
  RefState s = ref_start(responder.hash());
  s.h = ref_hash(s.h, init.first(34));
  Key32 e_a;
  std::copy_n(init.begin() + 2, 32, e_a.begin());
  const Key32 k1 = ref_mix_key(s, ref_dh(responder.encryption_keypair().secret.bytes(), e_a));
  Bytes plaintext(init.size() - 34 - crypto::kTagSize);
  EXPECT_TRUE(crypto::aead_open(k1, 0, s.h, init.subspan(34), plaintext));
  s.h = ref_hash(s.h, init.subspan(34));
  return {plaintext, s};
}

RefMessage ref_accept(RefState s, const Key32& e_b_secret, const Key32& e_a_public, SessionId receiver, SessionId id) {
  Bytes msg = cat({Bytes{kSessionService, 2}, u64be(receiver), ref_public(e_b_secret)});
  s.h = ref_hash(s.h, msg);
  const Key32 k2 = ref_mix_key(s, ref_dh(e_b_secret, e_a_public));
  Bytes sealed(8 + crypto::kTagSize);
  crypto::aead_seal(k2, 0, s.h, u64be(id), sealed);
  s.h = ref_hash(s.h, sealed);
  core::append(msg, sealed);
  return {msg, s, k2};
}

Bytes ref_data(const Key32& key, SessionId receiver, std::uint64_t counter, ByteView payload) {
  Bytes header = cat({Bytes{kSessionService, 3}, u64be(receiver), u64be(counter)});
  Bytes sealed(payload.size() + crypto::kTagSize);
  crypto::aead_seal(key, counter, header, payload, sealed);
  return cat({header, sealed});
}

Bytes ref_open_data(const Key32& key, ByteView message) {
  Bytes payload(message.size() - 18 - crypto::kTagSize);
  EXPECT_TRUE(crypto::aead_open(key, core::get_u64(message.data() + 10), message.first(18), message.subspan(18),
                                payload));
  return payload;
}

// --- tests ---

TEST(SessionCrypto, FullHandshakeCarriesDataBothWays) {
  const Party a = make_party();
  const Party b = make_party();
  auto hs = start(a, b, 11);
  EXPECT_EQ(hs.local_id(), 11u);
  auto accepted = accept(b, hs.init_message(), 22);
  EXPECT_EQ(accepted.initiator_lease_set.lease_set.destination, a.keys.public_keys());
  EXPECT_EQ(accepted.initiator_lease_set.wire, a.lease_set.wire);
  EXPECT_EQ(accepted.cipher.local_id(), 22u);
  EXPECT_EQ(accepted.cipher.remote_id(), 11u);
  auto cipher = hs.on_accept(accepted.accept_message);
  ASSERT_TRUE(cipher.ok()) << cipher.error().message();
  EXPECT_EQ(cipher->local_id(), 11u);
  EXPECT_EQ(cipher->remote_id(), 22u);

  for (int i = 0; i < 3; ++i) {
    const Bytes ab = payload_of("from a " + std::to_string(i));
    auto at_b = accepted.cipher.open(cipher->seal(ab));
    ASSERT_TRUE(at_b.ok()) << at_b.error().message();
    EXPECT_EQ(*at_b, ab);
    const Bytes ba = payload_of("from b " + std::to_string(i));
    auto at_a = cipher->open(accepted.cipher.seal(ba));
    ASSERT_TRUE(at_a.ok()) << at_a.error().message();
    EXPECT_EQ(*at_a, ba);
  }
  EXPECT_EQ(cipher->next_counter(), 3u);
  // An empty payload (keepalive) and the largest one, which makes a whole tunnel message.
  auto empty = cipher->seal({});
  EXPECT_EQ(empty.size(), kDataHeaderSize + crypto::kTagSize);
  EXPECT_TRUE(accepted.cipher.open(empty).ok());
  const Bytes big(kMaxSessionPayload, 0x5a);
  auto full = cipher->seal(big);
  EXPECT_EQ(full.size(), kMaxSessionMessage);
  auto opened = accepted.cipher.open(full);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, big);
}

TEST(SessionCrypto, ThirdPartyCannotOpenInit) {
  const Party a = make_party();
  const Party b = make_party();
  const Party c = make_party();
  auto hs = start(a, b, 1);
  expect_error(accept_session(c.keys, hs.init_message(), kContext, 2), make_error_code(Errc::kIntegrity));
  // A third party cannot answer for B either: its ACCEPT fails at A.
  auto c_hs = start(a, c, 1);
  auto c_accepted = accept(c, c_hs.init_message(), 2);
  expect_error(hs.on_accept(c_accepted.accept_message), make_error_code(Errc::kIntegrity));
}

TEST(SessionCrypto, EveryFlippedByteOfInitIsRefused) {
  const Party a = make_party();
  const Party b = make_party();
  auto hs = start(a, b, 1);
  const Bytes& init = hs.init_message();
  for (std::size_t i = 0; i < init.size(); ++i) {
    Bytes bad = init;
    bad[i] ^= 0x01;
    EXPECT_FALSE(accept_session(b.keys, bad, kContext, 2).ok()) << "byte " << i;
  }
  EXPECT_TRUE(accept_session(b.keys, init, kContext, 2).ok());
}

TEST(SessionCrypto, EveryFlippedByteOfAcceptIsRefusedAndLeavesTheHandshake) {
  const Party a = make_party();
  const Party b = make_party();
  auto hs = start(a, b, 1);
  auto accepted = accept(b, hs.init_message(), 2);
  for (std::size_t i = 0; i < accepted.accept_message.size(); ++i) {
    Bytes bad = accepted.accept_message;
    bad[i] ^= 0x01;
    EXPECT_FALSE(hs.on_accept(bad).ok()) << "byte " << i;
  }
  auto cipher = hs.on_accept(accepted.accept_message);
  ASSERT_TRUE(cipher.ok());
  EXPECT_TRUE(accepted.cipher.open(cipher->seal(payload_of("ok"))).ok());
  // The handshake is complete: a second ACCEPT (from a replayed INIT) is refused.
  auto again = accept(b, hs.init_message(), 3);
  expect_error(hs.on_accept(again.accept_message), make_error_code(Errc::kReplay));
}

TEST(SessionCrypto, EveryFlippedByteOfDataIsRefusedAndLeavesTheWindow) {
  const Party a = make_party();
  const Party b = make_party();
  auto [at_a, at_b] = establish(a, b, 1, 2);
  const Bytes data = at_a.seal(payload_of("the payload"));
  for (std::size_t i = 0; i < data.size(); ++i) {
    Bytes bad = data;
    bad[i] ^= 0x01;
    EXPECT_FALSE(at_b.open(bad).ok()) << "byte " << i;
  }
  auto opened = at_b.open(data);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, payload_of("the payload"));
}

TEST(SessionCrypto, ReplayedDataIsRefused) {
  const Party a = make_party();
  const Party b = make_party();
  auto [at_a, at_b] = establish(a, b, 1, 2);
  const Bytes m0 = at_a.seal(payload_of("zero"));
  const Bytes m1 = at_a.seal(payload_of("one"));
  ASSERT_TRUE(at_b.open(m0).ok());
  expect_error(at_b.open(m0), make_error_code(Errc::kReplay));
  ASSERT_TRUE(at_b.open(m1).ok());
  expect_error(at_b.open(m1), make_error_code(Errc::kReplay));
  expect_error(at_b.open(m0), make_error_code(Errc::kReplay));
}

TEST(SessionCrypto, ReorderedDataWithinTheWindowIsAcceptedBelowItRefused) {
  const Party a = make_party();
  const Party b = make_party();
  auto [at_a, at_b] = establish(a, b, 1, 2);
  std::vector<Bytes> sent;
  for (std::size_t i = 0; i < kSessionReplayWindow + 10; ++i) sent.push_back(at_a.seal(u64be(i)));
  // The newest first (counter 4105), then 4095 older ones in reverse: all inside the window.
  const std::size_t newest = sent.size() - 1;
  for (std::size_t i = newest + 1; i-- > newest + 1 - kSessionReplayWindow;) {
    auto opened = at_b.open(sent[i]);
    ASSERT_TRUE(opened.ok()) << "counter " << i << ": " << opened.error().message();
    EXPECT_EQ(*opened, u64be(i));
  }
  // Counter 9 is 4096 below the newest: below the window, refused although never seen.
  expect_error(at_b.open(sent[newest - kSessionReplayWindow]), make_error_code(Errc::kReplay));
  expect_error(at_b.open(sent[0]), make_error_code(Errc::kReplay));

  // A shuffle of a fresh window's worth arrives in any order.
  auto [c_a, c_b] = establish(a, b, 3, 4);
  std::vector<Bytes> batch;
  for (std::size_t i = 0; i < 2000; ++i) batch.push_back(c_a.seal(u64be(i)));
  std::shuffle(batch.begin(), batch.end(), std::mt19937(7));
  for (const auto& m : batch) EXPECT_TRUE(c_b.open(m).ok());
  for (const auto& m : batch) expect_error(c_b.open(m), make_error_code(Errc::kReplay));
}

TEST(SessionCrypto, ReplayWindowMatchesANaiveReference) {
  std::mt19937_64 rng(42);
  SessionReplayWindow window;
  std::set<std::uint64_t> seen;
  auto reference_fresh = [&](std::uint64_t c) {
    if (c == UINT64_MAX || seen.count(c) != 0) return false;
    return seen.empty() || c > *seen.rbegin() || *seen.rbegin() - c < kSessionReplayWindow;
  };
  std::uint64_t base = 0;
  for (int step = 0; step < 200'000; ++step) {
    // Mostly near the top, sometimes far jumps ahead or far behind.
    const auto r = rng() % 100;
    if (r == 0) base += rng() % 20'000;
    const std::uint64_t spread = r < 5 ? 3 * kSessionReplayWindow : kSessionReplayWindow + 50;
    const std::uint64_t top = base + 100;
    const std::uint64_t back = rng() % spread;
    const std::uint64_t c = top >= back ? top - back : 0;
    const bool fresh = reference_fresh(c);
    ASSERT_EQ(window.is_fresh(c), fresh) << "step " << step << " counter " << c;
    if (fresh) {
      window.mark(c);
      seen.insert(c);
      base = std::max(base, c);
    }
  }
  EXPECT_FALSE(window.is_fresh(UINT64_MAX));
}

TEST(SessionCrypto, WrongSessionIdIsRefused) {
  const Party a = make_party();
  const Party b = make_party();
  auto [at_a, at_b] = establish(a, b, 1, 2);
  auto [other_a, other_b] = establish(a, b, 3, 4);
  // DATA for session 2 offered to session 4, and to the sender itself.
  const Bytes m = at_a.seal(payload_of("x"));
  expect_error(other_b.open(m), make_error_code(Errc::kNotForUs));
  expect_error(at_a.open(m), make_error_code(Errc::kNotForUs));
  // An ACCEPT for handshake 6 offered to handshake 5.
  auto hs5 = start(a, b, 5);
  auto hs6 = start(a, b, 6);
  auto accepted6 = accept(b, hs6.init_message(), 7);
  expect_error(hs5.on_accept(accepted6.accept_message), make_error_code(Errc::kNotForUs));
  // The same session id but another INIT: the tag gives it away.
  auto hs6b = start(a, b, 6);
  expect_error(hs6b.on_accept(accepted6.accept_message), make_error_code(Errc::kIntegrity));
  EXPECT_TRUE(hs6.on_accept(accepted6.accept_message).ok());
}

TEST(SessionCrypto, ForgedLeaseSetInInitIsRefused) {
  const Party a = make_party();
  const Party b = make_party();
  const Party c = make_party();
  // A's LeaseSet with one byte changed: its own signature fails.
  Bytes forged = a.lease_set.wire;
  forged[forged.size() / 2] ^= 0x01;
  auto hs = InitiatorHandshake::start(a.keys, forged, b.keys.public_keys(), 1);
  ASSERT_TRUE(hs.ok());
  expect_error(accept_session(b.keys, hs->init_message(), kContext, 2), make_error_code(netdb::Errc::kRefused));
  // C's genuine LeaseSet in an INIT A signed: A's signature does not verify with C's key.
  auto hs2 = InitiatorHandshake::start(a.keys, c.lease_set.wire, b.keys.public_keys(), 1);
  ASSERT_TRUE(hs2.ok());
  expect_error(accept_session(b.keys, hs2->init_message(), kContext, 2), make_error_code(Errc::kIntegrity));
  // A's LeaseSet, expired by the responder's clock: refused, so an old INIT cannot be replayed.
  auto hs3 = start(a, b, 1);
  const netdb::LeaseSetVerifyContext later{.now = kNow + 11min};
  expect_error(accept_session(b.keys, hs3.init_message(), later, 2), make_error_code(netdb::Errc::kRefused));
  // Not a LeaseSet at all.
  auto hs4 = InitiatorHandshake::start(a.keys, payload_of("junk"), b.keys.public_keys(), 1);
  ASSERT_TRUE(hs4.ok());
  expect_error(accept_session(b.keys, hs4->init_message(), kContext, 2), make_error_code(netdb::Errc::kRefused));
}

TEST(SessionCrypto, ForgedSignatureInInitIsRefused) {
  const Party a = make_party();
  const Party b = make_party();
  const Party c = make_party();
  const Key32 e = filled(0x61);
  const Key32 e_pub = ref_public(e);
  // C signs, claiming to be A (A's LeaseSet is public).
  const auto& to_b = b.keys.public_keys();
  const auto& wire = a.lease_set.wire;
  const auto by_c = ref_init(e, to_b, ref_init_plaintext(c.keys, b.keys.hash(), e_pub, 9, wire));
  expect_error(accept_session(b.keys, by_c.message, kContext, 2), make_error_code(Errc::kIntegrity));
  // A's signature, but over another responder (C): not transferable to B.
  const auto for_c = ref_init(e, to_b, ref_init_plaintext(a.keys, c.keys.hash(), e_pub, 9, wire));
  expect_error(accept_session(b.keys, for_c.message, kContext, 2), make_error_code(Errc::kIntegrity));
  // A's signature over another session id.
  Bytes plaintext = ref_init_plaintext(a.keys, b.keys.hash(), e_pub, 9, wire);
  core::put_u64(plaintext.data(), 10);
  expect_error(accept_session(b.keys, ref_init(e, to_b, plaintext).message, kContext, 2),
               make_error_code(Errc::kIntegrity));
  // Session id 0 is malformed, even correctly signed.
  const auto zero = ref_init(e, to_b, ref_init_plaintext(a.keys, b.keys.hash(), e_pub, 0, wire));
  expect_error(accept_session(b.keys, zero.message, kContext, 2), make_error_code(Errc::kMalformed));
  // And the well-formed one is accepted: the refusals above are the forgeries'.
  const auto good = ref_init(e, to_b, ref_init_plaintext(a.keys, b.keys.hash(), e_pub, 9, wire));
  EXPECT_TRUE(accept_session(b.keys, good.message, kContext, 2).ok());
}

TEST(SessionCrypto, TwoSessionsGetDifferentKeys) {
  const Party a = make_party();
  const Party b = make_party();
  auto [s1_a, s1_b] = establish(a, b, 1, 2);
  auto [s2_a, s2_b] = establish(a, b, 1, 2);  // the same ids on purpose
  const Bytes m1 = s1_a.seal(payload_of("same"));
  const Bytes m2 = s2_a.seal(payload_of("same"));
  EXPECT_NE(m1, m2);
  expect_error(s2_b.open(m1), make_error_code(Errc::kIntegrity));
  expect_error(s1_b.open(m2), make_error_code(Errc::kIntegrity));
  EXPECT_TRUE(s1_b.open(m1).ok());
  EXPECT_TRUE(s2_b.open(m2).ok());
  // Two INITs to the same responder share nothing.
  EXPECT_NE(start(a, b, 1).init_message(), start(a, b, 1).init_message());
}

TEST(SessionCrypto, OversizeAndTruncatedInputIsRefused) {
  const Party a = make_party();
  const Party b = make_party();
  auto hs = start(a, b, 1);
  auto accepted = accept(b, hs.init_message(), 2);
  const Bytes accept_message = accepted.accept_message;
  auto cipher = hs.on_accept(accept_message);
  ASSERT_TRUE(cipher.ok());
  const Bytes data = cipher->seal(payload_of("payload"));

  expect_error(peek_session_message({}), make_error_code(Errc::kMalformed));
  Bytes huge = data;
  huge.resize(kMaxSessionMessage + 1);
  expect_error(peek_session_message(huge), make_error_code(Errc::kTooLarge));
  expect_error(accepted.cipher.open(huge), make_error_code(Errc::kTooLarge));
  Bytes big_init = hs.init_message();
  big_init.resize(kMaxInitMessage + 1);
  expect_error(accept_session(b.keys, big_init, kContext, 3), make_error_code(Errc::kTooLarge));
  Bytes long_accept = accept_message;
  long_accept.push_back(0);
  auto hs2 = start(a, b, 1);
  expect_error(hs2.on_accept(long_accept), make_error_code(Errc::kMalformed));

  for (std::size_t n = 0; n < hs.init_message().size(); ++n) {
    EXPECT_FALSE(accept_session(b.keys, ByteView(hs.init_message()).first(n), kContext, 3).ok()) << n;
  }
  for (std::size_t n = 0; n < accept_message.size(); ++n) {
    expect_error(hs2.on_accept(ByteView(accept_message).first(n)), make_error_code(Errc::kMalformed));
  }
  for (std::size_t n = 0; n < data.size(); ++n) {
    EXPECT_FALSE(accepted.cipher.open(ByteView(data).first(n)).ok()) << n;
  }
  EXPECT_TRUE(accepted.cipher.open(data).ok());
}

TEST(SessionCrypto, PeekRoutesWithoutCrypto) {
  const Party a = make_party();
  const Party b = make_party();
  auto hs = start(a, b, 0x0102030405060708);
  auto init = peek_session_message(hs.init_message());
  ASSERT_TRUE(init.ok());
  EXPECT_EQ(init->kind, SessionMessageKind::kInit);
  EXPECT_EQ(init->receiver, 0u);
  auto accepted = accept(b, hs.init_message(), 0x1112131415161718);
  auto acc = peek_session_message(accepted.accept_message);
  ASSERT_TRUE(acc.ok());
  EXPECT_EQ(acc->kind, SessionMessageKind::kAccept);
  EXPECT_EQ(acc->receiver, 0x0102030405060708u);
  auto data = peek_session_message(accepted.cipher.seal({}));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->kind, SessionMessageKind::kData);
  EXPECT_EQ(data->receiver, 0x0102030405060708u);
  // Unknown kind, wrong service, receiver 0.
  expect_error(peek_session_message(Bytes{kSessionService, 9, 1, 2, 3}), make_error_code(Errc::kMalformed));
  expect_error(peek_session_message(Bytes(40, 3)), make_error_code(Errc::kMalformed));
  Bytes zero_receiver = accepted.cipher.seal({});
  std::fill(zero_receiver.begin() + 2, zero_receiver.begin() + 10, 0);
  expect_error(peek_session_message(zero_receiver), make_error_code(Errc::kMalformed));
}

TEST(SessionCrypto, LowOrderKeysAreRefused) {
  const Party a = make_party();
  const Party b = make_party();
  netdb::DestinationKeys low = b.keys.public_keys();
  low.encryption_key = Key32{};
  expect_error(InitiatorHandshake::start(a.keys, a.lease_set.wire, low, 1), make_error_code(Errc::kMalformed));
  auto hs = start(a, b, 1);
  Bytes init = hs.init_message();
  std::fill(init.begin() + 2, init.begin() + 34, 0);
  expect_error(accept_session(b.keys, init, kContext, 2), make_error_code(Errc::kMalformed));
  auto accepted = accept(b, hs.init_message(), 2);
  Bytes acc = accepted.accept_message;
  std::fill(acc.begin() + 10, acc.begin() + 42, 0);
  expect_error(hs.on_accept(acc), make_error_code(Errc::kMalformed));
}

TEST(SessionCrypto, MovedFromObjectsAreInert) {
  const Party a = make_party();
  const Party b = make_party();
  auto hs = start(a, b, 1);
  auto accepted = accept(b, hs.init_message(), 2);
  InitiatorHandshake moved = std::move(hs);
  // NOLINTNEXTLINE(bugprone-use-after-move): the point of the test
  expect_error(hs.on_accept(accepted.accept_message), make_error_code(Errc::kReplay));
  auto cipher = moved.on_accept(accepted.accept_message);
  ASSERT_TRUE(cipher.ok());
  SessionCipher b_cipher = std::move(accepted.cipher);
  const Bytes m = cipher->seal(payload_of("x"));
  EXPECT_FALSE(accepted.cipher.open(m).ok());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(b_cipher.open(m).ok());
}

// docs/sessions.md, the message tables: byte offsets of each message the code sends.
TEST(SessionCrypto, HeaderLayoutMatchesTheSpec) {
  const Party a = make_party();
  const Party b = make_party();
  auto hs = start(a, b, 0x0102030405060708);
  const Bytes& init = hs.init_message();
  EXPECT_EQ(init[0], 4);
  EXPECT_EQ(init[1], 1);
  EXPECT_EQ(init.size(), 34 + 8 + 64 + a.lease_set.wire.size() + 16);
  auto accepted = accept(b, init, 0x1112131415161718);
  EXPECT_TRUE(std::equal(init.begin() + 2, init.begin() + 34, accepted.initiator_ephemeral.begin()));
  // The responder's reference reading of INIT: id at 0, signature at 8, LeaseSet at 72.
  const auto [plaintext, state] = ref_open_init(b.keys, init);
  EXPECT_EQ(core::get_u64(plaintext.data()), 0x0102030405060708u);
  EXPECT_EQ(Bytes(plaintext.begin() + 72, plaintext.end()), a.lease_set.wire);

  const Bytes& acc = accepted.accept_message;
  ASSERT_EQ(acc.size(), 66u);
  EXPECT_EQ(acc[0], 4);
  EXPECT_EQ(acc[1], 2);
  EXPECT_EQ(core::get_u64(acc.data() + 2), 0x0102030405060708u);

  auto cipher = hs.on_accept(acc);
  ASSERT_TRUE(cipher.ok());
  const Bytes data = cipher->seal(payload_of("hi"));
  cipher->seal({});
  const Bytes second = cipher->seal({});
  ASSERT_EQ(data.size(), 18u + 2 + 16);
  EXPECT_EQ(data[0], 4);
  EXPECT_EQ(data[1], 3);
  EXPECT_EQ(core::get_u64(data.data() + 2), 0x1112131415161718u);
  EXPECT_EQ(core::get_u64(data.data() + 10), 0u);
  EXPECT_EQ(core::get_u64(second.data() + 10), 2u);
}

// The code against the reference above, both ways, with the reference's ephemerals fixed.
TEST(SessionCrypto, InteroperatesWithTheSpecReference) {
  const Party a = make_party(0x10);
  const Party b = make_party(0x20);
  const Key32 e_a = filled(0x61);
  const Key32 e_b = filled(0x62);

  // Reference initiator, real responder.
  const Bytes plaintext_a = ref_init_plaintext(a.keys, b.keys.hash(), ref_public(e_a), 5, a.lease_set.wire);
  const auto init = ref_init(e_a, b.keys.public_keys(), plaintext_a);
  auto accepted = accept(b, init.message, 6);
  RefState s = init.state;
  s.h = ref_hash(s.h, ByteView(accepted.accept_message).first(42));
  Key32 real_e_b;
  std::copy_n(accepted.accept_message.begin() + 10, 32, real_e_b.begin());
  const Key32 k2 = ref_mix_key(s, ref_dh(e_a, real_e_b));
  std::uint8_t id[8];
  ASSERT_TRUE(crypto::aead_open(k2, 0, s.h, ByteView(accepted.accept_message).subspan(42), id));
  EXPECT_EQ(core::get_u64(id), 6u);
  s.h = ref_hash(s.h, ByteView(accepted.accept_message).subspan(42));
  const auto [k_ab, k_ba] = ref_split(s);
  auto from_ref = accepted.cipher.open(ref_data(k_ab, 6, 0, payload_of("ref to real")));
  ASSERT_TRUE(from_ref.ok()) << from_ref.error().message();
  EXPECT_EQ(*from_ref, payload_of("ref to real"));
  EXPECT_EQ(ref_open_data(k_ba, accepted.cipher.seal(payload_of("real to ref"))), payload_of("real to ref"));

  // Real initiator, reference responder.
  auto hs = start(a, b, 7);
  const auto [plaintext, after_init] = ref_open_init(b.keys, hs.init_message());
  EXPECT_EQ(core::get_u64(plaintext.data()), 7u);
  Key32 real_e_a;
  std::copy_n(hs.init_message().begin() + 2, 32, real_e_a.begin());
  const auto acc = ref_accept(after_init, e_b, real_e_a, 7, 8);
  auto cipher = hs.on_accept(acc.message);
  ASSERT_TRUE(cipher.ok()) << cipher.error().message();
  EXPECT_EQ(cipher->remote_id(), 8u);
  const auto [r_ab, r_ba] = ref_split(acc.state);
  EXPECT_EQ(ref_open_data(r_ab, cipher->seal(payload_of("a to b"))), payload_of("a to b"));
  auto at_a = cipher->open(ref_data(r_ba, 7, 0, payload_of("b to a")));
  ASSERT_TRUE(at_a.ok());
  EXPECT_EQ(*at_a, payload_of("b to a"));
}

// The known-answer values of docs/sessions.md, "Test vector" (computed independently with Python's
// cryptography package): the reference reproduces them.
TEST(SessionCrypto, KnownAnswerVectorOfTheSpec) {
  const auto b = netdb::Destination::from_secrets(filled(0x20), filled(0x21));
  const Key32 e_a = filled(0x61);
  const Key32 e_b = filled(0x62);
  RefState s = ref_start(b.hash());
  const Key32 k1 = ref_mix_key(s, ref_dh(e_a, b.public_keys().encryption_key));
  const Key32 k2 = ref_mix_key(s, ref_dh(e_b, ref_public(e_a)));
  EXPECT_EQ(core::to_hex(b.public_keys().encryption_key),
            "7d34a4815fa6b982535e60af3bd9b49556816080f1641ff81d2b7c8ae8268a44");
  EXPECT_EQ(core::to_hex(b.hash().bytes), "594aceb0dc4dfbf83bd2d4754f636c2266f7d604f249018cd6426309f7b403d8");
  EXPECT_EQ(core::to_hex(ref_public(e_a)), "4049502db92ca2342c3f92dac5d6de7c85db5df5407a5b4996ce39f2efb7e827");
  EXPECT_EQ(core::to_hex(ref_public(e_b)), "4a4f8ccde198d66e99b4c014418a3223ce256c98900ae4a6811fd10f7eb84c2c");
  EXPECT_EQ(core::to_hex(k1), "7c55874e1a334acdcd0c04d967950ae38178c05c6122e8713c83fb50e26b6a49");
  EXPECT_EQ(core::to_hex(k2), "5ffb2759e1c71cf9cafaecfb6ca667a2ec2257b0e32f586919a05bf03a513536");
  // A whole transcript with a stand-in INIT plaintext (not a real LeaseSet or signature).
  Bytes plaintext = cat({u64be(5), Bytes(64, 0), core::as_bytes("not-a-leaseset")});
  const auto init = ref_init(e_a, b.public_keys(), plaintext);
  EXPECT_EQ(core::to_hex(init.message),
            "04014049502db92ca2342c3f92dac5d6de7c85db5df5407a5b4996ce39f2efb7e8273af086d21f7dd6c01fa5079a60cab3"
            "cbc43c0842b691b0a5af75ec4f6238ab4c9da2ea7d45e432c06439039b28796eacc07fd71fbee8bc9320381c521ba858d2"
            "c39ba45113f6ec38520c793c7249fd2faba72914510a6e94fbcceb2f4a72a53c63cd04e5f1eb");
  const auto acc = ref_accept(init.state, e_b, ref_public(e_a), 5, 6);
  EXPECT_EQ(core::to_hex(acc.message),
            "040200000000000000054a4f8ccde198d66e99b4c014418a3223ce256c98900ae4a6811fd10f7eb84c2c76d5c83d7adcf2"
            "1e05060b61394ca979c604385ee0c09e33");
  const auto [k_ab, k_ba] = ref_split(acc.state);
  EXPECT_EQ(core::to_hex(k_ab), "6a70b6124de09be5a170be23f5b965561c8ab4db11a55dd196d44331586c778f");
  EXPECT_EQ(core::to_hex(k_ba), "6875d680c58013867fe3d352775c930a2e974381e13bc237e26baa94467708ea");
  // DATA with key 00 01 .. 1f, receiver 0x0102030405060708, counter 5, payload "hello".
  Key32 key;
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(core::to_hex(ref_data(key, 0x0102030405060708, 5, payload_of("hello"))),
            "0403010203040506070800000000000000054b6dfa662a47f12024a358bfe32883070b8b102c93");
}

}  // namespace
}  // namespace hop::tunnels
