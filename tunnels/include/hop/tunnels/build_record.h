// Tunnel build records and messages (docs/tunnels.md, "Build records"): the owner prepares the
// 8 slots and reads the replies; a hop opens its own record and answers it. Pure and sans-I/O:
// bytes and keys in, bytes and decisions out.
// Thread affinity: none (pure functions).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "hop/core/bytes.h"
#include "hop/core/identity.h"
#include "hop/core/result.h"
#include "hop/core/runtime.h"
#include "hop/tunnels/constants.h"

namespace hop::tunnels {

using TunnelId = std::uint32_t;

// The plaintext of one build record: what a hop is told.
struct BuildRecord {
  HopRole role = HopRole::kParticipant;
  TunnelId receive_id = 0;
  TunnelId next_id = 0;             // 0 for an outbound endpoint
  core::RouterHash next_router{};   // zeros for an outbound endpoint
  core::crypto::Key32 layer_key{};
  core::crypto::Key32 iv_key{};
  core::crypto::Key32 reply_key{};
  core::crypto::Key32 integrity_key{};  // outer end only; zeros otherwise
  core::WallTime expiry{};              // carried in Unix ms (sub-millisecond part dropped)
  core::RouterHash reply_router{};      // outbound endpoint only
  TunnelId reply_id = 0;                // outbound endpoint only; 0 = straight to reply_router
  bool operator==(const BuildRecord&) const = default;
};

using RecordPlaintext = std::array<std::uint8_t, kRecordPlaintextSize>;
RecordPlaintext encode_record(const BuildRecord& record);
// Errc::kMalformed for an unknown version or role, non-zero reserved or trailing bytes, or an
// expiry past the year 2200. Checks nothing else (ids, expiry against now: the caller's job).
core::Result<BuildRecord> decode_record(const RecordPlaintext& plaintext);

// One hop as the owner plans it.
struct HopPlan {
  core::RouterHash router;
  core::crypto::Key32 static_key{};  // the hop's X25519 public key, from its RouterInfo
  BuildRecord record;
};

// The 8 slots, ready to send, and which slot each hop's record is in.
struct PreparedBuild {
  core::Bytes slots;                    // kBuildSlots * kRecordSize
  std::vector<std::size_t> slot_of_hop;  // hops.size() entries, distinct, in [0, kBuildSlots)
};
// Seals each hop's record to its static key in a random slot, pre-applies the earlier hops'
// reply-key layers to it, and fills the unused slots with random bytes. 1 <= hops.size() <= kMaxHops
// (aborts otherwise: a programming error). A hop whose static key is low-order (no one holds its
// secret) keeps random bytes in its slot, so its reply reads as nullopt.
PreparedBuild prepare_build(const std::vector<HopPlan>& hops);

// The owner reads every hop's answer from the slots that came back (as received, all layers on).
// nullopt for a hop whose reply does not open (tampered, or the hop never saw the request) or is not
// a known status followed by zeros; all nullopt if the sizes of slots or slot_of_hop are wrong.
std::vector<std::optional<BuildStatus>> read_replies(core::ByteView slots, const std::vector<HopPlan>& hops,
                                                     const std::vector<std::size_t>& slot_of_hop);

// A hop's own record, found and opened.
struct OpenedRecord {
  std::size_t slot = 0;
  BuildRecord record;
};
// Errors: Errc::kNotForUs when no slot names `self` (the caller checks its own pending builds),
// Errc::kBadRecord when the first slot that names us does not open or decode, Errc::kMalformed
// when `slots` is not kBuildSlots * kRecordSize bytes. The caller still checks step 2's receive_id,
// expiry and next_router.
core::Result<OpenedRecord> open_build_request(core::ByteView slots, const core::Identity& self);
// In place: the hop's slot becomes its sealed reply; every other slot gets its reply-key layer.
// Preconditions (aborts otherwise): slots is kBuildSlots * kRecordSize bytes, slot < kBuildSlots.
void answer_build_request(core::MutableByteView slots, std::size_t slot, const core::crypto::Key32& reply_key,
                          BuildStatus status);

// A tunnel-service message block (service byte, kind, tunnel id, body), as received.
struct TunnelBlock {
  TunnelKind kind = TunnelKind::kBuildRequest;
  TunnelId tunnel_id = 0;
  core::ByteView body;  // BuildRequest/BuildReply: the slots; GatewayMessage: the message;
                        // TunnelTest: the test id (u64)
};
core::Bytes encode_tunnel_block(TunnelKind kind, TunnelId tunnel_id, core::ByteView body);
// Errc::kMalformed for a wrong service byte, an unknown kind, build bodies other than
// kBuildSlots * kRecordSize bytes, gateway messages that are empty or larger than
// kMaxTunnelMessage, and a TunnelTest whose body is not kTunnelTestBodySize bytes or whose
// tunnel id is not 0. `body` points into `block`.
core::Result<TunnelBlock> decode_tunnel_block(core::ByteView block);

}  // namespace hop::tunnels
