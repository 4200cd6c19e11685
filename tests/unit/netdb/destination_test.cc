#include "hop/netdb/destination.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "hop/core/encoding.h"
#include "hop/core/identity.h"

namespace hop::netdb {
namespace {

namespace fs = std::filesystem;

core::crypto::Key32 key_of(std::uint8_t first) {
  core::crypto::Key32 k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(first + i);
  return k;
}

// Computed independently (Python: cryptography for the public keys, hashlib.blake2b with
// digest_size=32, base64.b32encode lowercased without padding) from seed 00..1f, secret 20..3f.
constexpr std::string_view kKnownSigningKey = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
constexpr std::string_view kKnownEncryptionKey = "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254";
constexpr std::string_view kKnownHash = "434d269ff600e90621d79a8dbec1685c4ec9c2dd8cd346ea5ce5a1f36d9a7ca1";
constexpr std::string_view kKnownAddress = "ingsnh7waduqmioxtkg35qlilrhmtqw5rtjun2s44wq7g3m2psqq.hop";

TEST(Destination, KnownAnswerHashAndAddress) {
  const auto d = Destination::from_secrets(key_of(0x00), key_of(0x20));
  EXPECT_EQ(core::to_hex(d.public_keys().signing_key), kKnownSigningKey);
  EXPECT_EQ(core::to_hex(d.public_keys().encryption_key), kKnownEncryptionKey);
  EXPECT_EQ(core::to_hex(d.hash().bytes), kKnownHash);
  EXPECT_EQ(d.address(), kKnownAddress);
  EXPECT_EQ(d.hash().to_string() + ".hop", kKnownAddress);
  EXPECT_EQ(d.hash().short_string(), kKnownAddress.substr(0, 8));
}

TEST(Destination, HashIsDomainSeparatedFromTheRouterHashAndOrdered) {
  const auto d = Destination::generate();
  const auto& k = d.public_keys();
  EXPECT_EQ(d.hash(), DestinationHash::of(k.signing_key, k.encryption_key));
  EXPECT_EQ(d.hash(), k.hash());
  EXPECT_NE(d.hash().bytes, core::RouterHash::of(k.signing_key, k.encryption_key).bytes);
  EXPECT_NE(d.hash(), DestinationHash::of(k.encryption_key, k.signing_key));
  EXPECT_NE(d.hash(), Destination::generate().hash());
}

TEST(Destination, SignsWithItsSigningKey) {
  const auto d = Destination::generate();
  const auto sig = d.sign(core::as_bytes("hello"));
  EXPECT_TRUE(core::crypto::verify(d.public_keys().signing_key, core::as_bytes("hello"), sig));
  EXPECT_FALSE(core::crypto::verify(d.public_keys().signing_key, core::as_bytes("hellp"), sig));
  EXPECT_EQ(d.encryption_keypair().public_key, d.public_keys().encryption_key);
}

TEST(DestinationAddress, ParsesWhatItPrints) {
  for (int i = 0; i < 50; ++i) {
    const auto d = Destination::generate();
    const std::string addr = d.address();
    ASSERT_EQ(addr.size(), 56u);
    auto parsed = parse_address(addr);
    ASSERT_TRUE(parsed.ok()) << addr << ": " << parsed.error().message();
    EXPECT_EQ(*parsed, d.hash());
  }
  EXPECT_EQ(*parse_address(kKnownAddress), Destination::from_secrets(key_of(0), key_of(0x20)).hash());
}

TEST(DestinationAddress, RefusesEverythingElse) {
  const std::string good(kKnownAddress);
  const std::string name = good.substr(0, 52);
  std::string upper = good;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string stray = good;
  stray[51] = 'r';  // 'q' and 'r' differ in the last (padding) bit
  std::string bad_char = good;
  bad_char[10] = '1';
  const std::vector<std::string> refused = {
      "",
      name,                        // a bare hash, no suffix
      name + ".i2p",
      name + ".HOP",
      name + ".hop.",
      " " + good,
      good + " ",
      name.substr(1) + ".hop",     // 51 characters
      name + "a.hop",              // 53 characters
      upper,
      stray,
      bad_char,
      name.substr(0, 48) + "====" + ".hop",
      std::string(52, 'a') + std::string("\0.hop", 5),
      "example.org",
  };
  for (const auto& text : refused) {
    auto r = parse_address(text);
    EXPECT_FALSE(r.ok()) << "accepted '" << text << "'";
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find("not a destination address"), std::string::npos);
    }
  }
  EXPECT_TRUE(parse_address(good).ok());
}

