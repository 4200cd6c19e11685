// LeaseSet verification and address parsing on untrusted bytes: never crash, never accept
// anything that breaks the invariants docs/netdb.md promises.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hop/netdb/constants.h"
#include "hop/netdb/lease_set.h"

namespace {

using namespace hop;

void check_invariants(const netdb::SignedLeaseSet& v, const netdb::LeaseSetVerifyContext& ctx) {
  const auto& set = v.lease_set;
  if (set.leases.empty() || set.leases.size() > netdb::kMaxLeases) __builtin_trap();
  if (v.wire.size() > netdb::kMaxLeaseSetSize) __builtin_trap();
  if (set.published > ctx.now + netdb::kMaxClockSkew || set.expires <= ctx.now) __builtin_trap();
  if (set.published + ctx.max_age < ctx.now) __builtin_trap();
  core::WallTime latest{};
  for (std::size_t i = 0; i < set.leases.size(); ++i) {
    const auto& l = set.leases[i];
    if (l.tunnel_id == 0 || l.expires <= set.published || l.expires > set.published + netdb::kMaxLeaseLifetime) {
      __builtin_trap();
    }
    for (std::size_t j = i + 1; j < set.leases.size(); ++j) {
      if (set.leases[j].gateway == l.gateway && set.leases[j].tunnel_id == l.tunnel_id) __builtin_trap();
    }
    latest = std::max(latest, l.expires);
  }
  if (latest != set.expires || set.live_leases(ctx.now).empty()) __builtin_trap();
  // Accepted bytes re-verify to the same record.
  auto again = netdb::verify_lease_set(v.wire, ctx);
  if (!again || again->lease_set.hash() != set.hash() || again->lease_set.leases != set.leases) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const netdb::LeaseSetVerifyContext ctx{.now = core::WallTime(std::chrono::seconds(1'800'000'000))};
  netdb::LeaseSetRefusal refusal{};
  auto verified = netdb::verify_lease_set(core::ByteView(data, size), ctx, &refusal);
  if (verified) check_invariants(*verified, ctx);

  // The same bytes as a printed address: only the canonical form parses, and it round-trips.
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto hash = netdb::parse_address(text); hash && hash->address() != text) __builtin_trap();
  return 0;
}
