#include "hop/netdb/lease_set.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>

#include "hop/netdb/errors.h"
#include "hop/v1/netdb.pb.h"
#include "record_codec.h"
#include "wall_ms.h"

namespace hop::netdb {
namespace {

constexpr std::string_view kSignatureLabel = "hopline-leaseset-v1";

core::WallTime to_ms_precision(core::WallTime t) { return from_wall_ms(to_wall_ms(t)); }

struct Refused {
  LeaseSetRefusal reason;
  std::string detail;
};

core::Error refuse(const Refused& r, LeaseSetRefusal* out) {
  if (out) *out = r.reason;
  return core::make_error(Errc::kRefused,
                          std::string(to_string(r.reason)) + (r.detail.empty() ? "" : ": " + r.detail));
}

// The checks that need no clock and no signature: what the signer refuses to sign as well.
std::optional<Refused> check_leases(const LeaseSet& set) {
  if (set.leases.empty()) return Refused{LeaseSetRefusal::kNoLeases, ""};
  if (set.leases.size() > kMaxLeases) {
    return Refused{LeaseSetRefusal::kTooManyLeases, std::to_string(set.leases.size()) + " leases"};
  }
  for (const auto& lease : set.leases) {
    if (lease.tunnel_id == 0) return Refused{LeaseSetRefusal::kMalformed, "tunnel id 0"};
    if (lease.expires <= set.published || lease.expires > set.published + kMaxLeaseLifetime) {
      return Refused{LeaseSetRefusal::kBadLeaseExpiry, "a lease expires outside (published, published + 11 min]"};
    }
  }
  for (std::size_t i = 0; i < set.leases.size(); ++i) {
    for (std::size_t j = i + 1; j < set.leases.size(); ++j) {  // at most 120 pairs
      const auto& a = set.leases[i];
      const auto& b = set.leases[j];
      if (a.gateway == b.gateway && a.tunnel_id == b.tunnel_id) {
        return Refused{LeaseSetRefusal::kDuplicateLease, "tunnel " + std::to_string(a.tunnel_id) + " at " +
                                                             a.gateway.short_string() + " twice"};
      }
    }
  }
  const auto latest = std::max_element(set.leases.begin(), set.leases.end(),
                                       [](const Lease& a, const Lease& b) { return a.expires < b.expires; });
  if (set.expires != latest->expires) return Refused{LeaseSetRefusal::kExpiryMismatch, ""};
  return std::nullopt;
}

std::optional<Refused> check_clock(const LeaseSet& set, const LeaseSetVerifyContext& context) {
  if (set.published > context.now + kMaxClockSkew) return Refused{LeaseSetRefusal::kFromFuture, ""};
  if (set.expires <= context.now) return Refused{LeaseSetRefusal::kExpired, ""};
  if (set.published + context.max_age < context.now) return Refused{LeaseSetRefusal::kTooOld, ""};
  return std::nullopt;
}

bool decode_time(std::uint64_t ms, core::WallTime& out) {
  if (ms > static_cast<std::uint64_t>(kMaxWallMs)) return false;
  out = from_wall_ms(static_cast<std::int64_t>(ms));
  return true;
}

struct Decoded {
  LeaseSet set;
  DestinationHash stated;
  core::crypto::Signature signature{};
};

// Parses both messages and copies the fixed-size fields; refuses what cannot be represented.
std::optional<Refused> decode(const hop::v1::LeaseSetBody& body, const hop::v1::SignedLeaseSet& envelope,
                              Decoded& out) {
  if (!copy_exact(body.destination_hash(), out.stated.bytes) ||
      !copy_exact(body.signing_key(), out.set.destination.signing_key) ||
      !copy_exact(body.encryption_key(), out.set.destination.encryption_key) ||
      !copy_exact(envelope.signature(), out.signature)) {
    return Refused{LeaseSetRefusal::kMalformed, "wrong key, hash or signature size"};
  }
  if (!decode_time(body.published_ms(), out.set.published) || !decode_time(body.expires_ms(), out.set.expires)) {
    return Refused{LeaseSetRefusal::kMalformed, "time out of range"};
  }
  // The size limit bounds the count (an empty Lease takes 2 bytes), so decoding all is cheap.
  for (const auto& pl : body.leases()) {
    Lease lease;
    lease.tunnel_id = pl.tunnel_id();
    if (!copy_exact(pl.gateway(), lease.gateway.bytes) || !decode_time(pl.expires_ms(), lease.expires) ||
        lease.tunnel_id == 0) {
      return Refused{LeaseSetRefusal::kMalformed, "bad lease (gateway size, tunnel id 0 or expiry out of range)"};
    }
    out.set.leases.push_back(lease);
  }
  out.set.network_id = body.network_id();
  return std::nullopt;
}

hop::v1::LeaseSetBody encode(const LeaseSet& set) {
  hop::v1::LeaseSetBody body;
  body.set_destination_hash(as_string(set.hash().bytes));
  body.set_signing_key(as_string(set.destination.signing_key));
  body.set_encryption_key(as_string(set.destination.encryption_key));
  for (const auto& lease : set.leases) {
    auto* pl = body.add_leases();
    pl->set_gateway(as_string(lease.gateway.bytes));
    pl->set_tunnel_id(lease.tunnel_id);
    pl->set_expires_ms(static_cast<std::uint64_t>(to_wall_ms(lease.expires)));
  }
  body.set_published_ms(static_cast<std::uint64_t>(to_wall_ms(set.published)));
  body.set_expires_ms(static_cast<std::uint64_t>(to_wall_ms(set.expires)));
  body.set_network_id(set.network_id);
  return body;
}

bool in_wire_range(core::WallTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return is_valid_wall_ms(ms);
}

}  // namespace

std::string_view to_string(LeaseSetRefusal r) {
  switch (r) {
    case LeaseSetRefusal::kTooLarge: return "too-large";
    case LeaseSetRefusal::kMalformed: return "malformed";
    case LeaseSetRefusal::kNoLeases: return "no-leases";
    case LeaseSetRefusal::kTooManyLeases: return "too-many-leases";
    case LeaseSetRefusal::kHashMismatch: return "hash-mismatch";
    case LeaseSetRefusal::kBadSignature: return "bad-signature";
    case LeaseSetRefusal::kForeignNetwork: return "foreign-network";
    case LeaseSetRefusal::kBadLeaseExpiry: return "bad-lease-expiry";
    case LeaseSetRefusal::kDuplicateLease: return "duplicate-lease";
    case LeaseSetRefusal::kExpiryMismatch: return "expiry-mismatch";
    case LeaseSetRefusal::kFromFuture: return "from-future";
    case LeaseSetRefusal::kExpired: return "expired";
    case LeaseSetRefusal::kTooOld: return "too-old";
  }
  return "unknown";
}

std::vector<Lease> LeaseSet::live_leases(core::WallTime now) const {
  std::vector<Lease> live;
  std::copy_if(leases.begin(), leases.end(), std::back_inserter(live),
               [now](const Lease& l) { return l.expires > now; });
  return live;
}

core::Result<SignedLeaseSet> sign_lease_set(const Destination& destination, std::vector<Lease> leases,
                                            core::WallTime published, std::uint32_t network_id) {
  LeaseSet set;
  set.destination = destination.public_keys();
  set.network_id = network_id;
  set.published = to_ms_precision(published);
  if (!in_wire_range(published)) return refuse({LeaseSetRefusal::kMalformed, "published time out of range"}, nullptr);
  for (auto& lease : leases) {
    if (!in_wire_range(lease.expires)) return refuse({LeaseSetRefusal::kMalformed, "lease expiry out of range"}, nullptr);
    lease.expires = to_ms_precision(lease.expires);
  }
  set.leases = std::move(leases);
  for (const auto& lease : set.leases) set.expires = std::max(set.expires, lease.expires);
  if (auto refused = check_leases(set)) return refuse(*refused, nullptr);
  const std::string body = encode(set).SerializeAsString();
  const auto signature = destination.sign(signed_message(kSignatureLabel, core::as_bytes(body)));
  hop::v1::SignedLeaseSet envelope;
  envelope.set_body(body);
  envelope.set_signature(as_string(signature));
  const std::string wire = envelope.SerializeAsString();
  return SignedLeaseSet{std::move(set), core::Bytes(wire.begin(), wire.end())};
}

core::Result<SignedLeaseSet> verify_lease_set(core::ByteView wire, const LeaseSetVerifyContext& context,
                                              LeaseSetRefusal* refusal) {
  if (wire.size() > kMaxLeaseSetSize) {
    return refuse({LeaseSetRefusal::kTooLarge, std::to_string(wire.size()) + " bytes"}, refusal);
  }
  hop::v1::SignedLeaseSet envelope;
  hop::v1::LeaseSetBody body;
  if (!envelope.ParseFromArray(wire.data(), static_cast<int>(wire.size())) || !body.ParseFromString(envelope.body())) {
    return refuse({LeaseSetRefusal::kMalformed, "does not parse"}, refusal);
  }
  Decoded d;
  if (auto refused = decode(body, envelope, d)) return refuse(*refused, refusal);
  if (d.set.leases.empty()) return refuse({LeaseSetRefusal::kNoLeases, ""}, refusal);
  if (d.set.leases.size() > kMaxLeases) {
    return refuse({LeaseSetRefusal::kTooManyLeases, std::to_string(d.set.leases.size()) + " leases"}, refusal);
  }
  if (d.stated != d.set.hash()) {
    return refuse({LeaseSetRefusal::kHashMismatch, "stated hash is not the keys' hash"}, refusal);
  }
  if (context.expected_hash && *context.expected_hash != d.stated) {
    return refuse({LeaseSetRefusal::kHashMismatch, "not the destination asked for"}, refusal);
  }
  // Over the body as received: never re-serialized.
  if (!core::crypto::verify(d.set.destination.signing_key, signed_message(kSignatureLabel, core::as_bytes(envelope.body())), d.signature)) {
    return refuse({LeaseSetRefusal::kBadSignature, d.stated.short_string()}, refusal);
  }
  if (d.set.network_id != context.network_id) {
    return refuse({LeaseSetRefusal::kForeignNetwork, "network " + std::to_string(d.set.network_id)}, refusal);
  }
  if (auto refused = check_leases(d.set)) return refuse(*refused, refusal);
  if (auto refused = check_clock(d.set, context)) return refuse(*refused, refusal);
  return SignedLeaseSet{std::move(d.set), core::Bytes(wire.begin(), wire.end())};
}

}  // namespace hop::netdb
