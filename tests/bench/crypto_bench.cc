// Raw ChaCha20-Poly1305 (the ceiling), frame seal+open, and full link handshakes, in memory.
#include <benchmark/benchmark.h>

#include "hop/core/crypto.h"
#include "hop/core/identity.h"
#include "hop/transport/frame.h"
#include "hop/transport/handshake.h"

namespace hop::transport {
namespace {

namespace crypto = core::crypto;

crypto::Key32 random_key() {
  crypto::Key32 k;
  crypto::random_bytes(k);
  return k;
}

// The ceiling: one ChaCha20-Poly1305 seal per buffer, in place, on one core.
void BM_RawAeadSeal(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const auto key = random_key();
  core::Bytes buf(size + crypto::kTagSize, 0x5a);
  std::uint64_t nonce = 0;
  for (auto _ : state) {
    crypto::aead_seal(key, nonce++, {}, core::ByteView(buf.data(), size), buf);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}
BENCHMARK(BM_RawAeadSeal)->Arg(1024)->Arg(16 * 1024)->Arg(65000);

// What a link does per byte: build a frame from one block, seal it, open it, parse its block.
class CountingSink final : public BlockSink {
 public:
  core::Status on_block(BlockType, core::ByteView body) override {
    bytes += body.size();
    return {};
  }
  std::size_t bytes = 0;
};

void BM_FrameSealOpen(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const auto key = random_key();
  FrameWriter writer{CipherState(key)};
  FrameReader reader{CipherState(key)};
  CountingSink sink;
  const core::Bytes body(size, 0x42);
  core::Bytes wire;
  for (auto _ : state) {
    (void)writer.add_block(BlockType::kCell, body);
    (void)writer.flush();
    writer.take_sealed(wire);
    auto used = reader.consume(wire, sink);
    benchmark::DoNotOptimize(used);
  }
  if (sink.bytes != state.iterations() * size) state.SkipWithError("frames lost");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}
BENCHMARK(BM_FrameSealOpen)->Arg(1024)->Arg(16 * 1024);

// A complete Noise XK handshake with identity exchange: both sides' work, in one thread.
void BM_Handshake(benchmark::State& state) {
  const auto a = core::Identity::generate();
  const auto b = core::Identity::generate();
  for (auto _ : state) {
    auto init = LinkHandshake::initiator(a, 1, b.static_keypair().public_key, b.hash());
    auto resp = LinkHandshake::responder(b, 1);
    core::Bytes m1, m2, m3;
    (void)init.start(m1);
    (void)resp.consume(m1, m2);
    (void)init.consume(m2, m3);
    (void)resp.consume(m3, m1);
    if (!init.is_complete() || !resp.is_complete()) state.SkipWithError("handshake failed");
    auto keys = init.finish();
    benchmark::DoNotOptimize(keys);
  }
  state.counters["handshakes/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Handshake);

}  // namespace
}  // namespace hop::transport
