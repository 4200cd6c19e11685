#include "hop/netdb/messages.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "hop/netdb/lease_set.h"

namespace hop::netdb {
namespace {

core::RouterHash hash_of(std::uint8_t b) {
  core::RouterHash h;
  h.bytes.fill(b);
  return h;
}

TEST(NetDbMessages, RoundTripEachKind) {
  const auto store = encode_netdb_message(StoreMsg{hash_of(1), {1, 2, 3}, true});
  EXPECT_EQ(store[0], kNetDbService);
  auto s = decode_netdb_message(store);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(std::get<StoreMsg>(*s).key, hash_of(1));
  EXPECT_EQ(std::get<StoreMsg>(*s).record, core::Bytes({1, 2, 3}));
  EXPECT_TRUE(std::get<StoreMsg>(*s).flood);

  auto l = decode_netdb_message(encode_netdb_message(LookupMsg{hash_of(2), 77, true, {hash_of(3), hash_of(4)}}));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(std::get<LookupMsg>(*l).lookup_id, 77u);
  EXPECT_TRUE(std::get<LookupMsg>(*l).exploratory);
  EXPECT_EQ(std::get<LookupMsg>(*l).exclude.size(), 2u);

  auto r = decode_netdb_message(encode_netdb_message(SearchReplyMsg{9, hash_of(5), {7}, {{8}, {9, 9}}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<SearchReplyMsg>(*r).lookup_id, 9u);
  EXPECT_EQ(std::get<SearchReplyMsg>(*r).found, core::Bytes({7}));
  EXPECT_EQ(std::get<SearchReplyMsg>(*r).closer.size(), 2u);
}

TEST(NetDbMessages, RefusesGarbageWrongServiceAndOversize) {
  EXPECT_FALSE(decode_netdb_message({}).ok());
  core::Bytes wrong_service = encode_netdb_message(StoreMsg{hash_of(1), {}, false});
  wrong_service[0] = 2;
  EXPECT_FALSE(decode_netdb_message(wrong_service).ok());
  core::Bytes garbage = {kNetDbService, 0xff, 0xff, 0xff};
  EXPECT_FALSE(decode_netdb_message(garbage).ok());
  core::Bytes empty_body = {kNetDbService};
  EXPECT_FALSE(decode_netdb_message(empty_body).ok());
  core::Bytes huge(kMaxNetDbMessage + 1, 0);
  huge[0] = kNetDbService;
  EXPECT_FALSE(decode_netdb_message(huge).ok());
}

TEST(NetDbMessages, RefusesBadKeySizesAndTooManyEntries) {
  // A lookup whose key is 3 bytes: build it by hand (field 2 = lookup, field 1 = key).
  core::Bytes short_key = {kNetDbService, 0x12, 0x05, 0x0a, 0x03, 1, 2, 3};
  EXPECT_FALSE(decode_netdb_message(short_key).ok());
  SearchReplyMsg big{1, hash_of(1), {}, {}};
  big.closer.assign(kMaxCloserRecords, core::Bytes{1});
  auto encoded = encode_netdb_message(big);
  EXPECT_TRUE(decode_netdb_message(encoded).ok());
}

TEST(NetDbMessages, TheRecordKindRoundTripsAndDefaultsToRouterInfo) {
  for (auto kind : {RecordKind::kRouterInfo, RecordKind::kLeaseSet}) {
    auto s = decode_netdb_message(encode_netdb_message(StoreMsg{hash_of(1), {1}, true, kind}));
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(std::get<StoreMsg>(*s).kind, kind);
    auto l = decode_netdb_message(encode_netdb_message(LookupMsg{hash_of(2), 3, false, {}, kind}));
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(std::get<LookupMsg>(*l).kind, kind);
    auto r = decode_netdb_message(encode_netdb_message(SearchReplyMsg{4, hash_of(5), {6}, {}, kind}));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(std::get<SearchReplyMsg>(*r).kind, kind);
  }
  // A message without the field (from before it existed) is about a RouterInfo.
  core::Bytes old_lookup = {kNetDbService, 0x12, 0x24, 0x0a, 0x20};
  old_lookup.resize(old_lookup.size() + 32, 0xab);
  old_lookup.insert(old_lookup.end(), {0x10, 0x07});
  auto l = decode_netdb_message(old_lookup);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(std::get<LookupMsg>(*l).kind, RecordKind::kRouterInfo);
  EXPECT_EQ(std::get<LookupMsg>(*l).lookup_id, 7u);
}

TEST(NetDbMessages, RefusesAnUnknownRecordKindAndAnExploratoryLeaseSetLookup) {
  // Protobuf writes fields in number order, so `kind` (field 5, tag 0x28) is the last byte pair.
  for (auto block : {encode_netdb_message(StoreMsg{hash_of(1), {1}, true, RecordKind::kLeaseSet}),
                     encode_netdb_message(LookupMsg{hash_of(2), 3, false, {}, RecordKind::kLeaseSet}),
                     encode_netdb_message(SearchReplyMsg{4, hash_of(5), {6}, {}, RecordKind::kLeaseSet})}) {
    ASSERT_EQ(block[block.size() - 2], 0x28);
    ASSERT_EQ(block.back(), 0x01);
    ASSERT_TRUE(decode_netdb_message(block).ok());
    block.back() = 0x02;
    EXPECT_FALSE(decode_netdb_message(block).ok());
  }
  EXPECT_FALSE(decode_netdb_message(encode_netdb_message(LookupMsg{hash_of(2), 3, true, {}, RecordKind::kLeaseSet})).ok());
}

TEST(NetDbMessages, ADestinationHashIsItsOwnDhtKey) {
  const auto d = Destination::generate().hash();
  EXPECT_EQ(dht_key(d).bytes, d.bytes);
  EXPECT_EQ(destination_of(dht_key(d)), d);
}

TEST(NetDbMessages, TheLeaseSetFuzzSeedsDecodeToLeaseSetMessages) {
  const std::filesystem::path dir = std::filesystem::path(HOP_SOURCE_DIR) / "tests/fuzz/seeds/netdb_message_decoder";
  const core::WallTime seeds_signed_at(std::chrono::milliseconds(1'800'000'000'000));
  for (const char* name : {"store_lease_set.bin", "lookup_lease_set.bin", "search_reply_lease_set.bin"}) {
    std::ifstream f(dir / name, std::ios::binary);
    ASSERT_TRUE(f) << name;
    auto msg = decode_netdb_message(core::Bytes((std::istreambuf_iterator<char>(f)), {}));
    ASSERT_TRUE(msg.ok()) << name << ": " << msg.error().message();
    std::visit([&](const auto& m) { EXPECT_EQ(m.kind, RecordKind::kLeaseSet) << name; }, *msg);
    // The record is lease_set_decoder/three_leases, filed under its own destination hash.
    auto check = [&](const core::Bytes& record, const core::RouterHash& key) {
      auto verified = verify_lease_set(record, {.now = seeds_signed_at, .expected_hash = destination_of(key)});
      EXPECT_TRUE(verified.ok()) << name << ": " << verified.error().message();
    };
    if (const auto* s = std::get_if<StoreMsg>(&*msg)) check(s->record, s->key);
    if (const auto* r = std::get_if<SearchReplyMsg>(&*msg)) check(r->found, r->key);
  }
}

}  // namespace
}  // namespace hop::netdb
