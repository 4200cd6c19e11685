#include "hop/tunnels/cell.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <utility>

#include "hop/core/encoding.h"
#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

namespace crypto = core::crypto;
using namespace std::chrono_literals;

constexpr core::TimePoint kT0{};  // simulated time: the tests move it by hand
constexpr std::size_t kBodyOffset = 4 + kCellNonceSize;

crypto::Key32 random_key() {
  crypto::Key32 key;
  crypto::random_bytes(key);
  return key;
}

std::vector<HopLayer> random_hops(std::size_t n) {
  std::vector<HopLayer> hops(n);
  for (auto& hop : hops) hop = {.layer_key = random_key(), .iv_key = random_key()};
  return hops;
}

core::Bytes random_message(std::size_t size) {
  core::Bytes message(size);
  crypto::random_bytes(message);
  return message;
}

CellNonce nonce_of(const Cell& cell) {
  CellNonce nonce;
  std::copy_n(cell.begin() + 4, kCellNonceSize, nonce.begin());
  return nonce;
}

core::Bytes body_of(const Cell& cell) { return {cell.begin() + kBodyOffset, cell.end()}; }

template <std::size_t N>
std::array<std::uint8_t, N> from_hex_array(std::string_view hex) {
  std::array<std::uint8_t, N> out{};
  auto bytes = core::from_hex(hex);
  std::copy_n(bytes->begin(), N, out.begin());
  return out;
}

crypto::Key32 counting_key(std::uint8_t first) {
  crypto::Key32 key;
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(first + i);
  return key;
}

// Feeds cells to a reader; the message of the cell that completed one, if any.
std::optional<core::Bytes> read_all(CellReader& reader, const std::vector<Cell>& cells,
                                    core::TimePoint now = kT0) {
  std::optional<core::Bytes> message;
  for (const Cell& cell : cells) {
    auto got = reader.read(cell, now);
    EXPECT_TRUE(got.ok()) << got.error().message();
    if (got.ok() && *got) message = std::move(**got);
  }
  return message;
}

// A tunnel as a test drives it: n hops, each with its receive id, and the integrity key.
struct Tunnel {
  explicit Tunnel(std::size_t n) : hops(random_hops(n)), integrity_key(random_key()) {
    for (std::size_t i = 0; i < n; ++i) receive_ids.push_back(static_cast<TunnelId>(1000 + i));
  }
  std::vector<HopLayer> hops;
  std::vector<TunnelId> receive_ids;
  crypto::Key32 integrity_key;
};

// Each hop i >= first applies its layer and forwards to i + 1; `seen` collects each link's cell.
void walk_hops(const Tunnel& tunnel, std::size_t first, Cell& cell, std::vector<Cell>* seen = nullptr) {
  for (std::size_t i = first; i < tunnel.hops.size(); ++i) {
    if (seen) seen->push_back(cell);
    EXPECT_EQ(cell_tunnel_id(cell), tunnel.receive_ids[i]);
    apply_hop_layer(cell, tunnel.hops[i]);
    if (i + 1 < tunnel.hops.size()) set_cell_tunnel_id(cell, tunnel.receive_ids[i + 1]);
  }
}

// Owner -> h1 -> ... -> endpoint; returns the cells as the endpoint's reader gets them.
std::vector<Cell> send_outbound(const Tunnel& tunnel, CellWriter& owner, core::ByteView message,
                                std::vector<Cell>* seen = nullptr) {
  auto cells = owner.write(message, tunnel.receive_ids[0]);
  EXPECT_TRUE(cells.ok());
  for (Cell& cell : *cells) {
    add_outbound_layers(cell, tunnel.hops);
    walk_hops(tunnel, 0, cell, seen);
  }
  return *cells;
}

// Gateway (h1, holding the integrity key) -> h2 -> ... -> hn -> owner; returns the owner's cells
// with every layer removed.
std::vector<Cell> send_inbound(const Tunnel& tunnel, CellWriter& gateway, core::ByteView message,
                               std::vector<Cell>* seen = nullptr) {
  auto cells = gateway.write(message, tunnel.receive_ids[0]);
  EXPECT_TRUE(cells.ok());
  for (Cell& cell : *cells) {
    walk_hops(tunnel, 0, cell, seen);
    if (seen) seen->push_back(cell);
    remove_inbound_layers(cell, tunnel.hops);
  }
  return *cells;
}

