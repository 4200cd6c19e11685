#include "hop/netdb/router_info.h"

#include <gtest/gtest.h>

#include "hop/netdb/constants.h"
#include "hop/v1/netdb.pb.h"

namespace hop::netdb {
namespace {

using namespace std::chrono_literals;

const core::WallTime kNow = core::WallTime(std::chrono::seconds(1'800'000'000));

RouterInfo sample(core::WallTime published = kNow) {
  RouterInfo info;
  info.addresses = {{"tcp", "127.3.0.1", 7100}};
  info.bandwidth_kbps = 512;
  info.floodfill = true;
  info.region = "DE";
  info.network_id = 1;
  info.published = published;
  return info;
}

Refusal refusal_of(core::ByteView wire, VerifyContext ctx = {.network_id = 1, .now = kNow}) {
  Refusal r{};
  auto v = verify_router_info(wire, ctx, &r);
  EXPECT_FALSE(v.ok());
  return r;
}

TEST(RouterInfo, SignsAndVerifiesRoundTrip) {
  const auto id = core::Identity::generate();
  const auto signed_info = sign_router_info(id, sample());
  auto v = verify_router_info(signed_info.wire, {.network_id = 1, .now = kNow});
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->info.hash(), id.hash());
  EXPECT_EQ(v->info.addresses, sample().addresses);
  EXPECT_EQ(v->info.bandwidth_kbps, 512u);
  EXPECT_TRUE(v->info.floodfill);
  EXPECT_EQ(v->info.region, "DE");
  EXPECT_EQ(v->info.published, kNow);
  EXPECT_EQ(v->wire, signed_info.wire);
  ASSERT_TRUE(v->info.contact().has_value());
  EXPECT_EQ(v->info.contact()->port, 7100);
  EXPECT_EQ(*v->info.contact()->hash, id.hash());
}

TEST(RouterInfo, RefusesAForgedSignature) {
  const auto id = core::Identity::generate();
  auto wire = sign_router_info(id, sample()).wire;
  wire[wire.size() - 3] ^= 0x01;  // inside the signature
  EXPECT_EQ(refusal_of(wire), Refusal::kBadSignature);
}

TEST(RouterInfo, RefusesATamperedBody) {
  const auto id = core::Identity::generate();
  auto signed_info = sign_router_info(id, sample());
  hop::v1::SignedRouterInfo env;
  ASSERT_TRUE(env.ParseFromArray(signed_info.wire.data(), static_cast<int>(signed_info.wire.size())));
  hop::v1::RouterInfoBody body;
  ASSERT_TRUE(body.ParseFromString(env.body()));
  body.set_bandwidth_kbps(100000);  // claims more bandwidth after signing
  env.set_body(body.SerializeAsString());
  const std::string wire = env.SerializeAsString();
  EXPECT_EQ(refusal_of(core::as_bytes(wire)), Refusal::kBadSignature);
}

TEST(RouterInfo, RefusesAHashThatDoesNotMatchTheKeys) {
  const auto id = core::Identity::generate();
  const auto other = core::Identity::generate();
  auto signed_info = sign_router_info(id, sample());
  hop::v1::SignedRouterInfo env;
  ASSERT_TRUE(env.ParseFromArray(signed_info.wire.data(), static_cast<int>(signed_info.wire.size())));
  hop::v1::RouterInfoBody body;
  ASSERT_TRUE(body.ParseFromString(env.body()));
  body.set_router_hash(std::string(other.hash().bytes.begin(), other.hash().bytes.end()));
  env.set_body(body.SerializeAsString());
  const std::string wire = env.SerializeAsString();
  EXPECT_EQ(refusal_of(core::as_bytes(wire)), Refusal::kHashMismatch);
  // And a genuine record offered under another router's key.
  EXPECT_EQ(refusal_of(signed_info.wire, {.network_id = 1, .now = kNow, .expected_hash = other.hash()}),
            Refusal::kHashMismatch);
}

TEST(RouterInfo, RefusesForeignNetworkFutureAndExpired) {
  const auto id = core::Identity::generate();
  auto foreign = sample();
  foreign.network_id = 2;
  EXPECT_EQ(refusal_of(sign_router_info(id, foreign).wire), Refusal::kForeignNetwork);
  EXPECT_EQ(refusal_of(sign_router_info(id, sample(kNow + kMaxClockSkew + 1s)).wire), Refusal::kFromFuture);
  EXPECT_TRUE(verify_router_info(sign_router_info(id, sample(kNow + kMaxClockSkew)).wire,
                                 {.network_id = 1, .now = kNow}).ok());
  EXPECT_EQ(refusal_of(sign_router_info(id, sample(kNow - kRouterInfoMaxAge - 1s)).wire), Refusal::kExpired);
}

TEST(RouterInfo, WithoutTheAgeCheckAnExpiredRecordStillNeedsItsSignature) {
  const auto id = core::Identity::generate();
  auto wire = sign_router_info(id, sample(kNow - kRouterInfoMaxAge - 1h)).wire;
  auto undated = verify_router_info(wire, {.network_id = 1, .now = kNow, .check_age = false});
  ASSERT_TRUE(undated.ok());
  EXPECT_EQ(undated->info.published, kNow - kRouterInfoMaxAge - 1h);
  wire.back() ^= 1;  // the signature's last byte
  Refusal r{};
  EXPECT_FALSE(verify_router_info(wire, {.network_id = 1, .now = kNow, .check_age = false}, &r).ok());
  EXPECT_EQ(r, Refusal::kBadSignature);
}

TEST(RouterInfo, RefusesOversizedAndGarbage) {
  core::Bytes big(kMaxRouterInfoSize + 1, 0);
  EXPECT_EQ(refusal_of(big), Refusal::kTooLarge);
  core::Bytes garbage = {0xff, 0xff, 0xff, 0x01, 0x02};
  EXPECT_EQ(refusal_of(garbage), Refusal::kMalformed);
  EXPECT_EQ(refusal_of({}), Refusal::kMalformed);
}

TEST(RouterInfo, RefusesBadAddresses) {
  const auto id = core::Identity::generate();
  auto info = sample();
  info.addresses = {{"tcp", "example.org", 7100}};
  EXPECT_EQ(refusal_of(sign_router_info(id, info).wire), Refusal::kMalformed);
  info.addresses.assign(kMaxAddresses + 1, {"tcp", "127.0.0.1", 1});
  EXPECT_EQ(refusal_of(sign_router_info(id, info).wire), Refusal::kMalformed);
}

TEST(RefusalCounters, CountByReason) {
  RefusalCounters c;
  c.count(Refusal::kExpired);
  c.count(Refusal::kExpired);
  c.count(Refusal::kTooLarge);
  EXPECT_EQ(c[Refusal::kExpired], 2u);
  EXPECT_EQ(c[Refusal::kTooLarge], 1u);
  EXPECT_EQ(c[Refusal::kBadSignature], 0u);
}

}  // namespace
}  // namespace hop::netdb
