#include "hop/tunnels/build_record.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string_view>

#include "hop/core/crypto.h"
#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

namespace crypto = core::crypto;
using crypto::Key32;

// docs/tunnels.md, "Build records": k = BLAKE2b-256(label || X25519(e, S) || E || S).
constexpr std::string_view kRecordKeyLabel = "hopline-tunnel-record-v1";
// A record key seals exactly one record, so its nonce can be fixed.
constexpr std::uint64_t kRecordNonce = 0;
// The reply uses the reply key, which also layers the slots; its own nonce, noise_nonce(2^32),
// keeps the AEAD keystream apart from the layer's ChaCha20(reply_key, slot_nonce(s)).
constexpr std::uint64_t kReplyNonce = 1ULL << 32;

constexpr std::size_t kSlotsSize = kBuildSlots * kRecordSize;
constexpr std::size_t kEphemeralOffset = kToPeerSize;
constexpr std::size_t kCiphertextOffset = kToPeerSize + crypto::kKeySize;
constexpr std::size_t kTunnelHeaderSize = 1 + 1 + 4;  // service, kind, tunnel id
static_assert(kCiphertextOffset + kRecordPlaintextSize + crypto::kTagSize == kRecordSize);
static_assert(kReplyPlaintextSize + crypto::kTagSize == kRecordSize);
static_assert(kMaxHops < kBuildSlots);

// Record plaintext offsets (docs/tunnels.md, the record plaintext table).
constexpr std::size_t kVersionAt = 0;
constexpr std::size_t kRoleAt = 1;
constexpr std::size_t kReservedAt = 2;
constexpr std::size_t kReceiveIdAt = 4;
constexpr std::size_t kNextIdAt = 8;
constexpr std::size_t kNextRouterAt = 12;
constexpr std::size_t kLayerKeyAt = 44;
constexpr std::size_t kIvKeyAt = 76;
constexpr std::size_t kReplyKeyAt = 108;
constexpr std::size_t kIntegrityKeyAt = 140;
constexpr std::size_t kExpiryAt = 172;
constexpr std::size_t kReplyRouterAt = 180;
constexpr std::size_t kReplyIdAt = 212;
constexpr std::size_t kZerosAt = 216;
static_assert(kZerosAt + 8 == kRecordPlaintextSize);

// Expiries past 2200-01-01 are refused: beyond any real clock, and well inside what a
// nanosecond system_clock holds (year 2262), so the conversion cannot overflow.
constexpr std::uint64_t kMaxExpiryMs = 7'258'118'400'000;

core::Error malformed(const std::string& what) { return core::make_error(Errc::kMalformed, what); }
core::Error bad_record(const std::string& what) { return core::make_error(Errc::kBadRecord, what); }


void put_key(std::uint8_t* p, const Key32& key) { std::memcpy(p, key.data(), key.size()); }
Key32 get_key(const std::uint8_t* p) {
  Key32 key;
  std::memcpy(key.data(), p, key.size());
  return key;
}

bool is_zero(core::ByteView bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::uint64_t to_unix_ms(core::WallTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
}
core::WallTime from_unix_ms(std::uint64_t ms) {
  const std::chrono::milliseconds since_epoch(static_cast<std::int64_t>(ms));
  return core::WallTime(std::chrono::duration_cast<core::WallTime::duration>(since_epoch));
}

bool is_known_role(std::uint8_t role) {
  return role >= static_cast<std::uint8_t>(HopRole::kInboundGateway) &&
         role <= static_cast<std::uint8_t>(HopRole::kOutboundEndpoint);
}

core::MutableByteView slot_at(core::MutableByteView slots, std::size_t s) {
  return slots.subspan(s * kRecordSize, kRecordSize);
}
core::ByteView slot_at(core::ByteView slots, std::size_t s) { return slots.subspan(s * kRecordSize, kRecordSize); }

// slot_nonce(s) = s (u8) || 11 zero bytes.
crypto::Nonce12 slot_nonce(std::size_t s) {
  crypto::Nonce12 nonce{};
  nonce[0] = static_cast<std::uint8_t>(s);
  return nonce;
}

// One hop's reply-key layer on slot `s`; its own inverse.
void apply_layer(const Key32& reply_key, std::size_t s, core::MutableByteView slot) {
  crypto::chacha20_xor(reply_key, slot_nonce(s), slot, 0);
}

Key32 record_key(const crypto::SecretKey& shared, const Key32& ephemeral, const Key32& static_key) {
  crypto::Blake2b hash(crypto::kKeySize);
  hash.update(core::as_bytes(kRecordKeyLabel)).update(shared.bytes()).update(ephemeral).update(static_key);
  Key32 key;
  hash.finish(key);
  return key;
}

// A uniformly random choice of n distinct slots, in hop order (a partial Fisher-Yates shuffle).
std::vector<std::size_t> pick_slots(std::size_t n) {
  std::array<std::size_t, kBuildSlots> order;
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t i = 0; i < n; ++i) {
    const auto left = static_cast<std::uint32_t>(kBuildSlots - i);
    std::swap(order[i], order[i + crypto::random_uniform(left)]);
  }
  return {order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n)};
}