// An independent reference of the end-to-end format (docs/tunnels.md, "End to end"), so tests
// can craft well-sealed cells with any inner the writer would never produce.
struct InnerSpec {
  std::uint32_t message_id = 7;
  std::uint16_t fragment = 0;
  std::uint8_t flags = 1;
  std::uint16_t length = 0;  // as written in the header
  core::Bytes data;          // copied after the header, whatever `length` says
};

Cell seal_inner(const crypto::Key32& key, std::uint32_t seq, const InnerSpec& spec) {
  Cell cell{};
  std::array<std::uint8_t, kCellInnerSize + crypto::kTagSize> sealed{};
  core::put_u32(sealed.data(), spec.message_id);
  core::put_u16(sealed.data() + 4, spec.fragment);
  sealed[6] = spec.flags;
  core::put_u16(sealed.data() + 7, spec.length);
  std::copy(spec.data.begin(), spec.data.end(), sealed.begin() + kFragmentHeaderSize);
  crypto::aead_seal(key, seq, {}, core::ByteView(sealed.data(), kCellInnerSize), sealed);
  core::put_u32(cell.data() + kBodyOffset, seq);
  std::copy(sealed.begin(), sealed.end(), cell.begin() + kBodyOffset + 4);
  return cell;
}

InnerSpec fragment_spec(std::uint32_t message_id, std::uint16_t index, bool last, std::size_t size) {
  return {.message_id = message_id,
          .fragment = index,
          .flags = static_cast<std::uint8_t>(last ? 1 : 0),
          .length = static_cast<std::uint16_t>(size),
          .data = core::Bytes(size, static_cast<std::uint8_t>(index))};
}

// Opens a cell as the integrity-key holder would, with the doc's layout and nothing of cell.cc.
using Inner = std::array<std::uint8_t, kCellInnerSize>;
std::optional<Inner> open_cell(const crypto::Key32& key, const Cell& cell) {
  Inner inner;
  const std::uint32_t seq = core::get_u32(cell.data() + kBodyOffset);
  const core::ByteView sealed(cell.data() + kBodyOffset + 4, kCellBodySize - 4);
  if (!crypto::aead_open(key, seq, {}, sealed, inner)) return std::nullopt;
  return inner;
}

Errc error_of(const core::Result<std::optional<core::Bytes>>& result) {
  return static_cast<Errc>(result.error().code.value());
}

// --- F, the nonce permutation ---

TEST(NoncePermutation, MatchesKnownAnswer) {
  // Computed independently with a Python SipHash-2-4 (checked against the SipHash paper's
  // vectors) from the doc's definition: iv_key = 00..1f, nonce = 00..0b; and all-zero key and nonce.
  const auto nonce = from_hex_array<12>("000102030405060708090a0b");
  EXPECT_EQ(core::to_hex(permute_nonce(counting_key(0), nonce)), "58a4d6f3b42a4d6defbdb266");
  EXPECT_EQ(core::to_hex(permute_nonce(crypto::Key32{}, CellNonce{})), "e2dade05ffaecee2dd58c504");
}

TEST(NoncePermutation, InverseUndoesItBothWays) {
  for (int i = 0; i < 200; ++i) {
    const auto key = random_key();
    CellNonce nonce;
    crypto::random_bytes(nonce);
    EXPECT_EQ(unpermute_nonce(key, permute_nonce(key, nonce)), nonce);
    EXPECT_EQ(permute_nonce(key, unpermute_nonce(key, nonce)), nonce);
  }
}

TEST(NoncePermutation, ChangesTheNonceAndDependsOnTheKey) {
  for (int i = 0; i < 200; ++i) {
    const auto key = random_key();
    CellNonce nonce;
    crypto::random_bytes(nonce);
    const auto permuted = permute_nonce(key, nonce);
    EXPECT_NE(permuted, nonce);
    EXPECT_NE(permute_nonce(random_key(), nonce), permuted);
    // Both halves change: not a fixed XOR, not a half left alone.
    EXPECT_FALSE(std::equal(permuted.begin(), permuted.begin() + 6, nonce.begin()));
    EXPECT_FALSE(std::equal(permuted.begin() + 6, permuted.end(), nonce.begin() + 6));
  }
}

