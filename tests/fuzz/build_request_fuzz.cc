// Tunnel blocks and build requests on untrusted bytes: decoding never crashes, what it accepts
// re-encodes to the same bytes, and a hop opening and answering a build request never crashes.
// The seed corpus holds a BuildRequest with a valid record for the fixed identity below.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "hop/tunnels/build_record.h"

namespace {

// Fixed, so that a seed can carry a record this hop opens (any change breaks the seeds).
const hop::core::Identity& fuzz_identity() {
  static const hop::core::Identity identity = [] {
    hop::core::crypto::Key32 signing_seed;
    hop::core::crypto::Key32 static_secret;
    signing_seed.fill(0x11);
    static_secret.fill(0x22);
    return hop::core::Identity::from_secrets(signing_seed, static_secret);
  }();
  return identity;
}

bool is_build(hop::tunnels::TunnelKind kind) {
  return kind == hop::tunnels::TunnelKind::kBuildRequest || kind == hop::tunnels::TunnelKind::kBuildReply;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hop;
  const core::ByteView input(data, size);
  auto block = tunnels::decode_tunnel_block(input);
  if (!block) return 0;
  const auto again = tunnels::encode_tunnel_block(block->kind, block->tunnel_id, block->body);
  if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) __builtin_trap();
  if (!is_build(block->kind)) return 0;
  auto opened = tunnels::open_build_request(block->body, fuzz_identity());
  if (!opened) return 0;
  if (opened->slot >= tunnels::kBuildSlots) __builtin_trap();
  core::Bytes slots(block->body.begin(), block->body.end());
  tunnels::answer_build_request(slots, opened->slot, opened->record.reply_key, tunnels::BuildStatus::kAccepted);
  return 0;
}
