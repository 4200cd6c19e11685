#include "hop/tunnels/build_record.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <set>
#include <string_view>

#include "hop/core/crypto.h"
#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

namespace crypto = core::crypto;
using core::Bytes;
using core::ByteView;
using core::Identity;
using crypto::Key32;

constexpr std::size_t kSlotsSize = kBuildSlots * kRecordSize;
constexpr std::uint64_t kReplyNonce = 1ULL << 32;
const core::WallTime kExpiry{std::chrono::milliseconds(1'700'000'600'123)};

Key32 random_key() {
  Key32 k;
  crypto::random_bytes(k);
  return k;
}

TunnelId random_id() { return 1 + crypto::random_uniform(0xFFFFFFFEu); }

std::vector<Identity> make_identities(std::size_t n) {
  std::vector<Identity> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back(Identity::generate());
  return ids;
}

// An outbound tunnel owner -> ids[0] -> ... -> ids[n-1] (the endpoint, replying to reply_router).
std::vector<HopPlan> outbound_plan(const std::vector<Identity>& ids) {
  std::vector<HopPlan> plan(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    plan[i].router = ids[i].hash();
    plan[i].static_key = ids[i].static_keypair().public_key;
    auto& r = plan[i].record;
    r = {HopRole::kParticipant, random_id(), 0, {}, random_key(), random_key(), random_key(), {}, kExpiry, {}, 0};
    if (i > 0) plan[i - 1].record.next_id = r.receive_id;
    if (i > 0) plan[i - 1].record.next_router = ids[i].hash();
  }
  auto& endpoint = plan.back().record;
  endpoint.role = HopRole::kOutboundEndpoint;
  endpoint.integrity_key = random_key();
  endpoint.reply_router.bytes = random_key();
  endpoint.reply_id = random_id();
  return plan;
}

// An inbound tunnel ids[0] (gateway) -> ... -> ids[n-1] -> owner.
std::vector<HopPlan> inbound_plan(const std::vector<Identity>& ids, const core::RouterHash& owner) {
  auto plan = outbound_plan(ids);
  plan.front().record.role = HopRole::kInboundGateway;
  plan.front().record.integrity_key = plan.back().record.integrity_key;
  auto& last = plan.back().record;
  if (plan.size() > 1) {
    last.role = HopRole::kParticipant;
    last.integrity_key = {};
  }
  last.next_id = random_id();
  last.next_router = owner;
  last.reply_router = {};
  last.reply_id = 0;
  return plan;
}

// Every hop in traffic order opens its record (checking it is exactly what the owner planned) and
// answers with its status, as docs/tunnels.md "Hop processing" says.
void walk(Bytes& slots, const std::vector<Identity>& ids, const std::vector<HopPlan>& plan,
          const std::vector<BuildStatus>& statuses) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto opened = open_build_request(slots, ids[i]);
    ASSERT_TRUE(opened.ok()) << "hop " << i << ": " << opened.error().message();
    EXPECT_EQ(opened->record, plan[i].record) << "hop " << i;
    answer_build_request(slots, opened->slot, opened->record.reply_key, statuses[i]);
  }
}

std::vector<std::optional<BuildStatus>> as_optionals(const std::vector<BuildStatus>& statuses) {
  return {statuses.begin(), statuses.end()};
}

core::MutableByteView slot_of(Bytes& slots, std::size_t s) {
  return core::MutableByteView(slots).subspan(s * kRecordSize, kRecordSize);
}

bool is_error(const core::Error& e, Errc code) { return e.code == make_error_code(code); }

// --- The walk through a whole build ---

TEST(BuildRequest, ThreeHopOutboundEveryHopAccepts) {
  const auto ids = make_identities(3);
  const auto plan = outbound_plan(ids);
  auto build = prepare_build(plan);
  ASSERT_EQ(build.slots.size(), kSlotsSize);
  ASSERT_EQ(build.slot_of_hop.size(), 3u);
  const std::vector<BuildStatus> statuses(3, BuildStatus::kAccepted);
  walk(build.slots, ids, plan, statuses);
  EXPECT_EQ(read_replies(build.slots, plan, build.slot_of_hop), as_optionals(statuses));
}