// to_peer || E || ChaCha20-Poly1305(k, nonce 0, ad = to_peer, plaintext). False (slot untouched)
// when the static key is low-order: no one holds its secret, so the hop stays random filler.
bool seal_record(const HopPlan& hop, core::MutableByteView slot) {
  const auto ephemeral = crypto::X25519Keypair::generate();
  const auto shared = crypto::x25519(ephemeral.secret, hop.static_key);
  if (!shared) return false;
  Key32 key = record_key(*shared, ephemeral.public_key, hop.static_key);
  RecordPlaintext plaintext = encode_record(hop.record);
  std::memcpy(slot.data(), hop.router.bytes.data(), kToPeerSize);
  put_key(slot.data() + kEphemeralOffset, ephemeral.public_key);
  crypto::aead_seal(key, kRecordNonce, slot.first(kToPeerSize), plaintext, slot.subspan(kCiphertextOffset));
  crypto::secure_wipe(key);
  crypto::secure_wipe(plaintext);
  return true;
}

// The first slot whose to_peer is the first 16 bytes of our router hash. memcmp rather than a
// loop so that libFuzzer's comparison hooks can find the match.
std::optional<std::size_t> find_own_slot(core::ByteView slots, const core::RouterHash& self) {
  for (std::size_t s = 0; s < kBuildSlots; ++s) {
    if (std::memcmp(slot_at(slots, s).data(), self.bytes.data(), kToPeerSize) == 0) return s;
  }
  return std::nullopt;
}

// The hop's side of seal_record: X25519(s, E) equals X25519(e, S).
core::Result<BuildRecord> open_record(core::ByteView slot, const crypto::X25519Keypair& ours) {
  const Key32 ephemeral = get_key(slot.data() + kEphemeralOffset);
  const auto shared = crypto::x25519(ours.secret, ephemeral);
  if (!shared) return bad_record("opening build record: low-order ephemeral key");
  Key32 key = record_key(*shared, ephemeral, ours.public_key);
  RecordPlaintext plaintext;
  const bool opened =
      crypto::aead_open(key, kRecordNonce, slot.first(kToPeerSize), slot.subspan(kCiphertextOffset), plaintext);
  crypto::secure_wipe(key);
  if (!opened) return bad_record("opening build record: authentication failed");
  auto record = decode_record(plaintext);
  crypto::secure_wipe(plaintext);
  if (!record) return bad_record("opening build record: " + record.error().context);
  return record;
}

// status (u8) || 255 zero bytes; nullopt for anything else, as a hop can send nothing else.
std::optional<BuildStatus> parse_reply(const std::array<std::uint8_t, kReplyPlaintextSize>& reply) {
  if (reply[0] > static_cast<std::uint8_t>(BuildStatus::kIdInUse)) return std::nullopt;
  if (!is_zero(core::ByteView(reply).subspan(1))) return std::nullopt;
  return static_cast<BuildStatus>(reply[0]);
}

