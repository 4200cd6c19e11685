// Tunnel cells (docs/tunnels.md, "Cells"): the per-hop layer and nonce permutation F, the
// end-to-end seal, fragmentation, the replay window and reassembly.
#include "hop/tunnels/cell.h"

#include <algorithm>
#include <string>
#include <utility>

#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

namespace crypto = core::crypto;

// cell = tunnel_id (4) || nonce (12) || body (1008)
constexpr std::size_t kNonceOffset = 4;
constexpr std::size_t kBodyOffset = kNonceOffset + kCellNonceSize;
// body = seq (4) || ChaCha20-Poly1305(inner (988)) || tag (16), under every layer
constexpr std::size_t kSeqSize = 4;
constexpr std::size_t kSealedOffset = kBodyOffset + kSeqSize;
constexpr std::size_t kSealedSize = kCellInnerSize + crypto::kTagSize;
static_assert(kBodyOffset + kCellBodySize == kCellSize);
static_assert(kSeqSize + kSealedSize == kCellBodySize);
// inner = message_id (4) || fragment (2) || flags (1) || length (2) || data || zero padding
constexpr std::size_t kFragmentIndexOffset = 4;
constexpr std::size_t kFlagsOffset = 6;
constexpr std::size_t kLengthOffset = 7;
constexpr std::uint8_t kFlagLast = 0x01;
// Enough fragments for kMaxTunnelMessage in full fragments (63). The doc bounds a message's bytes,
// not its fragments; without this, empty fragments (u16 indices) would make a partial message's
// bookkeeping grow to megabytes while its byte count stays at zero.
constexpr std::size_t kMaxFragments = (kMaxTunnelMessage + kMaxFragmentData - 1) / kMaxFragmentData;
static_assert(kMaxFragments == 63 && kMaxTunnelMessage == 61440, "error messages quote them");

// F splits the nonce into halves L || R of 6 bytes and runs 4 Feistel rounds.
constexpr std::size_t kHalf = kCellNonceSize / 2;
constexpr int kFeistelRounds = 4;

using Inner = std::array<std::uint8_t, kCellInnerSize>;

// body ^= ChaCha20(key, nonce), from block counter 0.
void xor_layer(const crypto::Key32& key, const CellNonce& nonce, core::MutableByteView body) {
  crypto::chacha20_xor(key, nonce, body);
}

// target ^= PRF(round, source): the first 6 little-endian bytes of SipHash-2-4 keyed with
// iv_key[0..16) over round || source (docs/tunnels.md, "Cells").
void xor_prf(const crypto::Key32& iv_key, int round, const std::uint8_t* source, std::uint8_t* target) {
  crypto::Key16 key;
  std::copy_n(iv_key.begin(), key.size(), key.begin());
  std::array<std::uint8_t, 1 + kHalf> input;
  input[0] = static_cast<std::uint8_t>(round);
  std::copy_n(source, kHalf, input.begin() + 1);
  const std::uint64_t prf = crypto::siphash24(key, input);
  for (std::size_t i = 0; i < kHalf; ++i) target[i] ^= static_cast<std::uint8_t>(prf >> (8 * i));
}

// Round r: L, R = R, L ^ PRF(r, R). Swapping the pointers instead of the bytes; after an even
// number of rounds they point where they started.
void permute_in_place(const crypto::Key32& iv_key, std::uint8_t* nonce) {
  std::uint8_t* left = nonce;
  std::uint8_t* right = nonce + kHalf;
  for (int round = 0; round < kFeistelRounds; ++round) {
    xor_prf(iv_key, round, right, left);
    std::swap(left, right);
  }
}

// Undoes rounds 3..0: from (L', R') = (R, L ^ PRF(r, R)), R = L' and L = R' ^ PRF(r, L').
void unpermute_in_place(const crypto::Key32& iv_key, std::uint8_t* nonce) {
  std::uint8_t* left = nonce;
  std::uint8_t* right = nonce + kHalf;
  for (int round = kFeistelRounds - 1; round >= 0; --round) {
    xor_prf(iv_key, round, left, right);
    std::swap(left, right);
  }
}

CellNonce nonce_of(const Cell& cell) {
  CellNonce nonce;
  std::copy_n(cell.begin() + kNonceOffset, kCellNonceSize, nonce.begin());
  return nonce;
}