TEST(BuildRequest, ThreeHopInboundCarriesGatewayAndOwner) {
  const auto owner = Identity::generate();
  const auto ids = make_identities(3);
  const auto plan = inbound_plan(ids, owner.hash());
  auto build = prepare_build(plan);
  const std::vector<BuildStatus> statuses = {BuildStatus::kAccepted, BuildStatus::kBandwidth,
                                             BuildStatus::kAccepted};
  walk(build.slots, ids, plan, statuses);
  // The owner is not a hop: the request that comes back has no record for it.
  auto at_owner = open_build_request(build.slots, owner);
  ASSERT_FALSE(at_owner.ok());
  EXPECT_TRUE(is_error(at_owner.error(), Errc::kNotForUs));
  EXPECT_EQ(read_replies(build.slots, plan, build.slot_of_hop), as_optionals(statuses));
}

TEST(BuildRequest, SevenHopsWithRefusalsInTheMiddle) {
  const auto ids = make_identities(kMaxHops);
  const auto plan = outbound_plan(ids);
  auto build = prepare_build(plan);
  const std::vector<BuildStatus> statuses = {
      BuildStatus::kAccepted,    BuildStatus::kTransitLimit, BuildStatus::kAccepted, BuildStatus::kRateLimited,
      BuildStatus::kBadRequest, BuildStatus::kIdInUse,      BuildStatus::kAccepted};
  walk(build.slots, ids, plan, statuses);
  EXPECT_EQ(read_replies(build.slots, plan, build.slot_of_hop), as_optionals(statuses));
}

TEST(BuildRequest, OneHopBuild) {
  const auto ids = make_identities(1);
  const auto plan = outbound_plan(ids);
  auto build = prepare_build(plan);
  walk(build.slots, ids, plan, {BuildStatus::kTransitLimit});
  EXPECT_EQ(read_replies(build.slots, plan, build.slot_of_hop),
            (std::vector<std::optional<BuildStatus>>{BuildStatus::kTransitLimit}));
}

TEST(BuildRequest, RepliesOfHopsThatNeverSawTheRequestAreNullopt) {
  const auto ids = make_identities(3);
  const auto plan = outbound_plan(ids);
  auto build = prepare_build(plan);
  // Only the first hop processes it; the second loses it.
  auto first = open_build_request(build.slots, ids[0]);
  ASSERT_TRUE(first.ok());
  answer_build_request(build.slots, first->slot, first->record.reply_key, BuildStatus::kAccepted);
  const auto replies = read_replies(build.slots, plan, build.slot_of_hop);
  EXPECT_EQ(replies[1], std::nullopt);
  EXPECT_EQ(replies[2], std::nullopt);
}

// --- Who can read what ---

TEST(BuildRequest, EachHopCanOpenOnlyItsOwnBuildRecord) {
  const auto ids = make_identities(3);
  const auto plan = outbound_plan(ids);
  const auto build = prepare_build(plan);
  // A router that is not a hop finds no slot for it.
  auto stranger = open_build_request(build.slots, Identity::generate());
  ASSERT_FALSE(stranger.ok());
  EXPECT_TRUE(is_error(stranger.error(), Errc::kNotForUs));
  // Hop 0 pointed at hop 2's slot (its to_peer rewritten to name hop 0, hop 0's own slot hidden)
  // cannot open it.
  Bytes slots = build.slots;
  auto own = slot_of(slots, build.slot_of_hop[0]);
  own[0] ^= 0xFF;
  auto other = slot_of(slots, build.slot_of_hop[2]);
  std::memcpy(other.data(), ids[0].hash().bytes.data(), kToPeerSize);
  auto wrong = open_build_request(slots, ids[0]);
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(is_error(wrong.error(), Errc::kBadRecord));
}

TEST(BuildRequest, ALaterHopCannotReadItsRecordBeforeItsTurn) {
  const auto ids = make_identities(3);
  const auto plan = outbound_plan(ids);
  const auto build = prepare_build(plan);
  // Hop 1's record still carries hop 0's layer, so not even its to_peer is visible yet.
  auto early = open_build_request(build.slots, ids[1]);
  ASSERT_FALSE(early.ok());
  EXPECT_TRUE(is_error(early.error(), Errc::kNotForUs));
}

