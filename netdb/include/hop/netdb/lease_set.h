// LeaseSet: a destination's signed list of its inbound tunnels (gateway router, tunnel id,
// expiry). Plain structs here; the Protobuf codec and the signature live in lease_set.cc.
// Verification refuses with a counted reason. docs/netdb.md, "LeaseSets and destinations".
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/result.h"
#include "hop/core/runtime.h"
#include "hop/netdb/constants.h"
#include "hop/netdb/destination.h"

namespace hop::netdb {

// One inbound tunnel: send to `gateway` on `tunnel_id` until `expires`.
struct Lease {
  core::RouterHash gateway;
  std::uint32_t tunnel_id = 0;  // never 0 on the wire
  core::WallTime expires{};

  bool operator==(const Lease&) const = default;
};

struct LeaseSet {
  DestinationKeys destination;
  std::vector<Lease> leases;  // 1 to kMaxLeases, in the order the owner signed them
  core::WallTime published{};
  core::WallTime expires{};  // the latest lease expiry
  std::uint32_t network_id = 1;

  DestinationHash hash() const { return destination.hash(); }
  // The leases still usable at `now` (expiry after now).
  std::vector<Lease> live_leases(core::WallTime now) const;
};

// Why a LeaseSet was refused; each is counted separately (LeaseSetRefusalCounters). Listed in
// the order verification checks them.
enum class LeaseSetRefusal : std::uint8_t {
  kTooLarge,        // more than kMaxLeaseSetSize bytes
  kMalformed,       // not parsable, wrong key/hash/signature sizes, tunnel id 0, time out of range
  kNoLeases,
  kTooManyLeases,   // more than kMaxLeases
  kHashMismatch,    // the stated hash is not the keys' hash, or not the destination asked for
  kBadSignature,
  kForeignNetwork,
  kBadLeaseExpiry,  // a lease expires at or before published, or more than kMaxLeaseLifetime after
  kDuplicateLease,  // two leases with the same gateway and tunnel id
  kExpiryMismatch,  // the LeaseSet's expiry is not its latest lease's
  kFromFuture,      // published more than kMaxClockSkew ahead of our clock
  kExpired,         // every lease has expired
  kTooOld,          // published longer than max_age ago
};
inline constexpr std::size_t kLeaseSetRefusalCount = 13;
std::string_view to_string(LeaseSetRefusal r);

struct LeaseSetRefusalCounters {
  std::array<std::uint64_t, kLeaseSetRefusalCount> by_reason{};
  void count(LeaseSetRefusal r) { ++by_reason[static_cast<std::size_t>(r)]; }
  std::uint64_t operator[](LeaseSetRefusal r) const { return by_reason[static_cast<std::size_t>(r)]; }
};

// What verification checks a LeaseSet against.
struct LeaseSetVerifyContext {
  std::uint32_t network_id = 1;
  core::WallTime now{};
  std::optional<DestinationHash> expected_hash;  // e.g. the key a store or lookup was for
  std::chrono::milliseconds max_age = kLeaseSetMaxAge;
};

// A verified LeaseSet together with the exact signed bytes (what we store and forward).
struct SignedLeaseSet {
  LeaseSet lease_set;
  core::Bytes wire;
};

// Signs `leases` as `destination`'s LeaseSet, published at `published` (times are kept to the
// millisecond, as on the wire). Refuses (Errc::kRefused; the message starts with the reason) a
// set that every verifier would refuse whatever its clock: no leases, too many, a bad expiry,
// duplicates, tunnel id 0.
core::Result<SignedLeaseSet> sign_lease_set(const Destination& destination, std::vector<Lease> leases,
                                            core::WallTime published, std::uint32_t network_id = 1);
// Decodes and verifies untrusted bytes (at most kMaxLeaseSetSize).
core::Result<SignedLeaseSet> verify_lease_set(core::ByteView wire, const LeaseSetVerifyContext& context,
                                              LeaseSetRefusal* refusal = nullptr);

}  // namespace hop::netdb
