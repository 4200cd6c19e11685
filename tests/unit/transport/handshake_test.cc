#include "hop/transport/handshake.h"

#include <gtest/gtest.h>

#include "hop/transport/constants.h"
#include "hop/transport/errors.h"

namespace hop::transport {
namespace {

struct Pair {
  core::Identity init_id = core::Identity::generate();
  core::Identity resp_id = core::Identity::generate();
};

// Runs a handshake feeding bytes `chunk` at a time; returns the first error, if any.
core::Status run(LinkHandshake& init, LinkHandshake& resp, std::size_t chunk = 1 << 20) {
  core::Bytes to_resp, to_init;
  if (auto st = init.start(to_resp); !st) return st;
  for (int round = 0; round < 10 && !(init.is_complete() && resp.is_complete()); ++round) {
    for (auto [from_buf, to, out] : {std::tuple{&to_resp, &resp, &to_init}, std::tuple{&to_init, &init, &to_resp}}) {
      core::Bytes pending;
      while (!from_buf->empty()) {
        const std::size_t n = std::min(chunk, from_buf->size());
        pending.insert(pending.end(), from_buf->begin(), from_buf->begin() + static_cast<std::ptrdiff_t>(n));
        from_buf->erase(from_buf->begin(), from_buf->begin() + static_cast<std::ptrdiff_t>(n));
        auto used = to->consume(pending, *out);
        if (!used) return used.error();
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(*used));
      }
    }
  }
  return {};
}

TEST(LinkHandshake, CompletesAndBothLearnEachOther) {
  Pair p;
  auto init = LinkHandshake::initiator(p.init_id, 1, p.resp_id.static_keypair().public_key, p.resp_id.hash());
  auto resp = LinkHandshake::responder(p.resp_id, 1);
  ASSERT_TRUE(run(init, resp).ok());
  auto a = init.finish();
  auto b = resp.finish();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->peer_hash, p.resp_id.hash());
  EXPECT_EQ(b->peer_hash, p.init_id.hash());
  core::Bytes ct = a->keys.send.encrypt_with_ad({}, core::as_bytes("ping"));
  auto pt = b->keys.receive.decrypt_with_ad({}, ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(std::string(pt->begin(), pt->end()), "ping");
  ct = b->keys.send.encrypt_with_ad({}, core::as_bytes("pong"));
  EXPECT_TRUE(a->keys.receive.decrypt_with_ad({}, ct).ok());
}

TEST(LinkHandshake, CompletesWhenFedOneByteAtATime) {
  Pair p;
  auto init = LinkHandshake::initiator(p.init_id, 1, p.resp_id.static_keypair().public_key);
  auto resp = LinkHandshake::responder(p.resp_id, 1);
  ASSERT_TRUE(run(init, resp, 1).ok());
  EXPECT_TRUE(init.is_complete());
  EXPECT_TRUE(resp.is_complete());
}

TEST(LinkHandshake, NetworkIdMismatchFailsAtTheResponder) {
  Pair p;
  auto init = LinkHandshake::initiator(p.init_id, 1, p.resp_id.static_keypair().public_key);
  auto resp = LinkHandshake::responder(p.resp_id, 2);
  auto st = run(init, resp);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::kHandshakeFailed);
  EXPECT_FALSE(resp.is_complete());
}

TEST(LinkHandshake, WrongStaticKeyFailsAtTheResponder) {
  Pair p;
  auto init = LinkHandshake::initiator(p.init_id, 1, core::Identity::generate().static_keypair().public_key);
  auto resp = LinkHandshake::responder(p.resp_id, 1);
  EXPECT_EQ(run(init, resp).error().code, Errc::kHandshakeFailed);
}

TEST(LinkHandshake, UnexpectedPeerIsRefusedByTheInitiator) {
  Pair p;
  auto init = LinkHandshake::initiator(p.init_id, 1, p.resp_id.static_keypair().public_key,
                                       core::Identity::generate().hash());
  auto resp = LinkHandshake::responder(p.resp_id, 1);
  EXPECT_EQ(run(init, resp).error().code, Errc::kUnexpectedPeer);
}

TEST(LinkHandshake, WrongLengthFailsAfterTwoBytesAndShortInputWaits) {
  Pair p;
  auto resp = LinkHandshake::responder(p.resp_id, 1);
  core::Bytes out;
  const core::Bytes huge = {0xff, 0xff};
  auto used = resp.consume(huge, out);
  ASSERT_FALSE(used.ok());
  EXPECT_EQ(used.error().code, Errc::kBadLength);

  auto resp2 = LinkHandshake::responder(p.resp_id, 1);
  const core::Bytes partial = {0x00, kHandshake1Size, 1, 2, 3};
  auto waiting = resp2.consume(partial, out);
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(*waiting, 0u);
  EXPECT_TRUE(out.empty());
}

TEST(LinkHandshake, GarbageOfTheRightLengthFailsCleanly) {
  Pair p;
  auto resp = LinkHandshake::responder(p.resp_id, 1);
  core::Bytes msg = {0x00, kHandshake1Size};
  msg.resize(2 + kHandshake1Size, 0x5a);
  core::Bytes out;
  EXPECT_FALSE(resp.consume(msg, out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(LinkHandshake, MessageSizesAreTheDocumentedOnes) {
  Pair p;
  auto init = LinkHandshake::initiator(p.init_id, 1, p.resp_id.static_keypair().public_key);
  auto resp = LinkHandshake::responder(p.resp_id, 1);
  core::Bytes m1, m2, m3;
  ASSERT_TRUE(init.start(m1).ok());
  ASSERT_TRUE(resp.consume(m1, m2).ok());
  ASSERT_TRUE(init.consume(m2, m3).ok());
  EXPECT_EQ(m1.size(), 2 + kHandshake1Size);
  EXPECT_EQ(m2.size(), 2 + kHandshake2Size);
  EXPECT_EQ(m3.size(), 2 + kHandshake3Size);
  EXPECT_EQ(kHandshake1Size, 48u);
  EXPECT_EQ(kHandshake2Size, 144u);
  EXPECT_EQ(kHandshake3Size, 160u);
}

}  // namespace
}  // namespace hop::transport