void set_nonce(Cell& cell, const CellNonce& nonce) {
  std::copy(nonce.begin(), nonce.end(), cell.begin() + kNonceOffset);
}

core::MutableByteView body_of(Cell& cell) { return {cell.data() + kBodyOffset, kCellBodySize}; }

// One fragment as the writer lays it out.
struct FragmentOut {
  std::uint32_t message_id = 0;
  std::uint16_t index = 0;
  bool last = false;
  core::ByteView data;
};

// A fresh random nonce for every cell, drawn in one call: each call costs a system call.
// cells.size() <= kMaxFragments, as the writer refuses messages over kMaxTunnelMessage.
void draw_nonces(std::vector<Cell>& cells) {
  std::array<std::uint8_t, kMaxFragments * kCellNonceSize> nonces;
  const core::MutableByteView drawn(nonces.data(), cells.size() * kCellNonceSize);
  crypto::random_bytes(drawn);
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::copy_n(drawn.begin() + static_cast<std::ptrdiff_t>(i * kCellNonceSize), kCellNonceSize,
                cells[i].begin() + kNonceOffset);
  }
}

// Fills a zeroed cell's seq and sealed inner; the padding stays zero.
void seal_fragment(Cell& cell, const crypto::Key32& key, std::uint32_t seq, const FragmentOut& f) {
  core::put_u32(cell.data() + kBodyOffset, seq);
  std::uint8_t* inner = cell.data() + kSealedOffset;
  core::put_u32(inner, f.message_id);
  core::put_u16(inner + kFragmentIndexOffset, f.index);
  inner[kFlagsOffset] = f.last ? kFlagLast : 0;
  core::put_u16(inner + kLengthOffset, static_cast<std::uint16_t>(f.data.size()));
  std::copy(f.data.begin(), f.data.end(), inner + kFragmentHeaderSize);
  crypto::aead_seal(key, seq, {}, core::ByteView(inner, kCellInnerSize),
                    core::MutableByteView(inner, kSealedSize));
}

core::Error cell_error(Errc code, const std::string& what, std::uint32_t seq) {
  return core::make_error(code, what + " (cell seq " + std::to_string(seq) + ")");
}

}  // namespace

TunnelId cell_tunnel_id(const Cell& cell) { return core::get_u32(cell.data()); }

void set_cell_tunnel_id(Cell& cell, TunnelId id) { core::put_u32(cell.data(), id); }

std::optional<Cell> cell_from_block(core::ByteView block) {
  if (block.size() != kCellSize) return std::nullopt;
  Cell cell;
  std::copy(block.begin(), block.end(), cell.begin());
  return cell;
}

CellNonce permute_nonce(const core::crypto::Key32& iv_key, const CellNonce& nonce) {
  CellNonce out = nonce;
  permute_in_place(iv_key, out.data());
  return out;
}

CellNonce unpermute_nonce(const core::crypto::Key32& iv_key, const CellNonce& nonce) {
  CellNonce out = nonce;
  unpermute_in_place(iv_key, out.data());
  return out;
}

// The hot path of every transit hop: one ChaCha20 pass and four SipHashes, in place, no allocation.
void apply_hop_layer(Cell& cell, const HopLayer& layer) {
  xor_layer(layer.layer_key, nonce_of(cell), body_of(cell));
  permute_in_place(layer.iv_key, cell.data() + kNonceOffset);
}

// Hop i will XOR with ChaCha20(layer_i, nonce_i), nonce_{i+1} = F_i(nonce_i); XOR commutes, so
// adding them all here in any order leaves the sealed body at the endpoint.
void add_outbound_layers(Cell& cell, const std::vector<HopLayer>& hops) {
  CellNonce nonce = nonce_of(cell);
  for (const HopLayer& hop : hops) {
    xor_layer(hop.layer_key, nonce, body_of(cell));
    permute_in_place(hop.iv_key, nonce.data());
  }
}

// The last hop sent F_n(nonce_n); walking back, nonce_i = F_i^-1(nonce_{i+1}) is the nonce hop i
// layered with.
void remove_inbound_layers(Cell& cell, const std::vector<HopLayer>& hops) {
  CellNonce nonce = nonce_of(cell);
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    unpermute_in_place(hop->iv_key, nonce.data());
    xor_layer(hop->layer_key, nonce, body_of(cell));
  }
  set_nonce(cell, nonce);
}

