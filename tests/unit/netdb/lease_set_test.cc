#include "hop/netdb/lease_set.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "hop/netdb/constants.h"
#include "hop/netdb/errors.h"
#include "hop/v1/netdb.pb.h"

namespace hop::netdb {
namespace {

using namespace std::chrono_literals;

const core::WallTime kNow = core::WallTime(std::chrono::seconds(1'800'000'000));

core::RouterHash gateway(std::uint8_t n) {
  core::RouterHash h;
  h.bytes.fill(n);
  return h;
}

std::vector<Lease> leases(core::WallTime published = kNow, std::size_t n = 3) {
  std::vector<Lease> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back({gateway(static_cast<std::uint8_t>(i + 1)), static_cast<std::uint32_t>(1000 + i),
                   published + 10min - std::chrono::seconds(i)});
  }
  return out;
}

std::uint64_t ms(core::WallTime t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

std::string str(core::ByteView b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// The body as docs/netdb.md specifies it, built here without the codec, so that tests can
// produce what the signer refuses to make.
hop::v1::LeaseSetBody body_of(const Destination& d, const std::vector<Lease>& ls, core::WallTime published) {
  hop::v1::LeaseSetBody body;
  body.set_destination_hash(str(d.hash().bytes));
  body.set_signing_key(str(d.public_keys().signing_key));
  body.set_encryption_key(str(d.public_keys().encryption_key));
  std::uint64_t expires = 0;
  for (const auto& l : ls) {
    auto* pl = body.add_leases();
    pl->set_gateway(str(l.gateway.bytes));
    pl->set_tunnel_id(l.tunnel_id);
    pl->set_expires_ms(ms(l.expires));
    expires = std::max(expires, ms(l.expires));
  }
  body.set_published_ms(ms(published));
  body.set_expires_ms(expires);
  body.set_network_id(1);
  return body;
}

// Signs as the spec says: Ed25519 over "hopline-leaseset-v1" || body.
core::Bytes sign_raw(const Destination& signer, const hop::v1::LeaseSetBody& body) {
  const std::string body_bytes = body.SerializeAsString();
  const std::string msg = "hopline-leaseset-v1" + body_bytes;
  const auto sig = signer.sign(core::as_bytes(msg));
  hop::v1::SignedLeaseSet env;
  env.set_body(body_bytes);
  env.set_signature(str(sig));
  const std::string wire = env.SerializeAsString();
  return core::Bytes(wire.begin(), wire.end());
}

LeaseSetRefusal refusal_of(core::ByteView wire, LeaseSetVerifyContext ctx = {.now = kNow}) {
  LeaseSetRefusal r{};
  auto v = verify_lease_set(wire, ctx, &r);
  EXPECT_FALSE(v.ok());
  if (!v.ok()) {
    EXPECT_EQ(v.error().code, make_error_code(Errc::kRefused));
    EXPECT_EQ(v.error().context.substr(0, to_string(r).size()), to_string(r)) << v.error().message();
  }
  return r;
}

bool accepted(core::ByteView wire, LeaseSetVerifyContext ctx = {.now = kNow}) {
  auto v = verify_lease_set(wire, ctx);
  if (!v.ok()) ADD_FAILURE() << v.error().message();
  return v.ok();
}

TEST(LeaseSet, SignsAndVerifiesRoundTrip) {
  const auto d = Destination::generate();
  auto s = sign_lease_set(d, leases(), kNow);
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto v = verify_lease_set(s->wire, {.now = kNow, .expected_hash = d.hash()});
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->lease_set.hash(), d.hash());
  EXPECT_EQ(v->lease_set.destination, d.public_keys());
  EXPECT_EQ(v->lease_set.leases, leases());
  EXPECT_EQ(v->lease_set.published, kNow);
  EXPECT_EQ(v->lease_set.expires, kNow + 10min);
  EXPECT_EQ(v->lease_set.network_id, 1u);
  EXPECT_EQ(v->wire, s->wire);
  EXPECT_EQ(v->lease_set.leases, s->lease_set.leases);
  EXPECT_EQ(v->lease_set.expires, s->lease_set.expires);
}

TEST(LeaseSet, TheSignatureCoversTheLabelAndTheBodyAsSpecified) {
  const auto d = Destination::generate();
  auto s = sign_lease_set(d, leases(), kNow);
  ASSERT_TRUE(s.ok());
  hop::v1::SignedLeaseSet env;
  ASSERT_TRUE(env.ParseFromArray(s->wire.data(), static_cast<int>(s->wire.size())));
  ASSERT_EQ(env.signature().size(), 64u);
  core::crypto::Signature sig;
  std::copy(env.signature().begin(), env.signature().end(), sig.begin());
  const std::string msg = "hopline-leaseset-v1" + env.body();
  EXPECT_TRUE(core::crypto::verify(d.public_keys().signing_key, core::as_bytes(msg), sig));
  EXPECT_FALSE(core::crypto::verify(d.public_keys().signing_key, core::as_bytes(env.body()), sig))
      << "the label is part of the signed message";
  // And our own spec-built encoding is byte for byte what the codec writes.
  EXPECT_EQ(env.body(), body_of(d, leases(), kNow).SerializeAsString());
}

TEST(LeaseSet, TimesAreKeptToTheMillisecondOnBothSides) {
  const auto d = Destination::generate();
  const auto published = kNow + 1234567ns;
  auto ls = leases(published, 1);
  auto s = sign_lease_set(d, ls, published);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->lease_set.published, kNow + 1ms);
  auto v = verify_lease_set(s->wire, {.now = kNow});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->lease_set.published, s->lease_set.published);
  EXPECT_EQ(v->lease_set.leases, s->lease_set.leases);
}

TEST(LeaseSet, RefusesAForgedSignature) {
  const auto d = Destination::generate();
  auto wire = sign_lease_set(d, leases(), kNow)->wire;
  wire[wire.size() - 5] ^= 0x01;  // inside the signature, the envelope's last field
  EXPECT_EQ(refusal_of(wire), LeaseSetRefusal::kBadSignature);
  auto other = sign_lease_set(d, leases(), kNow)->wire;
  other.back() ^= 0x80;
  EXPECT_EQ(refusal_of(other), LeaseSetRefusal::kBadSignature);
}

TEST(LeaseSet, RefusesATamperedBody) {
  const auto d = Destination::generate();
  const auto wire = sign_lease_set(d, leases(), kNow)->wire;
  hop::v1::SignedLeaseSet env;
  ASSERT_TRUE(env.ParseFromArray(wire.data(), static_cast<int>(wire.size())));
  hop::v1::LeaseSetBody body;
  ASSERT_TRUE(body.ParseFromString(env.body()));
  body.mutable_leases(0)->set_gateway(str(gateway(0x66).bytes));  // redirects a lease after signing
  env.set_body(body.SerializeAsString());
  EXPECT_EQ(refusal_of(core::as_bytes(env.SerializeAsString())), LeaseSetRefusal::kBadSignature);
}

TEST(LeaseSet, RefusesOneDestinationSigningForAnother) {
  const auto mallory = Destination::generate();
  const auto victim = Destination::generate();
  // Mallory claims the victim's keys and hash but can only sign with her own key.
  const auto claimed = body_of(victim, leases(), kNow);
  EXPECT_EQ(refusal_of(sign_raw(mallory, claimed)), LeaseSetRefusal::kBadSignature);
  EXPECT_EQ(refusal_of(sign_raw(mallory, claimed), {.now = kNow, .expected_hash = victim.hash()}),
            LeaseSetRefusal::kBadSignature);
  // Her own keys under the victim's hash: the hash is not the keys' hash.
  auto own_keys = body_of(mallory, leases(), kNow);
  own_keys.set_destination_hash(str(victim.hash().bytes));
  EXPECT_EQ(refusal_of(sign_raw(mallory, own_keys)), LeaseSetRefusal::kHashMismatch);
  // Her genuine LeaseSet offered as the answer for the victim.
  const auto genuine = sign_lease_set(mallory, leases(), kNow)->wire;
  EXPECT_EQ(refusal_of(genuine, {.now = kNow, .expected_hash = victim.hash()}), LeaseSetRefusal::kHashMismatch);
  EXPECT_TRUE(accepted(genuine, {.now = kNow, .expected_hash = mallory.hash()}));
  // The victim's encryption key swapped in under mallory's signing key changes the hash.
  auto swapped = body_of(mallory, leases(), kNow);
  swapped.set_encryption_key(str(victim.public_keys().encryption_key));
  EXPECT_EQ(refusal_of(sign_raw(mallory, swapped)), LeaseSetRefusal::kHashMismatch);
}

TEST(LeaseSet, RefusesOversizedAndGarbage) {
  EXPECT_EQ(refusal_of(core::Bytes(kMaxLeaseSetSize + 1, 0)), LeaseSetRefusal::kTooLarge);
  EXPECT_EQ(refusal_of(core::Bytes{0xff, 0xff, 0xff, 0x01, 0x02}), LeaseSetRefusal::kMalformed);
  EXPECT_EQ(refusal_of({}), LeaseSetRefusal::kMalformed);
  // A valid LeaseSet padded past the limit with an unknown field is still too large.
  const auto d = Destination::generate();
  auto body = body_of(d, leases(), kNow);
  auto wire = sign_raw(d, body);
  wire.push_back(0x7a);  // field 15, length-delimited
  wire.push_back(0x80);
  wire.push_back(0x20);  // 4096 bytes
  wire.resize(wire.size() + 4096, 0);
  EXPECT_EQ(refusal_of(wire), LeaseSetRefusal::kTooLarge);
}

TEST(LeaseSet, RefusesWrongSizesTunnelIdZeroAndTimesOutOfRange) {
  const auto d = Destination::generate();
  auto short_key = body_of(d, leases(), kNow);
  short_key.set_signing_key(short_key.signing_key().substr(0, 31));
  EXPECT_EQ(refusal_of(sign_raw(d, short_key)), LeaseSetRefusal::kMalformed);
  auto short_gateway = body_of(d, leases(), kNow);
  short_gateway.mutable_leases(1)->set_gateway("abc");
  EXPECT_EQ(refusal_of(sign_raw(d, short_gateway)), LeaseSetRefusal::kMalformed);
  auto zero_tunnel = body_of(d, leases(), kNow);
  zero_tunnel.mutable_leases(2)->set_tunnel_id(0);
  EXPECT_EQ(refusal_of(sign_raw(d, zero_tunnel)), LeaseSetRefusal::kMalformed);
  auto far_future = body_of(d, leases(), kNow);
  far_future.set_published_ms(~0ULL);
  EXPECT_EQ(refusal_of(sign_raw(d, far_future)), LeaseSetRefusal::kMalformed);
  auto lease_far_future = body_of(d, leases(), kNow);
  lease_far_future.mutable_leases(0)->set_expires_ms(~0ULL);
  EXPECT_EQ(refusal_of(sign_raw(d, lease_far_future)), LeaseSetRefusal::kMalformed);
  auto short_sig = sign_raw(d, body_of(d, leases(), kNow));
  hop::v1::SignedLeaseSet env;
  ASSERT_TRUE(env.ParseFromArray(short_sig.data(), static_cast<int>(short_sig.size())));
  env.set_signature(env.signature().substr(0, 63));
  EXPECT_EQ(refusal_of(core::as_bytes(env.SerializeAsString())), LeaseSetRefusal::kMalformed);

  std::vector<Lease> zero = leases();
  zero[0].tunnel_id = 0;
  auto refused = sign_lease_set(d, zero, kNow);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("malformed"), std::string::npos);
}

TEST(LeaseSet, RefusesZeroAndTooManyLeases) {
  const auto d = Destination::generate();
  EXPECT_EQ(refusal_of(sign_raw(d, body_of(d, {}, kNow))), LeaseSetRefusal::kNoLeases);
  EXPECT_EQ(refusal_of(sign_raw(d, body_of(d, leases(kNow, kMaxLeases + 1), kNow))), LeaseSetRefusal::kTooManyLeases);
  EXPECT_TRUE(accepted(sign_raw(d, body_of(d, leases(kNow, kMaxLeases), kNow))));

  auto none = sign_lease_set(d, {}, kNow);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().context.rfind("no-leases", 0), 0u) << none.error().message();
  auto many = sign_lease_set(d, leases(kNow, kMaxLeases + 1), kNow);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().context.rfind("too-many-leases", 0), 0u) << many.error().message();
}