std::optional<BuildStatus> read_reply(core::ByteView slots, const std::vector<HopPlan>& hops,
                                      std::size_t s, std::size_t hop) {
  std::array<std::uint8_t, kRecordSize> sealed;
  std::memcpy(sealed.data(), slot_at(slots, s).data(), kRecordSize);
  // Every later hop layered this slot after hop `hop` sealed its reply into it; XOR commutes.
  for (std::size_t later = hop + 1; later < hops.size(); ++later) apply_layer(hops[later].record.reply_key, s, sealed);
  std::array<std::uint8_t, kReplyPlaintextSize> reply;
  if (!crypto::aead_open(hops[hop].record.reply_key, kReplyNonce, {}, sealed, reply)) return std::nullopt;
  return parse_reply(reply);
}

std::optional<TunnelKind> parse_kind(std::uint8_t kind) {
  switch (static_cast<TunnelKind>(kind)) {
    case TunnelKind::kBuildRequest:
    case TunnelKind::kBuildReply:
    case TunnelKind::kGatewayMessage:
    case TunnelKind::kTunnelTest: return static_cast<TunnelKind>(kind);
  }
  return std::nullopt;
}

// Sizes per kind (docs/tunnels.md, "tunnel message block"); a TunnelTest carries tunnel id 0.
bool is_well_formed(const TunnelBlock& block) {
  switch (block.kind) {
    case TunnelKind::kBuildRequest:
    case TunnelKind::kBuildReply: return block.body.size() == kSlotsSize;
    case TunnelKind::kGatewayMessage: return !block.body.empty() && block.body.size() <= kMaxTunnelMessage;
    case TunnelKind::kTunnelTest: return block.tunnel_id == 0 && block.body.size() == kTunnelTestBodySize;
  }
  return false;
}

}  // namespace

RecordPlaintext encode_record(const BuildRecord& record) {
  RecordPlaintext p{};  // reserved and trailing bytes stay zero
  p[kVersionAt] = kRecordVersion;
  p[kRoleAt] = static_cast<std::uint8_t>(record.role);
  core::put_u32(p.data() + kReceiveIdAt, record.receive_id);
  core::put_u32(p.data() + kNextIdAt, record.next_id);
  put_key(p.data() + kNextRouterAt, record.next_router.bytes);
  put_key(p.data() + kLayerKeyAt, record.layer_key);
  put_key(p.data() + kIvKeyAt, record.iv_key);
  put_key(p.data() + kReplyKeyAt, record.reply_key);
  put_key(p.data() + kIntegrityKeyAt, record.integrity_key);
  core::put_u64(p.data() + kExpiryAt, to_unix_ms(record.expiry));
  put_key(p.data() + kReplyRouterAt, record.reply_router.bytes);
  core::put_u32(p.data() + kReplyIdAt, record.reply_id);
  return p;
}

core::Result<BuildRecord> decode_record(const RecordPlaintext& p) {
  const core::ByteView bytes(p);
  if (p[kVersionAt] != kRecordVersion) return malformed("unknown build record version");
  if (!is_known_role(p[kRoleAt])) return malformed("unknown hop role");
  if (!is_zero(bytes.subspan(kReservedAt, 2)) || !is_zero(bytes.subspan(kZerosAt))) {
    return malformed("non-zero reserved bytes in build record");
  }
  const std::uint64_t expiry_ms = core::get_u64(p.data() + kExpiryAt);
  if (expiry_ms > kMaxExpiryMs) return malformed("build record expiry out of range");
  BuildRecord r;
  r.role = static_cast<HopRole>(p[kRoleAt]);
  r.receive_id = core::get_u32(p.data() + kReceiveIdAt);
  r.next_id = core::get_u32(p.data() + kNextIdAt);
  r.next_router.bytes = get_key(p.data() + kNextRouterAt);
  r.layer_key = get_key(p.data() + kLayerKeyAt);
  r.iv_key = get_key(p.data() + kIvKeyAt);
  r.reply_key = get_key(p.data() + kReplyKeyAt);
  r.integrity_key = get_key(p.data() + kIntegrityKeyAt);
  r.expiry = from_unix_ms(expiry_ms);
  r.reply_router.bytes = get_key(p.data() + kReplyRouterAt);
  r.reply_id = core::get_u32(p.data() + kReplyIdAt);
  return r;
}

