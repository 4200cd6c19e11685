#include "hop/transport/frame.h"

#include <gtest/gtest.h>

#include <random>

#include "hop/transport/errors.h"

namespace hop::transport {
namespace {

struct Collect final : BlockSink {
  core::Status on_block(BlockType type, core::ByteView body) override {
    blocks.emplace_back(type, core::Bytes(body.begin(), body.end()));
    return {};
  }
  std::vector<std::pair<BlockType, core::Bytes>> blocks;
};

core::crypto::Key32 key_of(std::uint8_t b) {
  core::crypto::Key32 k;
  k.fill(b);
  return k;
}

// Seals `blocks` and returns the wire bytes.
core::Bytes seal(FrameWriter& w, const std::vector<std::pair<BlockType, core::Bytes>>& blocks) {
  for (const auto& [t, b] : blocks) EXPECT_TRUE(w.add_block(t, b).ok());
  EXPECT_TRUE(w.flush().ok());
  core::Bytes out;
  w.take_sealed(out);
  return out;
}

std::vector<std::pair<BlockType, core::Bytes>> sample_blocks() {
  std::mt19937 rng(4);
  std::vector<std::pair<BlockType, core::Bytes>> blocks;
  for (int i = 0; i < 40; ++i) {
    core::Bytes b(rng() % (i % 7 == 0 ? 30000 : 300));
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    blocks.emplace_back(i % 2 ? BlockType::kCell : BlockType::kMessage, std::move(b));
  }
  return blocks;
}

TEST(Frames, RoundTripManyBlocksAcrossFrames) {
  FrameWriter w{CipherState(key_of(1))};
  FrameReader r{CipherState(key_of(1))};
  const auto blocks = sample_blocks();
  core::Bytes wire = seal(w, blocks);
  EXPECT_GT(w.frames_sealed(), 1u) << "blocks that do not fit open new frames";
  Collect sink;
  auto used = r.consume(wire, sink);
  ASSERT_TRUE(used.ok()) << used.error().message();
  EXPECT_EQ(*used, wire.size());
  EXPECT_EQ(sink.blocks, blocks);
}

TEST(Frames, ArbitraryChunkingDecodesTheSame) {
  FrameWriter w{CipherState(key_of(2))};
  const auto blocks = sample_blocks();
  const core::Bytes wire = seal(w, blocks);
  for (std::size_t chunk : {1u, 7u, 1000u, 70000u}) {
    FrameReader r{CipherState(key_of(2))};
    Collect sink;
    core::Bytes pending;
    for (std::size_t pos = 0; pos < wire.size(); pos += chunk) {
      pending.insert(pending.end(), wire.begin() + static_cast<std::ptrdiff_t>(pos),
                     wire.begin() + static_cast<std::ptrdiff_t>(std::min(wire.size(), pos + chunk)));
      auto used = r.consume(pending, sink);
      ASSERT_TRUE(used.ok());
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(*used));
    }
    EXPECT_TRUE(pending.empty());
    EXPECT_EQ(sink.blocks, blocks) << "chunk " << chunk;
  }
}

TEST(Frames, TamperedReplayedAndReorderedFramesFail) {
  FrameWriter w{CipherState(key_of(3))};
  const core::Bytes f1 = seal(w, {{BlockType::kMessage, core::Bytes{1}}});
  const core::Bytes f2 = seal(w, {{BlockType::kMessage, core::Bytes{2}}});
  Collect sink;
  {
    FrameReader r{CipherState(key_of(3))};
    core::Bytes bad = f1;
    bad[4] ^= 1;
    auto used = r.consume(bad, sink);
    ASSERT_FALSE(used.ok());
    EXPECT_EQ(used.error().code, Errc::kDecryptFailed);
  }
  {
    FrameReader r{CipherState(key_of(3))};
    core::Bytes copy = f1;
    ASSERT_TRUE(r.consume(copy, sink).ok());
    copy = f1;
    EXPECT_FALSE(r.consume(copy, sink).ok()) << "replay";
  }
  {
    FrameReader r{CipherState(key_of(3))};
    core::Bytes copy = f2;
    EXPECT_FALSE(r.consume(copy, sink).ok()) << "out of order";
  }
}

TEST(Frames, LengthPrefixesOutOfRangeFailBeforeTheBody) {
  Collect sink;
  FrameReader r{CipherState(key_of(4))};
  core::Bytes too_short = {0x00, 0x0f};
  EXPECT_EQ(r.consume(too_short, sink).error().code, Errc::kBadLength);
  FrameReader small{CipherState(key_of(4)), 1024};
  core::Bytes only_prefix = {0x04, 0x01};  // 1025, and nothing after it
  EXPECT_EQ(small.consume(only_prefix, sink).error().code, Errc::kBadLength);
  FrameReader waits{CipherState(key_of(4))};
  core::Bytes partial = {0x01, 0x00, 0xaa};  // 256 announced, 1 there: wait, no error
  auto used = waits.consume(partial, sink);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, 0u);
}

