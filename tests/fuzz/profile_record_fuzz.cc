// Profile records read back from the store: decoding never crashes, and whatever it accepts is
// in range (a score in [0, 1]) and survives encode -> decode unchanged.
#include <cstddef>
#include <cstdint>

#include "hop/netdb/profile.h"
#include "hop/netdb/profile_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hop;
  auto profile = netdb::decode_profile(core::ByteView(data, size));
  if (!profile) return 0;
  const core::WallTime now = core::WallTime(std::chrono::seconds(1'800'000'000));
  const double s = netdb::score(*profile, now);
  if (!(s >= 0.0 && s <= 1.0)) __builtin_trap();
  const core::Bytes encoded = netdb::encode_profile(*profile);
  auto again = netdb::decode_profile(encoded);
  if (!again || !(*again == *profile)) __builtin_trap();
  return 0;
}