class DestinationFileTest : public ::testing::Test {
 protected:
  DestinationFileTest() {
    char tmpl[] = "/tmp/hopline-dest-XXXXXX";
    dir = ::mkdtemp(tmpl);
    path = dir / "service.key";
  }
  ~DestinationFileTest() override { fs::remove_all(dir); }
  core::Bytes contents() {
    std::ifstream f(path, std::ios::binary);
    return core::Bytes(std::istreambuf_iterator<char>(f), {});
  }
  void overwrite(const core::Bytes& b) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  std::string load_error() {
    auto r = Destination::load(path);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message();
  }
  fs::path dir, path;
};

TEST_F(DestinationFileTest, SaveAndLoadRoundTripWithMode0600) {
  const mode_t old = ::umask(0);
  const auto d = Destination::generate();
  ASSERT_TRUE(d.save(path).ok());
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto loaded = Destination::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->hash(), d.hash());
  EXPECT_EQ(loaded->public_keys(), d.public_keys());
  const auto bytes = contents();
  ASSERT_EQ(bytes.size(), 104u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), "HOPDST01");
}

TEST_F(DestinationFileTest, TheFileLayoutIsMagicSeedSecretChecksum) {
  const auto d = Destination::from_secrets(key_of(0x00), key_of(0x20));
  ASSERT_TRUE(d.save(path).ok());
  const auto bytes = contents();
  ASSERT_EQ(bytes.size(), 104u);
  const auto seed = key_of(0x00);
  const auto secret = key_of(0x20);
  EXPECT_EQ(core::Bytes(bytes.begin() + 8, bytes.begin() + 40), core::Bytes(seed.begin(), seed.end()));
  EXPECT_EQ(core::Bytes(bytes.begin() + 40, bytes.begin() + 72), core::Bytes(secret.begin(), secret.end()));
  const auto sum = core::crypto::blake2b_256(core::ByteView(bytes.data(), 72));
  EXPECT_EQ(core::Bytes(bytes.begin() + 72, bytes.end()), core::Bytes(sum.begin(), sum.end()));
}

TEST_F(DestinationFileTest, SaveReplacesAtomicallyAndLeavesNoTemporaryFiles) {
  ASSERT_TRUE(Destination::generate().save(path).ok());
  const auto second = Destination::generate();
  ASSERT_TRUE(second.save(path).ok());
  EXPECT_EQ(Destination::load(path)->hash(), second.hash());
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(DestinationFileTest, AReadableFileIsRefusedWithWhatToDo) {
  ASSERT_TRUE(Destination::generate().save(path).ok());
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
    ::chmod(path.c_str(), mode);
    const auto msg = load_error();
    EXPECT_NE(msg.find("chmod 600"), std::string::npos) << msg;
    EXPECT_NE(msg.find("destination key file"), std::string::npos) << msg;
  }
  ::chmod(path.c_str(), 0400);
  EXPECT_TRUE(Destination::load(path).ok()) << "owner-only read is fine";
}

TEST_F(DestinationFileTest, GarbageTruncatedCorruptAndIdentityFilesAreRefusedAndKept) {
  ASSERT_TRUE(Destination::generate().save(path).ok());
  const core::Bytes good = contents();

  core::Bytes flipped = good;
  flipped[50] ^= 1;
  overwrite(flipped);
  EXPECT_NE(load_error().find("fails its checksum"), std::string::npos);
  EXPECT_EQ(contents(), flipped) << "never rewritten";

  overwrite(core::Bytes(good.begin(), good.begin() + 60));
  EXPECT_NE(load_error().find("is not a Hopline destination key file"), std::string::npos);
  overwrite({});
  EXPECT_NE(load_error().find("is not a Hopline destination key file"), std::string::npos);
  overwrite(core::Bytes(200, 0x41));
  EXPECT_FALSE(Destination::load(path).ok());

  // A node's identity.key has the same layout but another magic: it must not become a
  // destination (that would link the service to the node).
  ASSERT_TRUE(core::Identity::generate().save(path).ok());
  EXPECT_NE(load_error().find("is not a Hopline destination key file"), std::string::npos);
  // And the other way round.
  ASSERT_TRUE(Destination::generate().save(path).ok());
  EXPECT_FALSE(core::Identity::load(path).ok());
}

TEST_F(DestinationFileTest, AMissingFileIsRefusedWithItsPath) {
  auto r = Destination::load(dir / "nope.key");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find((dir / "nope.key").string()), std::string::npos);
}

}  // namespace
}  // namespace hop::netdb