// --- CellWriter ---

CellWriter::CellWriter(const core::crypto::Key32& integrity_key)
    : key_(integrity_key), message_id_(static_cast<std::uint32_t>(crypto::random_u64())) {}

CellWriter::~CellWriter() = default;

core::Result<std::vector<Cell>> CellWriter::write(core::ByteView message, TunnelId first_hop_id) {
  if (message.empty()) return core::make_error(Errc::kMalformed, "writing an empty tunnel message");
  if (message.size() > kMaxTunnelMessage) {
    return core::make_error(Errc::kTooLarge, "writing a tunnel message of " + std::to_string(message.size()) +
                                                 " bytes (at most 61440)");
  }
  const std::size_t count = (message.size() + kMaxFragmentData - 1) / kMaxFragmentData;
  // seq_ wraps to 0 after 2^32-1; a repeated seq would repeat an AEAD nonce.
  const std::uint64_t seqs_left = seq_ == 0 ? 0 : (std::uint64_t{1} << 32) - seq_;
  if (count > seqs_left) {
    return core::make_error(Errc::kNoRoute, "tunnel sequence numbers used up; use another tunnel");
  }
  std::vector<Cell> cells(count);  // value-initialised: zero padding
  draw_nonces(cells);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t offset = i * kMaxFragmentData;
    const std::size_t length = std::min(kMaxFragmentData, message.size() - offset);
    const FragmentOut fragment{.message_id = message_id_,
                               .index = static_cast<std::uint16_t>(i),
                               .last = i + 1 == count,
                               .data = message.subspan(offset, length)};
    set_cell_tunnel_id(cells[i], first_hop_id);
    seal_fragment(cells[i], key_.bytes(), seq_++, fragment);
  }
  ++message_id_;
  return cells;
}

// --- CellReader ---

struct CellReader::Fragment {
  std::uint32_t message_id = 0;
  std::uint16_t index = 0;
  bool last = false;
  core::ByteView data;  // points into the caller's opened inner

  // Checks what one fragment can be judged on alone; the padding after the data is ignored.
  static core::Result<Fragment> parse(const Inner& inner) {
    const std::uint8_t flags = inner[kFlagsOffset];
    const std::size_t length = core::get_u16(inner.data() + kLengthOffset);
    const std::uint16_t index = core::get_u16(inner.data() + kFragmentIndexOffset);
    if ((flags & ~kFlagLast) != 0) return core::make_error(Errc::kMalformed, "cell fragment: unknown flags");
    if (length > kMaxFragmentData) return core::make_error(Errc::kMalformed, "cell fragment: length > 979");
    if (index >= kMaxFragments) return core::make_error(Errc::kMalformed, "cell fragment: index over 62");
    return Fragment{.message_id = core::get_u32(inner.data()),
                    .index = index,
                    .last = (flags & kFlagLast) != 0,
                    .data = core::ByteView(inner.data() + kFragmentHeaderSize, length)};
  }
};

CellReader::CellReader(const core::crypto::Key32& integrity_key) : key_(integrity_key) {}

CellReader::~CellReader() = default;

// Cheap checks first: the window before the tag, the tag before any parsing.
CellReader::ReadResult CellReader::read(const Cell& cell, core::TimePoint now) {
  ++counters_.cells;
  expire(now);
  const std::uint32_t seq = core::get_u32(cell.data() + kBodyOffset);
  if (!is_fresh_seq(seq)) {
    ++counters_.replays;
    return cell_error(Errc::kReplay, "reading a cell", seq);
  }
  Inner inner;
  const core::ByteView sealed(cell.data() + kSealedOffset, kSealedSize);
  if (!crypto::aead_open(key_.bytes(), seq, {}, sealed, inner)) {
    ++counters_.integrity_failures;
    return cell_error(Errc::kIntegrity, "reading a cell", seq);
  }
  mark_seen(seq);
  auto fragment = Fragment::parse(inner);
  if (!fragment) {
    ++counters_.malformed;
    return fragment.error();
  }
  return on_fragment(*fragment, now);
}

