#include "hop/tunnels/stream_packet.h"

#include <gtest/gtest.h>

#include "hop/core/encoding.h"
#include "hop/tunnels/errors.h"

namespace hop::tunnels {
namespace {

StreamPacket full_packet() {
  StreamPacket p;
  p.stream_id = 0x01020304;
  p.flags = kStreamAck | kStreamFin | kStreamAckNow;
  p.seq = 0x1122334455;
  p.ack = 1000;
  p.window = 4 * 1024 * 1024;
  p.timestamp = 77;
  p.timestamp_echo = 66;
  for (std::uint64_t i = 0; i < kMaxSackRanges; ++i) p.sacks.push_back({2000 + 100 * i, 2050 + 100 * i});
  p.payload.assign(kDefaultStreamPayload, 0xab);
  return p;
}

StreamPacket syn_packet() {
  StreamPacket p;
  p.stream_id = 9;
  p.flags = kStreamSyn;
  p.window = 65536;
  p.timestamp = 1;
  p.payload = {1, 2, 3};
  return p;
}

core::Bytes encoded(const StreamPacket& p) {
  auto bytes = encode_stream_packet(p);
  EXPECT_TRUE(bytes.ok()) << bytes.error().message();
  return bytes.ok() ? *bytes : core::Bytes{};
}

void expect_malformed(const core::Bytes& bytes, Errc errc = Errc::kMalformed) {
  auto got = decode_stream_packet(bytes);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, make_error_code(errc)) << got.error().message();
}

// Encodes `p` bypassing validation's opinion: the layout of docs/streams.md, written by hand.
core::Bytes raw(const StreamPacket& p) {
  core::Bytes out(kStreamHeaderSize);
  out[0] = kStreamVersion;
  out[1] = p.flags;
  core::put_u32(&out[2], p.stream_id);
  core::put_u64(&out[6], p.seq);
  core::put_u64(&out[14], p.ack);
  core::put_u32(&out[22], p.window);
  core::put_u32(&out[26], p.timestamp);
  core::put_u32(&out[30], p.timestamp_echo);
  out[34] = static_cast<std::uint8_t>(p.sacks.size());
  core::put_u16(&out[35], static_cast<std::uint16_t>(p.payload.size()));
  for (const SackRange& r : p.sacks) {
    std::uint8_t b[16];
    core::put_u64(b, r.begin);
    core::put_u64(b + 8, r.end);
    out.insert(out.end(), b, b + 16);
  }
  core::append(out, p.payload);
  return out;
}

TEST(StreamPacket, RoundTripsEveryField) {
  const StreamPacket p = full_packet();
  const core::Bytes bytes = encoded(p);
  EXPECT_EQ(bytes.size(), kMaxStreamHeader + kDefaultStreamPayload);
  auto back = decode_stream_packet(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, p);
}

TEST(StreamPacket, RoundTripsASynWithData) {
  auto back = decode_stream_packet(encoded(syn_packet()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, syn_packet());
}

TEST(StreamPacket, MatchesTheDocumentedLayout) {
  StreamPacket p;
  p.stream_id = 5;
  p.flags = kStreamAck;
  p.seq = 1;
  p.ack = 2;
  p.window = 3;
  p.timestamp = 4;
  p.timestamp_echo = 6;
  p.sacks = {{7, 8}};
  p.payload = {0xee};
  EXPECT_EQ(core::to_hex(encoded(p)),
            "0102" "00000005" "0000000000000001" "0000000000000002" "00000003" "00000004" "00000006"
            "01" "0001" "0000000000000007" "0000000000000008" "ee");
  EXPECT_EQ(encoded(p), raw(p));
}

TEST(StreamPacket, DefaultPacketFillsFourCells) {
  EXPECT_LE(kMaxStreamHeader + kDefaultStreamPayload + kStreamEnvelopeReserve, 4 * kMaxFragmentData);
  EXPECT_GT(kMaxStreamHeader + kDefaultStreamPayload + kStreamEnvelopeReserve, 3 * kMaxFragmentData);
}

TEST(StreamPacket, RefusesShortLongAndUnknownVersion) {
  const core::Bytes good = encoded(syn_packet());
  expect_malformed(core::Bytes(good.begin(), good.begin() + kStreamHeaderSize - 1));
  expect_malformed({});
  expect_malformed(core::Bytes(kMaxStreamPacket + 1, 0), Errc::kTooLarge);
  core::Bytes bad = good;
  bad[0] = 2;
  expect_malformed(bad);
}

TEST(StreamPacket, RefusesLengthsThatDoNotAddUp) {
  core::Bytes longer = encoded(syn_packet());
  longer.push_back(0);
  expect_malformed(longer);
  core::Bytes shorter = encoded(syn_packet());
  shorter.pop_back();
  expect_malformed(shorter);
  StreamPacket p = full_packet();
  core::Bytes one_sack_less = raw(p);
  one_sack_less[34] = kMaxSackRanges - 1;
  expect_malformed(one_sack_less);
  core::Bytes too_many = raw(p);
  too_many[34] = kMaxSackRanges + 1;
  expect_malformed(too_many);
}

TEST(StreamPacket, RefusesBadFlagCombinations) {
  for (std::uint8_t flags : {std::uint8_t{0x20}, std::uint8_t{0x80}, std::uint8_t(kStreamRst | kStreamSyn),
                             std::uint8_t(kStreamRst | kStreamFin), std::uint8_t(kStreamRst | kStreamAckNow)}) {
    StreamPacket p = syn_packet();
    p.payload.clear();
    p.flags = flags;
    expect_malformed(raw(p));
    EXPECT_FALSE(encode_stream_packet(p).ok());
  }
  StreamPacket rst_with_data = syn_packet();
  rst_with_data.flags = kStreamRst;
  expect_malformed(raw(rst_with_data));
  StreamPacket rst;
  rst.flags = kStreamRst | kStreamAck;
  rst.timestamp = 1;
  EXPECT_TRUE(decode_stream_packet(raw(rst)).ok());
}

TEST(StreamPacket, RefusesAckFieldsWithoutAck) {
  StreamPacket p = syn_packet();
  p.ack = 1;
  expect_malformed(raw(p));
  p = syn_packet();
  p.timestamp_echo = 1;
  expect_malformed(raw(p));
  p = syn_packet();
  p.sacks = {{10, 20}};
  expect_malformed(raw(p));
}

TEST(StreamPacket, RefusesSackRangesOutOfOrderOverlappingOrEmpty) {
  const std::vector<std::vector<SackRange>> bad = {
      {{3000, 3100}, {2000, 2100}},  // out of order
      {{2000, 2100}, {2050, 2200}},  // overlapping
      {{2000, 2100}, {2100, 2200}},  // touching: one range
      {{1000, 1100}},                // at the ack
      {{500, 600}},                  // below the ack
      {{2000, 2000}},                // empty
      {{2000, 1900}},                // reversed
      {{2000, kMaxStreamOffset + 1}},
  };
  for (const auto& sacks : bad) {
    StreamPacket p = full_packet();
    p.sacks = sacks;
    expect_malformed(raw(p));
    EXPECT_FALSE(encode_stream_packet(p).ok());
  }
}

TEST(StreamPacket, RefusesOffsetsPastTheLimitAndZeroTimestamp) {
  StreamPacket p = syn_packet();
  p.seq = kMaxStreamOffset - 2;  // + 3 payload bytes + 1 passes the limit
  expect_malformed(raw(p));
  p = full_packet();
  p.ack = kMaxStreamOffset + 1;
  p.sacks.clear();
  expect_malformed(raw(p));
  p = syn_packet();
  p.seq = ~std::uint64_t{0};
  expect_malformed(raw(p));
  p = syn_packet();
  p.timestamp = 0;
  expect_malformed(raw(p));
}

TEST(StreamPacket, EncodeRefusesOversizePayload) {
  StreamPacket p = syn_packet();
  p.payload.assign(kMaxStreamPayload + 1, 0);
  auto bytes = encode_stream_packet(p);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().code, make_error_code(Errc::kTooLarge));
  p.payload.resize(kMaxStreamPayload);
  auto largest = encode_stream_packet(p);
  ASSERT_TRUE(largest.ok());
  EXPECT_LE(largest->size(), kMaxStreamPacket);
}

}  // namespace
}  // namespace hop::tunnels