// --- the hop layer and cell blocks ---

TEST(CellLayer, MatchesKnownAnswer) {
  // body ^= ChaCha20(layer_key = 20..3f, nonce = 00..0b), then nonce = F(iv_key = 00..1f, nonce);
  // expected body from OpenSSL's ChaCha20 (Python cryptography), nonce from Python SipHash-2-4.
  Cell cell{};
  set_cell_tunnel_id(cell, 0xdeadbeef);
  const auto nonce = from_hex_array<12>("000102030405060708090a0b");
  std::copy(nonce.begin(), nonce.end(), cell.begin() + 4);
  apply_hop_layer(cell, {.layer_key = counting_key(32), .iv_key = counting_key(0)});
  EXPECT_EQ(cell_tunnel_id(cell), 0xdeadbeef);
  EXPECT_EQ(core::to_hex(nonce_of(cell)), "58a4d6f3b42a4d6defbdb266");
  const core::Bytes body = body_of(cell);
  EXPECT_EQ(core::to_hex(core::ByteView(body).first(16)), "38a49f8bd9cc0b1fabe7f286f7f19584");
  EXPECT_EQ(core::to_hex(core::ByteView(body).last(16)), "dd6b569f552d55d60b8c81f1bf3634d7");
}

TEST(CellLayer, EqualsOneChaCha20PassOverTheBody) {
  // The layer XORs its tail through a padded buffer (speed); it must equal the plain keystream.
  for (int i = 0; i < 20; ++i) {
    const HopLayer layer = random_hops(1).front();
    Cell cell;
    crypto::random_bytes(cell);
    core::Bytes expected = body_of(cell);
    crypto::chacha20_xor(layer.layer_key, nonce_of(cell), expected);
    const CellNonce nonce = nonce_of(cell);
    apply_hop_layer(cell, layer);
    EXPECT_EQ(body_of(cell), expected);
    EXPECT_EQ(nonce_of(cell), permute_nonce(layer.iv_key, nonce));
  }
}

TEST(CellBlock, RefusesWrongSizes) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, kCellSize - 1, kCellSize + 1, std::size_t{2048}}) {
    EXPECT_FALSE(cell_from_block(core::Bytes(size, 1)).has_value()) << size;
  }
  const auto block = random_message(kCellSize);
  auto cell = cell_from_block(block);
  ASSERT_TRUE(cell.has_value());
  EXPECT_TRUE(std::equal(block.begin(), block.end(), cell->begin()));
}

TEST(CellBlock, TunnelIdIsTheFirstFourBytesBigEndian) {
  Cell cell{};
  set_cell_tunnel_id(cell, 0x01020304);
  EXPECT_EQ(cell[0], 1);
  EXPECT_EQ(cell[3], 4);
  EXPECT_EQ(cell_tunnel_id(cell), 0x01020304u);
}

// --- the writer ---

TEST(CellWriter, RefusesEmptyAndOversizeMessages) {
  CellWriter writer(random_key());
  auto empty = writer.write({}, 1);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::kMalformed);
  auto oversize = writer.write(core::Bytes(kMaxTunnelMessage + 1), 1);
  ASSERT_FALSE(oversize.ok());
  EXPECT_EQ(oversize.error().code, Errc::kTooLarge);
  EXPECT_EQ(writer.next_seq(), 1u);  // refusals use no sequence numbers
  EXPECT_TRUE(writer.write(core::Bytes(kMaxTunnelMessage), 1).ok());
}

