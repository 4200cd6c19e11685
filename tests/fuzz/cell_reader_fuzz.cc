// CellReader::read on untrusted cells. The first byte picks the mode:
//   even: raw cells — the rest, cut into 1024-byte cells (the last one zero-padded), read with a
//         fixed key; exercises the replay window and the tag check.
//   odd:  sealed cells — the rest is records ctl (1) || n (1) || n bytes; each record's bytes are
//         the start of an inner (988, zero-padded), sealed as a writer would, so the fragment
//         parser and reassembly behind the tag get fuzzed too.
//         ctl bits 0-5: seq step (0 repeats a seq); bit 6: 3 s pass first; bit 7: spoil the tag.
// Invariants: never crash; a delivered message is 1..kMaxTunnelMessage bytes; every read is
// counted exactly once.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "hop/core/crypto.h"
#include "hop/tunnels/cell.h"

namespace {

using namespace hop;
using namespace std::chrono_literals;

constexpr std::size_t kBodyOffset = 4 + tunnels::kCellNonceSize;

core::crypto::Key32 fixed_key() {
  core::crypto::Key32 key{};
  key[0] = 0x42;
  return key;
}

// A reader and the invariants every read keeps.
struct Harness {
  tunnels::CellReader reader{fixed_key()};
  std::uint64_t reads = 0;
  std::uint64_t errors = 0;

  void read(const tunnels::Cell& cell, core::TimePoint now) {
    auto got = reader.read(cell, now);
    ++reads;
    if (!got.ok()) {
      ++errors;
    } else if (*got && ((*got)->empty() || (*got)->size() > tunnels::kMaxTunnelMessage)) {
      __builtin_trap();
    }
    const auto& c = reader.counters();
    if (c.cells != reads || c.integrity_failures + c.replays + c.malformed != errors) __builtin_trap();
  }
};

void fuzz_raw(const std::uint8_t* data, std::size_t size) {
  Harness harness;
  for (std::size_t offset = 0; offset < size; offset += tunnels::kCellSize) {
    tunnels::Cell cell{};
    std::copy_n(data + offset, std::min(tunnels::kCellSize, size - offset), cell.begin());
    harness.read(cell, core::TimePoint{});
  }
}

// As CellWriter lays a cell out: seq (u32) || ChaCha20-Poly1305(key, noise_nonce(seq), inner).
tunnels::Cell seal(std::uint32_t seq, const std::uint8_t* inner, std::size_t n) {
  tunnels::Cell cell{};
  core::put_u32(cell.data() + kBodyOffset, seq);
  std::uint8_t* sealed = cell.data() + kBodyOffset + 4;
  std::copy_n(inner, std::min(n, tunnels::kCellInnerSize), sealed);
  core::crypto::aead_seal(fixed_key(), seq, {}, core::ByteView(sealed, tunnels::kCellInnerSize),
                          core::MutableByteView(sealed, tunnels::kCellInnerSize + core::crypto::kTagSize));
  return cell;
}

void fuzz_sealed(const std::uint8_t* data, std::size_t size) {
  Harness harness;
  core::TimePoint now{};
  std::uint32_t seq = 0;
  std::size_t offset = 0;
  while (offset + 2 <= size) {
    const std::uint8_t ctl = data[offset];
    const std::size_t n = std::min<std::size_t>(data[offset + 1], size - offset - 2);
    seq += ctl & 0x3f;
    if (ctl & 0x40) now += 3s;
    tunnels::Cell cell = seal(seq, data + offset + 2, n);
    if (ctl & 0x80) cell[tunnels::kCellSize - 1] ^= 1;
    harness.read(cell, now);
    offset += 2 + n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    fuzz_raw(data + 1, size - 1);
  } else {
    fuzz_sealed(data + 1, size - 1);
  }
  return 0;
}
