// Hopline's own known-answer vectors from docs/protocol.md ("Test vectors"): the handshake
// messages, the handshake hash, the first frames, a rekeyed frame and a key file. The values
// were reproduced by an independent implementation written from the document.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hop/core/encoding.h"
#include "hop/core/files.h"
#include "hop/transport/frame.h"
#include "hop/transport/handshake.h"
#include "hop/transport/link_control.h"

namespace hop::transport {
namespace {

namespace crypto = core::crypto;

crypto::Key32 counting_key(std::uint8_t start) {
  crypto::Key32 k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(start + i);
  return k;
}

struct Vectors : ::testing::Test {
  core::Identity initiator = core::Identity::from_secrets(counting_key(0x00), counting_key(0x20));
  core::Identity responder = core::Identity::from_secrets(counting_key(0x40), counting_key(0x60));
};

TEST_F(Vectors, IdentitiesAndPrologue) {
  EXPECT_EQ(core::to_hex(initiator.signing_keypair().public_key),
            "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  EXPECT_EQ(core::to_hex(initiator.static_keypair().public_key),
            "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254");
  EXPECT_EQ(core::to_hex(initiator.public_identity().certificate),
            "17c327c7c1a3dd14c46d773f7fc6dad154c91f2f474df8a28dac39a052b9b779"
            "0ce657f8375bbaccb8f4b11f38587a4d034ed816d38eea99271dbbbc057f4502");
  EXPECT_EQ(initiator.hash().to_string(), "ksh3uuhj77izyaa7mallfjc6cooo6au2d6rushy7cuahcs47vqma");
  EXPECT_EQ(responder.hash().to_string(), "znipvyvcfr7djyn3g5vpdend2sal2u762rqcraxca2mw6l2jq46a");
  EXPECT_EQ(core::to_hex(link_prologue(1)), "686f706c696e652f6c696e6b2f763100000001");
}

TEST_F(Vectors, HandshakeHashAndFirstFrames) {
  auto init = LinkHandshake::initiator(initiator, 1, responder.static_keypair().public_key, responder.hash());
  auto resp = LinkHandshake::responder(responder, 1);
  init.noise().set_ephemeral(crypto::X25519Keypair::from_secret(counting_key(0x80)));
  resp.noise().set_ephemeral(crypto::X25519Keypair::from_secret(counting_key(0xa0)));
  core::Bytes m1, m2, m3, none;
  ASSERT_TRUE(init.start(m1).ok());
  ASSERT_TRUE(resp.consume(m1, m2).ok());
  ASSERT_TRUE(init.consume(m2, m3).ok());
  ASSERT_TRUE(resp.consume(m3, none).ok());
  EXPECT_EQ(core::to_hex(m1),
            "0030493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d"
            "531d515c7a71dff4add40d18a0fe3457cfcd");
  EXPECT_EQ(core::to_hex(m2),
            "0090605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805"
            "d23c77bfc505c4a026b2ffc7a852c3f46fa5528a0c8697b2666ec34855143709"
            "1c054f23baba5d0fc71c2049bd478a8150692516084c66eace0b67f008626d4b"
            "9fba297f4ed9dc1ceefe5ffaa8fe58f41d4e991833867e854dd6bc5440f87d07"
            "b22ea11d7c728eac553a89e63d880dca8172");
  EXPECT_EQ(core::to_hex(m3),
            "00a08c3395c693c8a0b716017603b1219fddd9f7f2cab190ec60f825b4ed902b"
            "08ebebd3bf0794c41f132cb73eb6590e1b72b46a31c5077243a92fd0f70bdc95"
            "f7340fdec917ec83f6458eb191b68672b3932cb8c99e4f50ec74bde3931b6905"
            "a5fdea7ed65b44753afc945c7eaf47a15640e67c22b9b9b9c059877c840ab14c"
            "dd7dce3ea3d86fe474e644ba1e9deb9ffb807f04f1c8988c0886627f9cfc279f"
            "c9d0");
  EXPECT_EQ(core::to_hex(init.noise().handshake_hash()),
            "56b8e05a0d7544a5000f6efc714f93b8ee2c6aa07f2f72b87a686b7d6f53f97e"
            "0948fe9296978140bfb28364bd393518d4b7fa6e0e373f6cb98bb246449ebd26");
  auto ik = init.finish();
  auto rk = resp.finish();
  ASSERT_TRUE(ik.ok() && rk.ok());
  auto frame = [](CipherState keys, const LinkControl& msg) {
    FrameWriter w(std::move(keys));
    EXPECT_TRUE(w.add_block(BlockType::kControl, encode_link_control(msg)).ok());
    EXPECT_TRUE(w.flush().ok());
    core::Bytes out;
    w.take_sealed(out);
    return core::to_hex(out);
  };
  EXPECT_EQ(frame(std::move(ik->keys.send), PingMsg{1, 0}), "0017072f10d98f2ffede7d469df152a4edb608bcb950044f2d");
  EXPECT_EQ(frame(std::move(rk->keys.send), PongMsg{1}), "0017e496ed6c68a24be1f3490e2d2e2a8d96edefe171240147");
}

TEST_F(Vectors, RekeyedFrame) {
  FrameWriter w{CipherState(counting_key(0x00))};
  core::Bytes out;
  for (std::uint64_t i = 0; i < kRekeyIntervalFrames; ++i) {
    ASSERT_TRUE(w.add_block(BlockType::kPadding, {}).ok());
    ASSERT_TRUE(w.flush().ok());
  }
  w.take_sealed(out);
  ASSERT_TRUE(w.add_block(BlockType::kControl, encode_link_control(PingMsg{1, 0})).ok());
  ASSERT_TRUE(w.flush().ok());
  w.take_sealed(out);
  EXPECT_EQ(core::to_hex(out), "001763f328576153f090acb1b40b3557c977d4646c94006e07");
}

TEST_F(Vectors, KeyFile) {
  char tmpl[] = "/tmp/hopline-vec-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(tmpl);
  ASSERT_TRUE(initiator.save(dir / "identity.key").ok());
  auto bytes = core::read_file(dir / "identity.key", 200);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(core::to_hex(*bytes),
            "484f504b45593031000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
            "e8c5c7c4d9346dcc4ebbdbe1cdf1a33e9df05c8c4c37befa278405deb805b0d2");
}

}  // namespace
}  // namespace hop::transport