TEST(LeaseSet, AFullLeaseSetFitsWellUnderTheSizeLimit) {
  const auto d = Destination::generate();
  auto s = sign_lease_set(d, leases(kNow, kMaxLeases), kNow);
  ASSERT_TRUE(s.ok());
  EXPECT_LT(s->wire.size(), 1200u);
  EXPECT_LT(s->wire.size(), kMaxLeaseSetSize / 3);
}

TEST(LeaseSet, RefusesLeaseExpiriesOutsideItsLifetime) {
  const auto d = Destination::generate();
  for (auto expiry : {kNow - 1s, kNow, kNow + kMaxLeaseLifetime + 1ms}) {
    auto ls = leases();
    ls[1].expires = expiry;
    EXPECT_EQ(refusal_of(sign_raw(d, body_of(d, ls, kNow))), LeaseSetRefusal::kBadLeaseExpiry);
    auto refused = sign_lease_set(d, ls, kNow);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().context.rfind("bad-lease-expiry", 0), 0u);
  }
  auto longest = leases();
  longest[0].expires = kNow + kMaxLeaseLifetime;
  auto s = sign_lease_set(d, longest, kNow);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_TRUE(accepted(s->wire));
  auto shortest = leases();
  shortest[2].expires = kNow + 1ms;
  EXPECT_TRUE(accepted(sign_lease_set(d, shortest, kNow)->wire));
}