TEST(BuildRequest, TwoSlotsNamingUsUseTheFirst) {
  const auto ids = make_identities(1);
  const auto plan = outbound_plan(ids);
  const auto build = prepare_build(plan);
  const std::size_t s = build.slot_of_hop[0];
  const std::size_t t = (s + 3) % kBuildSlots;
  Bytes slots = build.slots;
  std::memcpy(slot_of(slots, t).data(), slot_of(slots, s).data(), kRecordSize);
  auto opened = open_build_request(slots, ids[0]);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->slot, std::min(s, t));
  // A bad copy in the first slot is not skipped for the good one after it.
  slot_of(slots, std::min(s, t))[100] ^= 1;
  auto bad = open_build_request(slots, ids[0]);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(is_error(bad.error(), Errc::kBadRecord));
}

TEST(BuildRequest, WrongSizeSlotsAreMalformed) {
  const auto id = Identity::generate();
  const Bytes short_slots(kSlotsSize - 1);
  auto opened = open_build_request(short_slots, id);
  ASSERT_FALSE(opened.ok());
  EXPECT_TRUE(is_error(opened.error(), Errc::kMalformed));
}

// --- Slots and filler ---

TEST(BuildRequest, UnusedSlotsAreRandomAndDifferPerBuild) {
  const auto ids = make_identities(3);
  const auto plan = outbound_plan(ids);
  const auto a = prepare_build(plan);
  const auto b = prepare_build(plan);
  const std::set<std::size_t> used_a(a.slot_of_hop.begin(), a.slot_of_hop.end());
  const std::set<std::size_t> used_b(b.slot_of_hop.begin(), b.slot_of_hop.end());
  const Bytes zeros(kRecordSize, 0);
  for (std::size_t s = 0; s < kBuildSlots; ++s) {
    const Bytes slot_a(a.slots.begin() + static_cast<std::ptrdiff_t>(s * kRecordSize),
                       a.slots.begin() + static_cast<std::ptrdiff_t>((s + 1) * kRecordSize));
    const Bytes slot_b(b.slots.begin() + static_cast<std::ptrdiff_t>(s * kRecordSize),
                       b.slots.begin() + static_cast<std::ptrdiff_t>((s + 1) * kRecordSize));
    if (!used_a.contains(s)) {
      EXPECT_NE(slot_a, zeros) << "slot " << s;
    }
    if (!used_a.contains(s) && !used_b.contains(s)) {
      EXPECT_NE(slot_a, slot_b) << "slot " << s;
    }
  }
}

TEST(BuildRequest, SlotPositionsAreRandomAndDistinct) {
  const auto ids = make_identities(2);
  const auto plan = outbound_plan(ids);
  std::array<std::set<std::size_t>, 2> seen;
  // 8 * (7/8)^300 ~ 3e-17: every slot shows up for every hop.
  for (int build = 0; build < 300; ++build) {
    const auto prepared = prepare_build(plan);
    ASSERT_EQ(prepared.slot_of_hop.size(), 2u);
    ASSERT_NE(prepared.slot_of_hop[0], prepared.slot_of_hop[1]);
    for (std::size_t hop = 0; hop < 2; ++hop) {
      ASSERT_LT(prepared.slot_of_hop[hop], kBuildSlots);
      seen[hop].insert(prepared.slot_of_hop[hop]);
    }
  }
  EXPECT_EQ(seen[0].size(), kBuildSlots);
  EXPECT_EQ(seen[1].size(), kBuildSlots);
}

// --- Tampering ---

TEST(BuildRequest, TamperingOneByteOfARecordIsABadRecordForThatHop) {
  const auto ids = make_identities(2);
  const auto plan = outbound_plan(ids);
  // A byte of the ephemeral key, of the ciphertext, of the tag.
  for (const std::size_t offset : {kToPeerSize + 5, std::size_t{120}, kRecordSize - 1}) {
    auto build = prepare_build(plan);
    slot_of(build.slots, build.slot_of_hop[1])[offset] ^= 0x40;
    auto first = open_build_request(build.slots, ids[0]);
    ASSERT_TRUE(first.ok()) << "the other hop is unaffected";
    answer_build_request(build.slots, first->slot, first->record.reply_key, BuildStatus::kAccepted);
    auto second = open_build_request(build.slots, ids[1]);
    ASSERT_FALSE(second.ok()) << "offset " << offset;
    EXPECT_TRUE(is_error(second.error(), Errc::kBadRecord)) << second.error().message();
  }
}

