#include "hop/netdb/profile_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hop/netdb/constants.h"
#include "hop/netdb/errors.h"
#include "hop/v1/netdb.pb.h"

namespace hop::netdb {
namespace {

using namespace std::chrono_literals;

const core::WallTime kNow = core::WallTime(std::chrono::seconds(1'800'000'000));

core::Bytes bytes_of(const hop::v1::PeerProfileRecord& r) {
  const std::string s = r.SerializeAsString();
  return {s.begin(), s.end()};
}

hop::v1::PeerProfileRecord valid_record() {
  hop::v1::PeerProfileRecord r;
  r.set_version(1);
  r.set_srtt_us(50'000);
  r.set_last_seen_ms(1'800'000'000'000);
  return r;
}

TEST(ProfileCodec, RoundTripsAtRecordPrecision) {
  PeerProfile p;
  for (int i = 0; i < 20; ++i) p.record_reachability(i % 4 != 0, 40ms + i * 1ms, kNow + i * 1min);
  p.record_bandwidth(123'456, 1s, kNow);
  p.record_build(BuildOutcome::kDeclined, kNow + 1h);
  auto decoded = decode_profile(encode_profile(p));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(decoded->reachability, p.reachability);
  EXPECT_EQ(decoded->consecutive_failures, p.consecutive_failures);
  EXPECT_EQ(decoded->srtt, std::chrono::floor<std::chrono::microseconds>(p.srtt));
  EXPECT_EQ(decoded->rttvar, std::chrono::floor<std::chrono::microseconds>(p.rttvar));
  EXPECT_EQ(decoded->bandwidth, p.bandwidth);
  EXPECT_EQ(decoded->builds, p.builds);
  EXPECT_EQ(decoded->last_seen, p.last_seen);
  EXPECT_EQ(decoded->last_tested, p.last_tested);
  EXPECT_EQ(encode_profile(*decoded), encode_profile(decode_profile(encode_profile(*decoded)).value()));
}

TEST(ProfileCodec, KeepsOnlyTheNewestWindowOfAnOverfullProfile) {
  PeerProfile p;
  for (int i = 0; i < 20; ++i) p.reachability.push_back({kNow + i * 1s, true});
  auto decoded = decode_profile(encode_profile(p));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  ASSERT_EQ(decoded->reachability.size(), kReachabilityWindow);
  EXPECT_EQ(decoded->reachability.front().at, kNow + 4s);
}

TEST(ProfileCodec, RefusesGarbageOversizeAndOtherVersions) {
  EXPECT_FALSE(decode_profile(core::Bytes{0xff, 0xff, 0xff, 0xff, 0x01}).ok());
  EXPECT_FALSE(decode_profile({}).ok()) << "version 0";
  EXPECT_FALSE(decode_profile(core::Bytes(kMaxProfileRecordSize + 1, 0)).ok());
  auto r = valid_record();
  EXPECT_TRUE(decode_profile(bytes_of(r)).ok());
  r.set_version(2);
  auto refused = decode_profile(bytes_of(r));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, make_error_code(Errc::kCorruptStore));
  EXPECT_NE(refused.error().message().find("version 2"), std::string::npos);
}

TEST(ProfileCodec, RefusesValuesOutOfRange) {
  const std::vector<std::function<void(hop::v1::PeerProfileRecord&)>> breakers = {
      [](auto& r) { for (int i = 0; i <= static_cast<int>(kReachabilityWindow); ++i) r.add_reachability(); },
      [](auto& r) { r.add_reachability()->set_at_ms(~std::uint64_t{0}); },
      [](auto& r) { r.set_srtt_us(~std::uint64_t{0}); },
      [](auto& r) { r.set_rttvar_us(std::uint64_t{1} << 40); },
      [](auto& r) { r.set_bandwidth(std::nan("")); },
      [](auto& r) { r.set_bandwidth(-1); },
      [](auto& r) { r.set_bandwidth(INFINITY); },
      [](auto& r) { r.set_builds_accepted(-0.5); },
      [](auto& r) { r.set_builds_declined(std::nan("")); },
      [](auto& r) { r.set_builds_timed_out(1e300); },
      [](auto& r) { r.set_builds_updated_ms(std::uint64_t{1} << 62); },
      [](auto& r) { r.set_last_seen_ms(~std::uint64_t{0}); },
      [](auto& r) { r.set_last_tested_ms(std::uint64_t{1} << 63); },
  };
  for (std::size_t i = 0; i < breakers.size(); ++i) {
    auto r = valid_record();
    breakers[i](r);
    EXPECT_FALSE(decode_profile(bytes_of(r)).ok()) << "breaker " << i;
  }
}

TEST(ProfileCodec, RandomBytesNeverYieldAnOutOfRangeProfile) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 5000; ++round) {
    core::Bytes b(rng() % 64);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (!b.empty()) b[0] = 0x08;  // field 1 (version), varint: make some of them parse
    if (b.size() > 1) b[1] = 0x01;
    auto p = decode_profile(b);
    if (!p) continue;
    EXPECT_LE(p->reachability.size(), kReachabilityWindow);
    const double s = score(*p, kNow);
    EXPECT_TRUE(s >= 0 && s <= 1) << s;
  }
}

}  // namespace
}  // namespace hop::netdb