TEST(CellWriter, LaysOutCellsAsTheDocSays) {
  const auto key = random_key();
  CellWriter writer(key);
  const auto message = random_message(2 * kMaxFragmentData + 5);
  auto cells = writer.write(message, 0xabcd);
  ASSERT_TRUE(cells.ok());
  ASSERT_EQ(cells->size(), 3u);
  EXPECT_EQ(writer.next_seq(), 4u);
  std::set<CellNonce> nonces;
  std::optional<std::uint32_t> message_id;
  for (std::size_t i = 0; i < cells->size(); ++i) {
    const Cell& cell = (*cells)[i];
    EXPECT_EQ(cell_tunnel_id(cell), 0xabcdu);
    nonces.insert(nonce_of(cell));
    const std::uint32_t seq = core::get_u32(cell.data() + kBodyOffset);
    EXPECT_EQ(seq, i + 1);  // seq from 1
    auto opened = open_cell(key, cell);
    ASSERT_TRUE(opened.has_value());
    const auto& inner = *opened;
    if (!message_id) message_id = core::get_u32(inner.data());
    EXPECT_EQ(core::get_u32(inner.data()), *message_id);
    EXPECT_EQ(core::get_u16(inner.data() + 4), i);
    EXPECT_EQ(inner[6], i == 2 ? 1 : 0);
    const std::size_t length = core::get_u16(inner.data() + 7);
    EXPECT_EQ(length, i == 2 ? 5 : kMaxFragmentData);
    const auto data_end = inner.begin() + 9 + static_cast<long>(length);
    const auto expected = message.begin() + static_cast<long>(i * kMaxFragmentData);
    EXPECT_TRUE(std::equal(inner.begin() + 9, data_end, expected));
    EXPECT_TRUE(std::all_of(data_end, inner.end(), [](auto b) { return b == 0; }));  // zero padding
  }
  EXPECT_EQ(nonces.size(), 3u);  // a fresh nonce per cell
  auto next = writer.write(message, 1);
  ASSERT_TRUE(next.ok());
  auto inner = open_cell(key, (*next)[0]);
  ASSERT_TRUE(inner.has_value());
  EXPECT_EQ(core::get_u32(inner->data()), *message_id + 1);  // the next message, the next id
}

// --- walks through tunnels ---

TEST(CellWalk, OutboundThreeHopsDeliversEveryMessageSize) {
  const Tunnel tunnel(3);
  CellWriter owner(tunnel.integrity_key);
  CellReader endpoint(tunnel.integrity_key);
  for (std::size_t size : {std::size_t{1}, kMaxFragmentData, kMaxFragmentData + 1, std::size_t{5000},
                           kMaxTunnelMessage}) {
    const auto message = random_message(size);
    EXPECT_EQ(read_all(endpoint, send_outbound(tunnel, owner, message)), message) << size;
  }
  EXPECT_EQ(endpoint.counters().messages, 5u);
  EXPECT_EQ(endpoint.counters().integrity_failures + endpoint.counters().malformed, 0u);
}

TEST(CellWalk, InboundThreeHopsDeliversEveryMessageSize) {
  const Tunnel tunnel(3);
  CellWriter gateway(tunnel.integrity_key);
  CellReader owner(tunnel.integrity_key);
  for (std::size_t size : {std::size_t{1}, kMaxFragmentData, kMaxFragmentData + 1, kMaxTunnelMessage}) {
    const auto message = random_message(size);
    EXPECT_EQ(read_all(owner, send_inbound(tunnel, gateway, message)), message) << size;
  }
  EXPECT_EQ(owner.counters().messages, 4u);
}

TEST(CellWalk, OneHopTunnelsWorkBothWays) {
  const Tunnel tunnel(1);
  CellWriter writer(tunnel.integrity_key);
  CellReader outbound_endpoint(tunnel.integrity_key);
  CellReader inbound_owner(tunnel.integrity_key);
  const auto message = random_message(3000);
  EXPECT_EQ(read_all(outbound_endpoint, send_outbound(tunnel, writer, message)), message);
  EXPECT_EQ(read_all(inbound_owner, send_inbound(tunnel, writer, message)), message);
}

TEST(CellWalk, SevenHopsBothWays) {
  const Tunnel tunnel(kMaxHops);
  CellWriter writer(tunnel.integrity_key);
  CellReader outbound_endpoint(tunnel.integrity_key);
  CellReader inbound_owner(tunnel.integrity_key);
  const auto message = random_message(2500);
  EXPECT_EQ(read_all(outbound_endpoint, send_outbound(tunnel, writer, message)), message);
  EXPECT_EQ(read_all(inbound_owner, send_inbound(tunnel, writer, message)), message);
}

