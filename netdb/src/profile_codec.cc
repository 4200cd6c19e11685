#include "hop/netdb/profile_codec.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <string>

#include "hop/netdb/constants.h"
#include "hop/netdb/errors.h"
#include "hop/v1/netdb.pb.h"
#include "wall_ms.h"

namespace hop::netdb {
namespace {

using Record = hop::v1::PeerProfileRecord;

constexpr std::uint32_t kRecordVersion = 1;
// An RTT longer than an hour is not a measurement.
constexpr std::uint64_t kMaxRttUs = 3'600'000'000;
constexpr double kMaxBandwidth = 1e12;  // bytes/s
constexpr double kMaxBuildCount = 1e9;

std::uint64_t to_ms(core::WallTime t) { return static_cast<std::uint64_t>(to_wall_ms(t)); }

core::WallTime from_ms(std::uint64_t ms) { return from_wall_ms(static_cast<std::int64_t>(ms)); }

bool valid_ms(std::uint64_t ms) { return ms <= static_cast<std::uint64_t>(kMaxWallMs); }

std::uint64_t to_us(core::Duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us < 0 ? 0 : static_cast<std::uint64_t>(us);
}

core::Duration from_us(std::uint64_t us) {
  return std::chrono::microseconds(static_cast<std::int64_t>(us));
}

bool in_range(double v, double max) { return std::isfinite(v) && v >= 0 && v <= max; }

core::Error refuse(const std::string& why) {
  return core::make_error(Errc::kCorruptStore, "profile record refused: " + why);
}

// Names the first field out of range, or returns nullptr.
const char* out_of_range(const Record& r) {
  if (r.reachability_size() > static_cast<int>(kReachabilityWindow)) return "too many reachability tests";
  for (const auto& s : r.reachability()) {
    if (!valid_ms(s.at_ms())) return "test time out of range";
  }
  if (r.srtt_us() > kMaxRttUs || r.rttvar_us() > kMaxRttUs) return "RTT out of range";
  if (!in_range(r.bandwidth(), kMaxBandwidth)) return "bandwidth out of range";
  if (!in_range(r.builds_accepted(), kMaxBuildCount) || !in_range(r.builds_declined(), kMaxBuildCount) ||
      !in_range(r.builds_timed_out(), kMaxBuildCount)) {
    return "build counts out of range";
  }
  if (!valid_ms(r.builds_updated_ms()) || !valid_ms(r.last_seen_ms()) || !valid_ms(r.last_tested_ms())) {
    return "time out of range";
  }
  return nullptr;
}

PeerProfile to_profile(const Record& r) {
  PeerProfile p;
  for (const auto& s : r.reachability()) p.reachability.push_back({from_ms(s.at_ms()), s.ok()});
  p.consecutive_failures = r.consecutive_failures();
  p.srtt = from_us(r.srtt_us());
  p.rttvar = from_us(r.rttvar_us());
  p.rtt_samples = r.rtt_samples();
  p.bandwidth = r.bandwidth();
  p.bandwidth_samples = r.bandwidth_samples();
  p.builds = {r.builds_accepted(), r.builds_declined(), r.builds_timed_out(), from_ms(r.builds_updated_ms())};
  p.last_seen = from_ms(r.last_seen_ms());
  p.last_tested = from_ms(r.last_tested_ms());
  return p;
}

}  // namespace

core::Bytes encode_profile(const PeerProfile& p) {
  Record r;
  r.set_version(kRecordVersion);
  // Only the newest kReachabilityWindow tests: the decoder refuses more.
  const std::size_t skip = p.reachability.size() - std::min(p.reachability.size(), kReachabilityWindow);
  for (const auto& s : std::span(p.reachability).subspan(skip)) {
    auto* out = r.add_reachability();
    out->set_at_ms(to_ms(s.at));
    out->set_ok(s.ok);
  }
  r.set_consecutive_failures(p.consecutive_failures);
  r.set_srtt_us(to_us(p.srtt));
  r.set_rttvar_us(to_us(p.rttvar));
  r.set_rtt_samples(p.rtt_samples);
  r.set_bandwidth(p.bandwidth);
  r.set_bandwidth_samples(p.bandwidth_samples);
  r.set_builds_accepted(p.builds.accepted);
  r.set_builds_declined(p.builds.declined);
  r.set_builds_timed_out(p.builds.timed_out);
  r.set_builds_updated_ms(to_ms(p.builds.updated));
  r.set_last_seen_ms(to_ms(p.last_seen));
  r.set_last_tested_ms(to_ms(p.last_tested));
  const std::string bytes = r.SerializeAsString();
  return core::Bytes(bytes.begin(), bytes.end());
}

core::Result<PeerProfile> decode_profile(core::ByteView bytes) {
  if (bytes.size() > kMaxProfileRecordSize) return refuse(std::to_string(bytes.size()) + " bytes is too large");
  Record r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return refuse("does not parse");
  if (r.version() != kRecordVersion) return refuse("unknown version " + std::to_string(r.version()));
  if (const char* why = out_of_range(r)) return refuse(why);
  return to_profile(r);
}

}  // namespace hop::netdb
