// RouterInfo: a node's signed self-description. Plain struct here; the Protobuf codec and the
// signature live in router_info.cc. Verification refuses with a counted reason.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hop/core/identity.h"
#include "hop/core/result.h"
#include "hop/core/runtime.h"
#include "hop/transport/link_layer.h"

namespace hop::netdb {

struct RouterAddress {
  std::string transport = "tcp";
  std::string host;
  std::uint16_t port = 0;
  auto operator<=>(const RouterAddress&) const = default;
};

struct RouterInfo {
  core::PublicIdentity identity;
  std::vector<RouterAddress> addresses;
  std::uint32_t bandwidth_kbps = 0;
  bool floodfill = false;
  std::string region;
  std::uint32_t network_id = 1;
  core::WallTime published{};

  core::RouterHash hash() const { return identity.hash(); }
  // The first TCP address as a link-layer contact (with the router hash to check), if any.
  std::optional<transport::PeerContact> contact() const;
};

// Why a record was refused; each is counted separately (RefusalCounters).
enum class Refusal : std::uint8_t {
  kTooLarge,
  kMalformed,       // not parsable, wrong key sizes, too many addresses, bad host
  kHashMismatch,    // the stated router hash is not the hash of the keys, or not the key asked for
  kBadIdentity,     // the identity certificate does not bind the static key to the signing key
  kBadSignature,
  kForeignNetwork,
  kFromFuture,      // published more than kMaxClockSkew ahead of our clock
  kExpired,         // published more than kRouterInfoMaxAge ago
};
inline constexpr std::size_t kRefusalCount = 8;
std::string_view to_string(Refusal r);

struct RefusalCounters {
  std::array<std::uint64_t, kRefusalCount> by_reason{};
  void count(Refusal r) { ++by_reason[static_cast<std::size_t>(r)]; }
  std::uint64_t operator[](Refusal r) const { return by_reason[static_cast<std::size_t>(r)]; }
};

// What verification checks a record against.
struct VerifyContext {
  std::uint32_t network_id = 1;
  core::WallTime now{};
  std::optional<core::RouterHash> expected_hash;  // e.g. the key a store was addressed to
  // false: any published time passes (to show an operator a stored record that expired); every
  // other check still runs. Never false for a record that is to be used.
  bool check_age = true;
};

// A verified record together with the exact signed bytes (what we store and forward).
struct SignedRouterInfo {
  RouterInfo info;
  core::Bytes wire;
};

// Builds and signs our own RouterInfo.
SignedRouterInfo sign_router_info(const core::Identity& identity, RouterInfo info);
// Decodes and verifies untrusted bytes (at most kMaxRouterInfoSize).
core::Result<SignedRouterInfo> verify_router_info(core::ByteView wire, const VerifyContext& context,
                                                  Refusal* refusal = nullptr);

}  // namespace hop::netdb
