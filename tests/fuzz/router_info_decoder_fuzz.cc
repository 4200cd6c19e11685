// RouterInfo verification on untrusted bytes: never crashes, never accepts what it should not.
#include <cstddef>
#include <cstdint>

#include "hop/netdb/router_info.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hop;
  static const core::Identity identity = core::Identity::generate();
  const netdb::VerifyContext ctx{.network_id = 1, .now = core::WallTime(std::chrono::seconds(1'800'000'000))};
  netdb::Refusal refusal{};
  auto verified = netdb::verify_router_info(core::ByteView(data, size), ctx, &refusal);
  if (verified) {
    // Anything accepted must re-verify identically and carry a consistent hash.
    auto again = netdb::verify_router_info(verified->wire, ctx);
    if (!again || again->info.hash() != verified->info.hash()) __builtin_trap();
  }
  (void)identity;
  return 0;
}