// On every link the same cell has a different tunnel id, nonce and body.
void expect_unlinkable(const std::vector<Cell>& links) {
  std::set<TunnelId> ids;
  std::set<CellNonce> nonces;
  std::set<core::Bytes> bodies;
  for (const Cell& cell : links) {
    ids.insert(cell_tunnel_id(cell));
    nonces.insert(nonce_of(cell));
    bodies.insert(body_of(cell));
  }
  EXPECT_EQ(nonces.size(), links.size());
  EXPECT_EQ(bodies.size(), links.size());
  EXPECT_GE(ids.size(), links.size() - 1);  // walk_hops leaves the id as is on the way to the owner
}

TEST(CellWalk, EachHopSeesADifferentNonceAndBody) {
  const Tunnel tunnel(3);
  CellWriter writer(tunnel.integrity_key);
  std::vector<Cell> outbound_links;
  (void)send_outbound(tunnel, writer, random_message(100), &outbound_links);
  ASSERT_EQ(outbound_links.size(), 3u);
  expect_unlinkable(outbound_links);
  std::vector<Cell> inbound_links;
  (void)send_inbound(tunnel, writer, random_message(100), &inbound_links);
  ASSERT_EQ(inbound_links.size(), 4u);  // into h1..h3, and h3 -> owner
  expect_unlinkable(inbound_links);
}

// --- the reader: integrity, replay window, reassembly ---

TEST(CellReader, FlippedBitFailsIntegrityAndIsCounted) {
  const Tunnel tunnel(3);
  CellWriter owner(tunnel.integrity_key);
  CellReader endpoint(tunnel.integrity_key);
  for (std::size_t bit : {std::size_t{0}, std::size_t{33}, std::size_t{4003}, 8 * kCellBodySize - 1}) {
    auto cells = owner.write(random_message(10), tunnel.receive_ids[0]);
    ASSERT_TRUE(cells.ok());
    Cell& cell = (*cells)[0];
    add_outbound_layers(cell, tunnel.hops);
    apply_hop_layer(cell, tunnel.hops[0]);
    cell[kBodyOffset + bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));  // a middle hop tampers
    apply_hop_layer(cell, tunnel.hops[1]);
    apply_hop_layer(cell, tunnel.hops[2]);
    auto got = endpoint.read(cell, kT0);
    ASSERT_FALSE(got.ok()) << bit;
    // Bits 0..31 are the seq: a changed seq opens with the wrong AEAD nonce (or is a replay of 0).
    EXPECT_TRUE(error_of(got) == Errc::kIntegrity || (bit < 32 && error_of(got) == Errc::kReplay)) << bit;
  }
  EXPECT_EQ(endpoint.counters().integrity_failures + endpoint.counters().replays, 4u);
  EXPECT_GE(endpoint.counters().integrity_failures, 3u);
  EXPECT_EQ(endpoint.counters().messages, 0u);
}

TEST(CellReader, ForgedCellDoesNotPoisonTheWindow) {
  const auto key = random_key();
  CellWriter writer(key);
  CellReader reader(key);
  auto cells = writer.write(random_message(10), 1);
  ASSERT_TRUE(cells.ok());
  Cell forged = (*cells)[0];
  forged[kCellSize - 1] ^= 1;  // same seq, bad tag
  EXPECT_EQ(error_of(reader.read(forged, kT0)), Errc::kIntegrity);
  EXPECT_EQ(error_of(reader.read(forged, kT0)), Errc::kIntegrity);  // still not marked seen
  EXPECT_TRUE(read_all(reader, *cells).has_value());                // the genuine one passes
  EXPECT_EQ(reader.counters().integrity_failures, 2u);
}

TEST(CellReader, ReplayedCellIsRefusedAndCounted) {
  const auto key = random_key();
  CellWriter writer(key);
  CellReader reader(key);
  auto cells = writer.write(random_message(10), 1);
  ASSERT_TRUE(cells.ok());
  EXPECT_TRUE(read_all(reader, *cells).has_value());
  EXPECT_EQ(error_of(reader.read((*cells)[0], kT0)), Errc::kReplay);
  EXPECT_EQ(reader.counters().replays, 1u);
  EXPECT_EQ(reader.counters().messages, 1u);
}