TEST(Frames, OversizedBlockIsRefused) {
  FrameWriter w{CipherState(key_of(5))};
  EXPECT_FALSE(w.add_block(BlockType::kCell, core::Bytes(kMaxBlockBody + 1)).ok());
  EXPECT_TRUE(w.add_block(BlockType::kCell, core::Bytes(kMaxBlockBody)).ok());
}

TEST(Frames, BothSidesRekeyInStep) {
  FrameWriter w{CipherState(key_of(6))};
  FrameReader r{CipherState(key_of(6))};
  Collect sink;
  core::Bytes wire;
  for (std::uint64_t i = 0; i < kRekeyIntervalFrames + 10; ++i) {
    ASSERT_TRUE(w.add_block(BlockType::kPadding, {}).ok());
    ASSERT_TRUE(w.flush().ok());
  }
  w.take_sealed(wire);
  auto used = r.consume(wire, sink);
  ASSERT_TRUE(used.ok()) << used.error().message();
  EXPECT_EQ(r.frames_opened(), kRekeyIntervalFrames + 10);
  // A reader that never rekeys would fail on the frame after the interval.
  FrameWriter w2{CipherState(key_of(6))};
  CipherState plain(key_of(6));
  for (std::uint64_t i = 0; i < kRekeyIntervalFrames; ++i) {
    ASSERT_TRUE(w2.add_block(BlockType::kPadding, {}).ok());
    ASSERT_TRUE(w2.flush().ok());
  }
  core::Bytes discard;
  w2.take_sealed(discard);
  ASSERT_TRUE(w2.add_block(BlockType::kPadding, {}).ok());
  ASSERT_TRUE(w2.flush().ok());
  core::Bytes after;
  w2.take_sealed(after);
  for (std::uint64_t i = 0; i < kRekeyIntervalFrames; ++i) (void)plain.encrypt_with_ad({}, {});
  core::Bytes body(after.begin() + 2, after.end());
  EXPECT_FALSE(plain.open({}, body).ok()) << "the old key no longer opens frames";
}

TEST(Blocks, TruncationIsAnErrorAndUnknownTypesPassThrough) {
  Collect sink;
  const core::Bytes truncated_header = {0x02, 0x00};
  EXPECT_FALSE(parse_blocks(truncated_header, sink).ok());
  const core::Bytes truncated_body = {0x02, 0x00, 0x05, 1, 2};
  EXPECT_FALSE(parse_blocks(truncated_body, sink).ok());
  const core::Bytes unknown = {0x77, 0x00, 0x01, 9};
  ASSERT_TRUE(parse_blocks(unknown, sink).ok());
  ASSERT_EQ(sink.blocks.size(), 1u);
  EXPECT_EQ(static_cast<int>(sink.blocks[0].first), 0x77);
}

}  // namespace
}  // namespace hop::transport
