// Noise_XK_25519_ChaChaPoly_BLAKE2b against the cacophony vectors in ../shared/vectors.
#include <gtest/gtest.h>

#include "hop/core/encoding.h"
#include "hop/transport/noise_xk.h"
#include "support/noise_vectors.h"

namespace hop::transport {
namespace {

using core::Bytes;
namespace crypto = core::crypto;

crypto::Key32 key(const std::string& hex) {
  auto raw = core::from_hex(hex);
  crypto::Key32 k{};
  std::copy(raw->begin(), raw->end(), k.begin());
  return k;
}

Bytes bytes(const std::string& hex) { return *core::from_hex(hex); }

hop::test::NoiseVector xk_vector() {
  for (auto& v : hop::test::load_noise_vectors()) {
    if (v.protocol_name == "Noise_XK_25519_ChaChaPoly_BLAKE2b") return v;
  }
  ADD_FAILURE() << "no XK vector in the file";
  return {};
}

TEST(NoiseXkVectors, ReproducesEveryMessageAndTheHandshakeHash) {
  const auto v = xk_vector();
  ASSERT_EQ(v.messages.size(), 6u);
  auto init = NoiseXk::initiator(crypto::X25519Keypair::from_secret(key(v.init_static)),
                                 crypto::X25519Keypair::from_secret(key(v.resp_static)).public_key,
                                 bytes(v.init_prologue));
  ASSERT_EQ(crypto::X25519Keypair::from_secret(key(v.resp_static)).public_key,
            key(v.init_remote_static));
  init.set_ephemeral(crypto::X25519Keypair::from_secret(key(v.init_ephemeral)));
  auto resp = NoiseXk::responder(crypto::X25519Keypair::from_secret(key(v.resp_static)),
                                 bytes(v.resp_prologue));
  resp.set_ephemeral(crypto::X25519Keypair::from_secret(key(v.resp_ephemeral)));

  // Handshake: messages 0 and 2 from the initiator, 1 from the responder.
  for (int i = 0; i < 3; ++i) {
    NoiseXk& writer = i % 2 == 0 ? init : resp;
    NoiseXk& reader = i % 2 == 0 ? resp : init;
    auto ct = writer.write_message(bytes(v.messages[i].first));
    ASSERT_TRUE(ct.ok()) << ct.error().message();
    EXPECT_EQ(core::to_hex(*ct), v.messages[i].second) << "message " << i;
    auto pt = reader.read_message(*ct);
    ASSERT_TRUE(pt.ok()) << pt.error().message();
    EXPECT_EQ(core::to_hex(*pt), v.messages[i].first);
  }
  ASSERT_TRUE(init.is_complete());
  ASSERT_TRUE(resp.is_complete());
  EXPECT_EQ(core::to_hex(init.handshake_hash()), v.handshake_hash);
  EXPECT_EQ(core::to_hex(resp.handshake_hash()), v.handshake_hash);
  ASSERT_EQ(resp.remote_static(), crypto::X25519Keypair::from_secret(key(v.init_static)).public_key);

  // Transport messages keep alternating: responder, initiator, responder.
  auto ik = init.split();
  auto rk = resp.split();
  ASSERT_TRUE(ik.ok() && rk.ok());
  for (int i = 3; i < 6; ++i) {
    CipherState& send = i % 2 == 0 ? ik->send : rk->send;
    CipherState& recv = i % 2 == 0 ? rk->receive : ik->receive;
    Bytes ct = send.encrypt_with_ad({}, bytes(v.messages[i].first));
    EXPECT_EQ(core::to_hex(ct), v.messages[i].second) << "message " << i;
    auto pt = recv.decrypt_with_ad({}, ct);
    ASSERT_TRUE(pt.ok());
    EXPECT_EQ(core::to_hex(*pt), v.messages[i].first);
  }
}

TEST(NoiseXk, WrongResponderKeyFailsAtTheResponder) {
  auto responder_keys = crypto::X25519Keypair::generate();
  auto other = crypto::X25519Keypair::generate();
  auto init = NoiseXk::initiator(crypto::X25519Keypair::generate(), other.public_key, {});
  auto resp = NoiseXk::responder(responder_keys, {});
  auto m1 = init.write_message({});
  ASSERT_TRUE(m1.ok());
  EXPECT_FALSE(resp.read_message(*m1).ok());
}

TEST(NoiseXk, DifferentProloguesNeverComplete) {
  auto responder_keys = crypto::X25519Keypair::generate();
  Bytes p1{1}, p2{2};
  auto init = NoiseXk::initiator(crypto::X25519Keypair::generate(), responder_keys.public_key, p1);
  auto resp = NoiseXk::responder(responder_keys, p2);
  auto m1 = init.write_message({});
  ASSERT_TRUE(m1.ok());
  EXPECT_FALSE(resp.read_message(*m1).ok());
}

TEST(NoiseXk, RefusesOutOfTurnCalls) {
  auto responder_keys = crypto::X25519Keypair::generate();
  auto init = NoiseXk::initiator(crypto::X25519Keypair::generate(), responder_keys.public_key, {});
  EXPECT_FALSE(init.read_message(Bytes(48)).ok());
  auto resp = NoiseXk::responder(responder_keys, {});
  EXPECT_FALSE(resp.write_message({}).ok());
  EXPECT_FALSE(resp.split().ok());
}

TEST(NoiseXk, TruncatedMessageFailsCleanly) {
  auto responder_keys = crypto::X25519Keypair::generate();
  auto init = NoiseXk::initiator(crypto::X25519Keypair::generate(), responder_keys.public_key, {});
  auto resp = NoiseXk::responder(responder_keys, {});
  auto m1 = init.write_message({});
  ASSERT_TRUE(m1.ok());
  m1->resize(20);
  EXPECT_FALSE(resp.read_message(*m1).ok());
  EXPECT_FALSE(resp.read_message(Bytes(48)).ok()) << "a failed state stays failed";
}

}  // namespace
}  // namespace hop::transport