TEST(BuildRequest, TamperedReplyReadsAsNulloptForThatHop) {
  const auto ids = make_identities(3);
  const auto plan = outbound_plan(ids);
  auto build = prepare_build(plan);
  walk(build.slots, ids, plan, std::vector<BuildStatus>(3, BuildStatus::kAccepted));
  slot_of(build.slots, build.slot_of_hop[1])[7] ^= 1;
  const auto replies = read_replies(build.slots, plan, build.slot_of_hop);
  EXPECT_EQ(replies[0], BuildStatus::kAccepted);
  EXPECT_EQ(replies[1], std::nullopt);
  EXPECT_EQ(replies[2], BuildStatus::kAccepted);
}

TEST(BuildRequest, ReadRepliesWithMismatchedSizesGivesNothing) {
  const auto ids = make_identities(2);
  const auto plan = outbound_plan(ids);
  auto build = prepare_build(plan);
  walk(build.slots, ids, plan, std::vector<BuildStatus>(2, BuildStatus::kAccepted));
  const std::vector<std::optional<BuildStatus>> nothing(2);
  EXPECT_EQ(read_replies(ByteView(build.slots).first(kSlotsSize - 1), plan, build.slot_of_hop), nothing);
  EXPECT_EQ(read_replies(build.slots, plan, {build.slot_of_hop[0]}), nothing);
  EXPECT_EQ(read_replies(build.slots, plan, {build.slot_of_hop[0], kBuildSlots}),
            (std::vector<std::optional<BuildStatus>>{BuildStatus::kAccepted, std::nullopt}));
}

// A reply that authenticates but is not status || 255 zeros is not trusted either.
TEST(BuildRequest, AuthenticReplyWithUnknownStatusOrPaddingIsNullopt) {
  const auto ids = make_identities(1);
  const auto plan = outbound_plan(ids);
  const auto build = prepare_build(plan);
  const std::size_t s = build.slot_of_hop[0];
  for (const auto& [status, pad] : {std::pair{6, 0}, std::pair{0, 1}}) {
    Bytes slots = build.slots;
    std::array<std::uint8_t, kReplyPlaintextSize> reply{};
    reply[0] = static_cast<std::uint8_t>(status);
    reply[kReplyPlaintextSize - 1] = static_cast<std::uint8_t>(pad);
    crypto::aead_seal(plan[0].record.reply_key, kReplyNonce, {}, reply, slot_of(slots, s));
    EXPECT_EQ(read_replies(slots, plan, build.slot_of_hop)[0], std::nullopt) << status << " " << pad;
  }
}

// --- The wire format, computed independently from docs/tunnels.md ---

TEST(BuildRequest, RecordIsSealedAsTheSpecSays) {
  const auto ids = make_identities(1);
  const auto plan = outbound_plan(ids);
  auto build = prepare_build(plan);
  auto slot = slot_of(build.slots, build.slot_of_hop[0]);
  EXPECT_EQ(0, std::memcmp(slot.data(), ids[0].hash().bytes.data(), kToPeerSize)) << "to_peer";
  Key32 ephemeral;
  std::memcpy(ephemeral.data(), slot.data() + kToPeerSize, 32);
  auto shared = crypto::x25519(ids[0].static_keypair().secret, ephemeral);
  ASSERT_TRUE(shared.ok());
  const std::string_view label = "hopline-tunnel-record-v1";
  Bytes kdf_input(label.begin(), label.end());
  core::append(kdf_input, shared->bytes());
  core::append(kdf_input, ephemeral);
  core::append(kdf_input, ids[0].static_keypair().public_key);
  const Key32 k = crypto::blake2b_256(kdf_input);
  RecordPlaintext plaintext;
  ASSERT_TRUE(crypto::aead_open(k, 0, slot.first(kToPeerSize), slot.subspan(48), plaintext));
  EXPECT_EQ(plaintext, encode_record(plan[0].record));
}