PreparedBuild prepare_build(const std::vector<HopPlan>& hops) {
  if (hops.empty() || hops.size() > kMaxHops) std::abort();  // programming error: the builder checks hop counts
  PreparedBuild build{core::Bytes(kSlotsSize), pick_slots(hops.size())};
  // Unused slots stay random, so the message does not tell how many hops the tunnel has.
  crypto::random_bytes(build.slots);
  for (std::size_t i = 0; i < hops.size(); ++i) {
    const std::size_t s = build.slot_of_hop[i];
    const auto slot = slot_at(core::MutableByteView(build.slots), s);
    if (!seal_record(hops[i], slot)) continue;
    // Hops 0..i-1 each XOR this slot with their layer before hop i sees it; applying those
    // layers here in advance cancels them, so hop i finds its record in clear.
    for (std::size_t earlier = 0; earlier < i; ++earlier) apply_layer(hops[earlier].record.reply_key, s, slot);
  }
  return build;
}

std::vector<std::optional<BuildStatus>> read_replies(core::ByteView slots, const std::vector<HopPlan>& hops,
                                                     const std::vector<std::size_t>& slot_of_hop) {
  std::vector<std::optional<BuildStatus>> statuses(hops.size());
  if (slots.size() != kSlotsSize || slot_of_hop.size() != hops.size()) return statuses;
  for (std::size_t i = 0; i < hops.size(); ++i) {
    if (slot_of_hop[i] < kBuildSlots) statuses[i] = read_reply(slots, hops, slot_of_hop[i], i);
  }
  return statuses;
}

core::Result<OpenedRecord> open_build_request(core::ByteView slots, const core::Identity& self) {
  if (slots.size() != kSlotsSize) return malformed("build request of the wrong size");
  // Step 1: our slot is the first whose to_peer names us.
  const auto slot = find_own_slot(slots, self.hash());
  if (!slot) return core::make_error(Errc::kNotForUs, "build request");
  // Step 2 (the cryptographic part; the caller checks ids, expiry and next_router).
  auto record = open_record(slot_at(slots, *slot), self.static_keypair());
  if (!record) return record.error();
  return OpenedRecord{*slot, std::move(*record)};
}

void answer_build_request(core::MutableByteView slots, std::size_t slot, const Key32& reply_key,
                          BuildStatus status) {
  if (slots.size() != kSlotsSize || slot >= kBuildSlots) std::abort();  // programming error: see the contract
  // Step 5: every other slot gets our layer (the owner pre-applied it to later hops' records).
  for (std::size_t s = 0; s < kBuildSlots; ++s) {
    if (s != slot) apply_layer(reply_key, s, slot_at(slots, s));
  }
  // Step 4: our slot becomes AEAD(reply_key, noise_nonce(2^32), ad empty, status || 255 zeros).
  std::array<std::uint8_t, kReplyPlaintextSize> reply{};
  reply[0] = static_cast<std::uint8_t>(status);
  crypto::aead_seal(reply_key, kReplyNonce, {}, reply, slot_at(slots, slot));
}

core::Bytes encode_tunnel_block(TunnelKind kind, TunnelId tunnel_id, core::ByteView body) {
  core::Bytes block(kTunnelHeaderSize);
  block[0] = kTunnelService;
  block[1] = static_cast<std::uint8_t>(kind);
  core::put_u32(block.data() + 2, tunnel_id);
  core::append(block, body);
  return block;
}

core::Result<TunnelBlock> decode_tunnel_block(core::ByteView block) {
  if (block.size() < kTunnelHeaderSize) return malformed("tunnel block shorter than its header");
  if (block[0] != kTunnelService) return malformed("not a tunnel-service block");
  const auto kind = parse_kind(block[1]);
  if (!kind) return malformed("unknown tunnel block kind");
  const TunnelBlock out{*kind, core::get_u32(block.data() + 2), block.subspan(kTunnelHeaderSize)};
  if (!is_well_formed(out)) return malformed("tunnel block of the wrong size");
  return out;
}

}  // namespace hop::tunnels
