// Tunnel cells: what a transit hop does per cell (the hot path) against the raw ChaCha20 it is
// built on, what an owner does to send a cell through 3 hops, and what the endpoint does to open
// one. Figures only; never assertions.
#include <benchmark/benchmark.h>

#include "hop/core/crypto.h"
#include "hop/tunnels/cell.h"

namespace hop::tunnels {
namespace {

namespace crypto = core::crypto;

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

void set_counters(benchmark::State& state, std::size_t bytes_per_item) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes_per_item));
}

// A transit hop: one layer and the next hop's tunnel id, in place.
void BM_HopForward(benchmark::State& state) {
  const HopLayer layer = random_hops(1).front();
  Cell cell;
  crypto::random_bytes(cell);
  TunnelId next_id = 1;
  for (auto _ : state) {
    apply_hop_layer(cell, layer);
    set_cell_tunnel_id(cell, next_id++);
    benchmark::DoNotOptimize(cell.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, kCellSize);
}
BENCHMARK(BM_HopForward);

// The ceiling for BM_HopForward: the body's ChaCha20 alone, no nonce permutation.
void BM_RawChaCha20_1008(benchmark::State& state) {
  const auto key = random_key();
  crypto::Nonce12 nonce{};
  std::array<std::uint8_t, kCellBodySize> body{};
  for (auto _ : state) {
    crypto::chacha20_xor(key, nonce, body);
    benchmark::DoNotOptimize(body.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, kCellBodySize);
}
BENCHMARK(BM_RawChaCha20_1008);

// The same over 1024 bytes: libsodium's 8-block path takes whole 512-byte stretches only, which
// is why core::crypto::chacha20_xor pads a long tail.
void BM_RawChaCha20_1024(benchmark::State& state) {
  const auto key = random_key();
  crypto::Nonce12 nonce{};
  std::array<std::uint8_t, 1024> buffer{};
  for (auto _ : state) {
    crypto::chacha20_xor(key, nonce, buffer);
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, buffer.size());
}
BENCHMARK(BM_RawChaCha20_1024);

// F alone: the part of BM_HopForward that BM_RawChaCha20_1008 lacks.
void BM_PermuteNonce(benchmark::State& state) {
  const auto key = random_key();
  CellNonce nonce{};
  for (auto _ : state) {
    nonce = permute_nonce(key, nonce);
    benchmark::DoNotOptimize(nonce);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PermuteNonce);

// An outbound owner sending one full cell through 3 hops: fragment, seal, 3 layers.
void BM_OutboundSeal3Hops(benchmark::State& state) {
  const auto hops = random_hops(3);
  CellWriter writer(random_key());
  const core::Bytes message(kMaxFragmentData, 0x42);
  for (auto _ : state) {
    auto cells = writer.write(message, 7);
    add_outbound_layers(cells->front(), hops);
    benchmark::DoNotOptimize(cells->front().data());
  }
  set_counters(state, kMaxFragmentData);
}
BENCHMARK(BM_OutboundSeal3Hops);

// An inbound owner taking 3 layers off one cell (before its reader opens it).
void BM_InboundUnwrap3Hops(benchmark::State& state) {
  const auto hops = random_hops(3);
  Cell cell;
  crypto::random_bytes(cell);
  for (auto _ : state) {
    remove_inbound_layers(cell, hops);
    benchmark::DoNotOptimize(cell.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, kCellSize);
}
BENCHMARK(BM_InboundUnwrap3Hops);

// The endpoint's reader on one-cell messages of 979 bytes: window, tag, parse, copy out. Cells
// are sealed up front; a fresh reader takes each pass over them, as seqs cannot repeat.
void BM_EndpointOpen(benchmark::State& state) {
  constexpr std::size_t kBatch = 8192;
  const auto key = random_key();
  CellWriter writer(key);
  const core::Bytes message(kMaxFragmentData, 0x42);
  std::vector<Cell> cells;
  cells.reserve(kBatch);
  for (std::size_t i = 0; i < kBatch; ++i) cells.push_back(writer.write(message, 7)->front());
  auto reader = std::make_unique<CellReader>(key);
  std::size_t next = 0;
  for (auto _ : state) {
    if (next == kBatch) {
      reader = std::make_unique<CellReader>(key);
      next = 0;
    }
    auto got = reader->read(cells[next++], core::TimePoint{});
    benchmark::DoNotOptimize(got);
  }
  if (reader->counters().messages != next) state.SkipWithError("cells refused");
  set_counters(state, kMaxFragmentData);
}
BENCHMARK(BM_EndpointOpen);

}  // namespace
}  // namespace hop::tunnels
