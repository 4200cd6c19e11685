#include "hop/netdb/messages.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace hop::netdb