TEST(CellReader, OutOfOrderCellsWithinTheWindowReassemble) {
  const auto key = random_key();
  CellWriter writer(key);
  CellReader reader(key);
  const auto message = random_message(40 * kMaxFragmentData + 17);
  auto cells = writer.write(message, 1);
  ASSERT_TRUE(cells.ok());
  std::mt19937 rng(11);
  std::shuffle(cells->begin(), cells->end(), rng);
  EXPECT_EQ(read_all(reader, *cells), message);
  EXPECT_EQ(reader.counters().replays, 0u);
}

TEST(CellReader, CellOlderThanTheWindowIsRefused) {
  const auto key = random_key();
  CellWriter writer(key);
  CellReader reader(key);
  std::vector<Cell> cells;  // seq 1..66, one message each
  for (int i = 0; i < 66; ++i) cells.push_back(writer.write(random_message(10), 1)->front());
  ASSERT_TRUE(reader.read(cells[65], kT0).ok());                        // highest = 66
  EXPECT_EQ(error_of(reader.read(cells[0], kT0)), Errc::kReplay);      // seq 1: 65 behind
  EXPECT_EQ(error_of(reader.read(cells[1], kT0)), Errc::kReplay);      // seq 2: 64 behind
  EXPECT_TRUE(reader.read(cells[2], kT0).ok());                         // seq 3: 63 behind, unseen
  EXPECT_EQ(error_of(reader.read(cells[2], kT0)), Errc::kReplay);      // now seen
  EXPECT_EQ(reader.counters().replays, 3u);
}

TEST(CellReader, WindowSlidesAcrossLargeJumps) {
  const auto key = random_key();
  CellReader reader(key);
  EXPECT_TRUE(reader.read(seal_inner(key, 1, fragment_spec(1, 0, true, 3)), kT0).ok());
  EXPECT_TRUE(reader.read(seal_inner(key, 1000, fragment_spec(2, 0, true, 3)), kT0).ok());
  EXPECT_TRUE(reader.read(seal_inner(key, 999, fragment_spec(3, 0, true, 3)), kT0).ok());
  EXPECT_EQ(error_of(reader.read(seal_inner(key, 900, fragment_spec(4, 0, true, 3)), kT0)), Errc::kReplay);
  EXPECT_TRUE(reader.read(seal_inner(key, 0xffffffff, fragment_spec(5, 0, true, 3)), kT0).ok());
  EXPECT_EQ(error_of(reader.read(seal_inner(key, 0, fragment_spec(6, 0, true, 3)), kT0)), Errc::kReplay);
}

TEST(CellReader, SeqZeroIsRefused) {
  const auto key = random_key();
  CellReader reader(key);
  EXPECT_EQ(error_of(reader.read(seal_inner(key, 0, fragment_spec(1, 0, true, 3)), kT0)), Errc::kReplay);
}

TEST(CellReader, IncompleteMessageExpiresAfterTheTimeoutAndIsCounted) {
  const auto key = random_key();
  CellWriter writer(key);
  CellReader reader(key);
  auto cells = writer.write(random_message(3 * kMaxFragmentData), 1);
  ASSERT_TRUE(cells.ok());
  ASSERT_TRUE(reader.read((*cells)[0], kT0).ok());
  ASSERT_TRUE(reader.read((*cells)[1], kT0 + kReassemblyTimeout - 1ms).ok());
  EXPECT_EQ(reader.counters().expired_messages, 0u);
  // The last fragment arrives 10 s after the first: the message is gone, this one starts anew.
  auto late = reader.read((*cells)[2], kT0 + kReassemblyTimeout);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->has_value());
  EXPECT_EQ(reader.counters().expired_messages, 1u);
  EXPECT_EQ(reader.counters().messages, 0u);
}

TEST(CellReader, TooManyPartialMessagesDropTheOldest) {
  const auto key = random_key();
  CellReader reader(key);
  std::uint32_t seq = 1;  // in order, so the replay window never interferes
  const auto count = static_cast<std::uint32_t>(kMaxMessagesInReassembly + 1);
  for (std::uint32_t id = 0; id < count; ++id) {  // first halves only, one ms apart
    const auto now = kT0 + std::chrono::milliseconds(id);
    auto got = reader.read(seal_inner(key, seq++, fragment_spec(id, 0, false, 10)), now);
    ASSERT_TRUE(got.ok());
  }
  EXPECT_EQ(reader.counters().expired_messages, 1u);  // the 65th pushed out the 1st
  const auto later = kT0 + 100ms;
  for (std::uint32_t id = 1; id < count; ++id) {
    auto got = reader.read(seal_inner(key, seq++, fragment_spec(id, 1, true, 10)), later);
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got->has_value()) << id;
  }
  auto orphan = reader.read(seal_inner(key, seq++, fragment_spec(0, 1, true, 10)), later);
  ASSERT_TRUE(orphan.ok());
  EXPECT_FALSE(orphan->has_value());  // its first half was dropped
  EXPECT_EQ(reader.counters().messages, kMaxMessagesInReassembly);
}