bool CellReader::is_fresh_seq(std::uint32_t seq) const {
  if (seq == 0) return false;  // seq counts from 1; 0 would pass as "unseen" in a fresh window
  if (seq > highest_seq_) return true;
  const std::uint32_t age = highest_seq_ - seq;
  return age < kReplayWindow && ((window_ >> age) & 1) == 0;
}

void CellReader::mark_seen(std::uint32_t seq) {
  if (seq > highest_seq_) {
    const std::uint32_t shift = seq - highest_seq_;
    window_ = shift >= kReplayWindow ? 0 : window_ << shift;
    window_ |= 1;
    highest_seq_ = seq;
    return;
  }
  window_ |= std::uint64_t{1} << (highest_seq_ - seq);
}

CellReader::ReadResult CellReader::on_fragment(const Fragment& fragment, core::TimePoint now) {
  auto it = partial_.find(fragment.message_id);
  if (it == partial_.end()) {
    // The common case, a message in one cell, never touches the reassembly map.
    if (fragment.index == 0 && fragment.last) {
      return deliver(core::Bytes(fragment.data.begin(), fragment.data.end()));
    }
    it = start_partial(fragment.message_id, now);
  }
  Partial& partial = it->second;
  if (auto added = add_fragment(partial, fragment); !added) {
    ++counters_.malformed;
    // An oversize message can never complete; an empty partial would only hold a slot.
    if (added.error().code == Errc::kTooLarge || partial.fragments.empty()) partial_.erase(it);
    return added.error();
  }
  if (!partial.last || partial.fragments.size() != std::size_t{*partial.last} + 1) {
    return std::optional<core::Bytes>{};
  }
  core::Bytes message;
  message.reserve(partial.bytes);
  for (const auto& [index, data] : partial.fragments) core::append(message, data);  // map: in index order
  partial_.erase(it);
  return deliver(std::move(message));
}

// Keeps every stored index <= the last one, so "complete" is just a count.
core::Status CellReader::add_fragment(Partial& partial, const Fragment& fragment) {
  if (partial.fragments.contains(fragment.index)) {
    return core::make_error(Errc::kMalformed, "duplicate cell fragment");
  }
  if (partial.last && (fragment.last || fragment.index > *partial.last)) {
    return core::make_error(Errc::kMalformed, "cell fragment after the last one");
  }
  if (fragment.last && !partial.fragments.empty() && partial.fragments.rbegin()->first > fragment.index) {
    return core::make_error(Errc::kMalformed, "last cell fragment before others");
  }
  if (partial.bytes + fragment.data.size() > kMaxTunnelMessage) {
    return core::make_error(Errc::kTooLarge, "reassembling a tunnel message over 61440 bytes");
  }
  partial.fragments.emplace(fragment.index, core::Bytes(fragment.data.begin(), fragment.data.end()));
  partial.bytes += fragment.data.size();
  if (fragment.last) partial.last = fragment.index;
  return core::ok_status();
}

// At most kMaxMessagesInReassembly partial messages: the oldest makes room (counted as expired).
std::map<std::uint32_t, CellReader::Partial>::iterator CellReader::start_partial(std::uint32_t message_id,
                                                                                core::TimePoint now) {
  if (partial_.size() >= kMaxMessagesInReassembly) {
    const auto by_start = [](const auto& a, const auto& b) { return a.second.started < b.second.started; };
    partial_.erase(std::min_element(partial_.begin(), partial_.end(), by_start));
    ++counters_.expired_messages;
  }
  return partial_.emplace(message_id, Partial{.started = now}).first;
}

// The writer never sends an empty message; one that reassembles to nothing is refused.
CellReader::ReadResult CellReader::deliver(core::Bytes message) {
  if (message.empty()) {
    ++counters_.malformed;
    return core::make_error(Errc::kMalformed, "empty tunnel message");
  }
  ++counters_.messages;
  return std::optional<core::Bytes>(std::move(message));
}

// A message not complete kReassemblyTimeout after its first fragment is dropped.
void CellReader::expire(core::TimePoint now) {
  counters_.expired_messages += std::erase_if(
      partial_, [now](const auto& entry) { return now - entry.second.started >= kReassemblyTimeout; });
}

}  // namespace hop::tunnels