TEST(LeaseSet, RefusesDuplicateLeases) {
  const auto d = Destination::generate();
  auto ls = leases();
  ls.push_back({ls[0].gateway, ls[0].tunnel_id, ls[0].expires - 1min});  // same tunnel, other expiry
  EXPECT_EQ(refusal_of(sign_raw(d, body_of(d, ls, kNow))), LeaseSetRefusal::kDuplicateLease);
  EXPECT_FALSE(sign_lease_set(d, ls, kNow).ok());
  // The same gateway with another tunnel, or the same tunnel id at another gateway, is fine.
  auto distinct = leases();
  distinct.push_back({distinct[0].gateway, 7, kNow + 5min});
  distinct.push_back({gateway(0x77), distinct[0].tunnel_id, kNow + 5min});
  EXPECT_TRUE(accepted(sign_lease_set(d, distinct, kNow)->wire));
}

TEST(LeaseSet, RefusesAnExpiryThatIsNotTheLatestLease) {
  const auto d = Destination::generate();
  auto early = body_of(d, leases(), kNow);
  early.set_expires_ms(early.expires_ms() - 1);
  EXPECT_EQ(refusal_of(sign_raw(d, early)), LeaseSetRefusal::kExpiryMismatch);
  auto late = body_of(d, leases(), kNow);
  late.set_expires_ms(late.expires_ms() + 60'000);
  EXPECT_EQ(refusal_of(sign_raw(d, late)), LeaseSetRefusal::kExpiryMismatch);
}

TEST(LeaseSet, RefusesAForeignNetwork) {
  const auto d = Destination::generate();
  auto s = sign_lease_set(d, leases(), kNow, /*network_id=*/2);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(refusal_of(s->wire), LeaseSetRefusal::kForeignNetwork);
  EXPECT_TRUE(accepted(s->wire, {.network_id = 2, .now = kNow}));
}

TEST(LeaseSet, RefusesFromTheFutureBeyondTheSkew) {
  const auto d = Destination::generate();
  const auto ahead = kNow + kMaxClockSkew + 1ms;
  EXPECT_EQ(refusal_of(sign_lease_set(d, leases(ahead), ahead)->wire), LeaseSetRefusal::kFromFuture);
  const auto at_skew = kNow + kMaxClockSkew;
  EXPECT_TRUE(accepted(sign_lease_set(d, leases(at_skew), at_skew)->wire));
}

TEST(LeaseSet, RefusesExpiredAndKeepsPartlyExpiredOnes) {
  const auto d = Destination::generate();
  const auto wire = sign_lease_set(d, leases(), kNow)->wire;  // expiries now + 10 min, 1 s and 2 s earlier
  EXPECT_EQ(refusal_of(wire, {.now = kNow + 10min}), LeaseSetRefusal::kExpired);
  EXPECT_EQ(refusal_of(wire, {.now = kNow + 1h}), LeaseSetRefusal::kExpired);
  auto v = verify_lease_set(wire, {.now = kNow + 10min - 500ms});
  ASSERT_TRUE(v.ok()) << v.error().message();
  ASSERT_EQ(v->lease_set.live_leases(kNow + 10min - 500ms).size(), 1u);
  EXPECT_EQ(v->lease_set.live_leases(kNow + 10min - 500ms)[0].tunnel_id, 1000u);
  EXPECT_EQ(v->lease_set.live_leases(kNow).size(), 3u);
}

TEST(LeaseSet, RefusesTooOldForTheContextsMaxAge) {
  const auto d = Destination::generate();
  const auto published = kNow - 6min;
  const auto wire = sign_lease_set(d, leases(published), published)->wire;  // live until now+4min
  EXPECT_TRUE(accepted(wire));
  EXPECT_EQ(refusal_of(wire, {.now = kNow, .max_age = 5min}), LeaseSetRefusal::kTooOld);
  EXPECT_TRUE(accepted(wire, {.now = kNow, .max_age = 6min}));
}

TEST(LeaseSet, SigningRefusesTimesTheWireCannotCarry) {
  const auto d = Destination::generate();
  const auto before_epoch = core::WallTime(-1s);
  EXPECT_FALSE(sign_lease_set(d, leases(before_epoch), before_epoch).ok());
}

// The fuzz seeds were encoded without our codec (protobuf by hand, Ed25519 from Python's
// `cryptography`), so accepting them checks the schema and the signing input independently.
TEST(LeaseSet, AcceptsTheIndependentlyEncodedFuzzSeeds) {
  const std::filesystem::path dir = std::filesystem::path(HOP_SOURCE_DIR) / "tests/fuzz/seeds/lease_set_decoder";
  for (const auto& [name, count] : {std::pair{"one_lease", 1u}, {"three_leases", 3u}, {"sixteen_leases", 16u}}) {
    std::ifstream f(dir / name, std::ios::binary);
    ASSERT_TRUE(f) << name;
    const core::Bytes wire((std::istreambuf_iterator<char>(f)), {});
    auto v = verify_lease_set(wire, {.now = kNow});
    ASSERT_TRUE(v.ok()) << name << ": " << v.error().message();
    EXPECT_EQ(v->lease_set.leases.size(), count) << name;
  }
}

TEST(LeaseSetRefusal, NamesAreDistinctAndCountersCountByReason) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kLeaseSetRefusalCount; ++i) {
    names.insert(to_string(static_cast<LeaseSetRefusal>(i)));
  }
  EXPECT_EQ(names.size(), kLeaseSetRefusalCount);
  EXPECT_FALSE(names.contains("unknown"));
  LeaseSetRefusalCounters c;
  c.count(LeaseSetRefusal::kBadSignature);
  c.count(LeaseSetRefusal::kBadSignature);
  c.count(LeaseSetRefusal::kTooOld);
  EXPECT_EQ(c[LeaseSetRefusal::kBadSignature], 2u);
  EXPECT_EQ(c[LeaseSetRefusal::kTooOld], 1u);
  EXPECT_EQ(c[LeaseSetRefusal::kExpired], 0u);
}

}  // namespace
}  // namespace hop::netdb