TEST(CellReader, RefusesBadFragmentHeaders) {
  const auto key = random_key();
  CellReader reader(key);
  std::uint32_t seq = 1;
  auto read = [&](const InnerSpec& spec) { return reader.read(seal_inner(key, seq++, spec), kT0); };
  InnerSpec flags = fragment_spec(1, 0, true, 4);
  flags.flags = 0x03;
  EXPECT_EQ(error_of(read(flags)), Errc::kMalformed);
  InnerSpec length = fragment_spec(2, 0, true, 4);
  length.length = kMaxFragmentData + 1;
  EXPECT_EQ(error_of(read(length)), Errc::kMalformed);
  EXPECT_EQ(error_of(read(fragment_spec(3, 63, false, 4))), Errc::kMalformed);  // beyond any message
  EXPECT_EQ(error_of(read(fragment_spec(4, 0, true, 0))), Errc::kMalformed);    // empty message
  EXPECT_EQ(reader.counters().malformed, 4u);
}

TEST(CellReader, PaddingIsIgnored) {
  const auto key = random_key();
  CellReader reader(key);
  InnerSpec spec = fragment_spec(1, 0, true, 4);
  spec.data = core::Bytes(40, 0xee);  // 36 non-zero bytes past `length`
  auto got = reader.read(seal_inner(key, 1, spec), kT0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(**got, core::Bytes(4, 0xee));
}

TEST(CellReader, RefusesInconsistentFragments) {
  const auto key = random_key();
  CellReader reader(key);
  std::uint32_t seq = 1;
  auto read = [&](const InnerSpec& spec) { return reader.read(seal_inner(key, seq++, spec), kT0); };
  ASSERT_TRUE(read(fragment_spec(1, 0, false, 10)).ok());
  EXPECT_EQ(error_of(read(fragment_spec(1, 0, false, 10))), Errc::kMalformed);  // duplicate index
  ASSERT_TRUE(read(fragment_spec(1, 2, true, 10)).ok());
  EXPECT_EQ(error_of(read(fragment_spec(1, 3, false, 10))), Errc::kMalformed);  // past the last
  EXPECT_EQ(error_of(read(fragment_spec(1, 1, true, 10))), Errc::kMalformed);   // a second last
  auto done = read(fragment_spec(1, 1, false, 10));                             // still completes
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->value().size(), 30u);
  ASSERT_TRUE(read(fragment_spec(2, 5, false, 10)).ok());
  EXPECT_EQ(error_of(read(fragment_spec(2, 4, true, 10))), Errc::kMalformed);   // last before others
  EXPECT_EQ(reader.counters().malformed, 4u);
}

TEST(CellReader, RefusesAMessageOverTheLimit) {
  const auto key = random_key();
  CellReader reader(key);
  std::uint32_t seq = 1;
  // 62 full fragments are 60698 bytes; a 63rd of 979 would make 61677 > 61440.
  for (std::uint16_t i = 0; i < 62; ++i) {
    ASSERT_TRUE(reader.read(seal_inner(key, seq++, fragment_spec(9, i, false, kMaxFragmentData)), kT0).ok());
  }
  auto over = reader.read(seal_inner(key, seq++, fragment_spec(9, 62, true, kMaxFragmentData)), kT0);
  EXPECT_EQ(error_of(over), Errc::kTooLarge);
  // The partial message is gone: its fragments start a new one.
  auto again = reader.read(seal_inner(key, seq++, fragment_spec(9, 62, true, 100)), kT0);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  EXPECT_EQ(reader.counters().malformed, 1u);
}

}  // namespace
}  // namespace hop::tunnels