TEST(BuildRequest, AnswerLayersOtherSlotsAndSealsTheReplyAsTheSpecSays) {
  Bytes slots(kSlotsSize);
  crypto::random_bytes(slots);
  const Bytes before = slots;
  const Key32 reply_key = random_key();
  answer_build_request(slots, 5, reply_key, BuildStatus::kRateLimited);
  for (std::size_t s = 0; s < kBuildSlots; ++s) {
    if (s == 5) continue;
    Bytes expected(before.begin() + static_cast<std::ptrdiff_t>(s * kRecordSize),
                   before.begin() + static_cast<std::ptrdiff_t>((s + 1) * kRecordSize));
    crypto::Nonce12 nonce{};
    nonce[0] = static_cast<std::uint8_t>(s);
    crypto::chacha20_xor(reply_key, nonce, expected, 0);
    EXPECT_EQ(0, std::memcmp(slot_of(slots, s).data(), expected.data(), kRecordSize)) << "slot " << s;
  }
  std::array<std::uint8_t, kReplyPlaintextSize> reply;
  ASSERT_TRUE(crypto::aead_open(reply_key, kReplyNonce, {}, slot_of(slots, 5), reply));
  std::array<std::uint8_t, kReplyPlaintextSize> expected{};
  expected[0] = 3;
  EXPECT_EQ(reply, expected);
}

// --- Record codec ---

BuildRecord full_record(HopRole role) {
  BuildRecord r{role, 0x01020304, 0xA0B0C0D0, {random_key()}, random_key(), random_key(), random_key(),
                random_key(), kExpiry, {random_key()}, 0x0F0E0D0C};
  return r;
}

TEST(BuildRecord, CodecRoundTripsEveryRole) {
  for (auto role : {HopRole::kInboundGateway, HopRole::kParticipant, HopRole::kOutboundEndpoint}) {
    const auto record = full_record(role);
    auto decoded = decode_record(encode_record(record));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(*decoded, record);
  }
}

TEST(BuildRecord, FieldsSitAtTheSpecOffsets) {
  const auto r = full_record(HopRole::kOutboundEndpoint);
  const auto p = encode_record(r);
  EXPECT_EQ(p[0], 1);
  EXPECT_EQ(p[1], 3);
  EXPECT_EQ(p[2] | p[3], 0);
  EXPECT_EQ(core::get_u32(&p[4]), 0x01020304u);
  EXPECT_EQ(core::get_u32(&p[8]), 0xA0B0C0D0u);
  EXPECT_EQ(0, std::memcmp(&p[12], r.next_router.bytes.data(), 32));
  EXPECT_EQ(0, std::memcmp(&p[44], r.layer_key.data(), 32));
  EXPECT_EQ(0, std::memcmp(&p[76], r.iv_key.data(), 32));
  EXPECT_EQ(0, std::memcmp(&p[108], r.reply_key.data(), 32));
  EXPECT_EQ(0, std::memcmp(&p[140], r.integrity_key.data(), 32));
  // 1'700'000'600'123 ms, big-endian.
  const std::array<std::uint8_t, 8> expiry = {0x00, 0x00, 0x01, 0x8B, 0xCF, 0xEE, 0x90, 0x3B};
  EXPECT_EQ(0, std::memcmp(&p[172], expiry.data(), 8));
  EXPECT_EQ(0, std::memcmp(&p[180], r.reply_router.bytes.data(), 32));
  EXPECT_EQ(core::get_u32(&p[212]), 0x0F0E0D0Cu);
  for (std::size_t i = 216; i < 224; ++i) EXPECT_EQ(p[i], 0) << i;
}

TEST(BuildRecord, DecodeRefusesUnknownVersionRoleAndNonZeroReservedBytes) {
  const auto good = encode_record(full_record(HopRole::kParticipant));
  struct Case {
    std::size_t offset;
    std::uint8_t value;
  };
  const Case cases[] = {{0, 0}, {0, 2}, {1, 0}, {1, 4}, {1, 0xFF}, {2, 1}, {3, 0x80}, {216, 1}, {223, 1}};
  for (const auto& c : cases) {
    auto bad = good;
    bad[c.offset] = c.value;
    auto decoded = decode_record(bad);
    ASSERT_FALSE(decoded.ok()) << "offset " << c.offset << " value " << int{c.value};
    EXPECT_TRUE(is_error(decoded.error(), Errc::kMalformed));
  }
}

TEST(BuildRecord, DecodeRefusesAnExpiryNoClockReaches) {
  auto bad = encode_record(full_record(HopRole::kParticipant));
  std::memset(&bad[172], 0xFF, 8);
  EXPECT_FALSE(decode_record(bad).ok());
}

// --- Tunnel message blocks ---

TEST(TunnelBlock, RoundTripsEveryKind) {
  Bytes slots(kSlotsSize);
  crypto::random_bytes(slots);
  const Bytes message = {9, 8, 7};
  const Bytes test_id = {1, 2, 3, 4, 5, 6, 7, 8};
  struct Case {
    TunnelKind kind;
    TunnelId id;
    ByteView body;
  };
  for (const auto& [kind, id, body] : {Case{TunnelKind::kBuildRequest, 0xDEADBEEF, slots},
                                       Case{TunnelKind::kBuildReply, 0xDEADBEEF, slots},
                                       Case{TunnelKind::kGatewayMessage, 0xDEADBEEF, message},
                                       Case{TunnelKind::kTunnelTest, 0, test_id}}) {
    const auto block = encode_tunnel_block(kind, id, body);
    ASSERT_EQ(block.size(), 6 + body.size());
    EXPECT_EQ(block[0], kTunnelService);
    EXPECT_EQ(block[1], static_cast<std::uint8_t>(kind));
    EXPECT_EQ(core::get_u32(&block[2]), id) << "big-endian tunnel id";
    auto decoded = decode_tunnel_block(block);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(decoded->kind, kind);
    EXPECT_EQ(decoded->tunnel_id, id);
    EXPECT_EQ(Bytes(decoded->body.begin(), decoded->body.end()), Bytes(body.begin(), body.end()));
    EXPECT_EQ(decoded->body.data(), block.data() + 6) << "body points into the block";
  }
}

TEST(TunnelBlock, AcceptsGatewayMessagesOfOneToMaxBytes) {
  EXPECT_TRUE(decode_tunnel_block(encode_tunnel_block(TunnelKind::kGatewayMessage, 1, Bytes(1))).ok());
  EXPECT_TRUE(
      decode_tunnel_block(encode_tunnel_block(TunnelKind::kGatewayMessage, 1, Bytes(kMaxTunnelMessage))).ok());
}

TEST(TunnelBlock, RefusesEveryMalformedBlock) {
  const Bytes slots(kSlotsSize);
  auto wrong_service = encode_tunnel_block(TunnelKind::kBuildRequest, 1, slots);
  wrong_service[0] = 2;
  auto kind_zero = encode_tunnel_block(TunnelKind::kGatewayMessage, 1, Bytes(5));
  kind_zero[1] = 0;
  auto kind_five = kind_zero;
  kind_five[1] = 5;
  const std::vector<Bytes> bad = {
      {},
      {kTunnelService},
      {kTunnelService, 3, 0, 0, 1},  // header cut short
      wrong_service,
      kind_zero,
      kind_five,
      encode_tunnel_block(TunnelKind::kBuildRequest, 1, Bytes(kSlotsSize - 1)),
      encode_tunnel_block(TunnelKind::kBuildRequest, 1, Bytes(kSlotsSize + 1)),
      encode_tunnel_block(TunnelKind::kBuildReply, 1, Bytes(kSlotsSize - kRecordSize)),
      encode_tunnel_block(TunnelKind::kBuildReply, 1, {}),
      encode_tunnel_block(TunnelKind::kGatewayMessage, 1, {}),
      encode_tunnel_block(TunnelKind::kGatewayMessage, 1, Bytes(kMaxTunnelMessage + 1)),
      encode_tunnel_block(TunnelKind::kTunnelTest, 0, Bytes(kTunnelTestBodySize - 1)),
      encode_tunnel_block(TunnelKind::kTunnelTest, 0, Bytes(kTunnelTestBodySize + 1)),
      encode_tunnel_block(TunnelKind::kTunnelTest, 7, Bytes(kTunnelTestBodySize)),  // test id must be 0
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    auto decoded = decode_tunnel_block(bad[i]);
    ASSERT_FALSE(decoded.ok()) << "case " << i;
    EXPECT_TRUE(is_error(decoded.error(), Errc::kMalformed)) << "case " << i;
  }
}

}  // namespace
}  // namespace hop::tunnels
