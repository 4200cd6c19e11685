#include "hop/core/identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "hop/core/files.h"

namespace hop::core {
namespace {

namespace fs = std::filesystem;

class IdentityFileTest : public ::testing::Test {
 protected:
  IdentityFileTest() {
    char tmpl[] = "/tmp/hopline-id-XXXXXX";
    dir = ::mkdtemp(tmpl);
    path = dir / "identity.key";
  }
  ~IdentityFileTest() override { fs::remove_all(dir); }
  Bytes contents() {
    std::ifstream f(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(f), {});
  }
  void overwrite(const Bytes& b) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  fs::path dir, path;
};

TEST_F(IdentityFileTest, SaveAndLoadRoundTrip) {
  const auto id = Identity::generate();
  ASSERT_TRUE(id.save(path).ok());
  auto loaded = Identity::load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->hash(), id.hash());
  EXPECT_EQ(loaded->static_keypair().public_key, id.static_keypair().public_key);
  EXPECT_EQ(loaded->signing_keypair().public_key, id.signing_keypair().public_key);
  EXPECT_EQ(contents().size(), Identity::kFileSize);
}

TEST_F(IdentityFileTest, FileModeIsExactly0600EvenWithAPermissiveUmask) {
  const mode_t old = ::umask(0);
  ASSERT_TRUE(Identity::generate().save(path).ok());
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(IdentityFileTest, AReadableKeyFileIsRefusedWithWhatToDo) {
  ASSERT_TRUE(Identity::generate().save(path).ok());
  ::chmod(path.c_str(), 0644);
  auto loaded = Identity::load(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find("chmod 600"), std::string::npos) << loaded.error().message();
}

TEST_F(IdentityFileTest, CorruptTruncatedAndForeignFilesAreRefusedAndKept) {
  ASSERT_TRUE(Identity::generate().save(path).ok());
  Bytes good = contents();
  Bytes flipped = good;
  flipped[20] ^= 1;
  overwrite(flipped);
  auto r = Identity::load(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("checksum"), std::string::npos);
  EXPECT_EQ(contents(), flipped) << "never rewritten";

  overwrite(Bytes(good.begin(), good.begin() + 50));
  EXPECT_FALSE(Identity::load(path).ok());
  Bytes foreign = good;
  foreign[0] = 'X';
  overwrite(foreign);
  r = Identity::load(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not a Hopline key file"), std::string::npos);
}

TEST_F(IdentityFileTest, MissingFileSaysHowToCreateOne) {
  auto r = Identity::load(dir / "nope.key");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("hopline keygen"), std::string::npos);
}

TEST(RouterHash, PrintableFormRoundTrips) {
  const auto id = Identity::generate();
  const std::string text = id.hash().to_string();
  EXPECT_EQ(text.size(), 52u);
  EXPECT_EQ(id.hash().short_string(), text.substr(0, 8));
  EXPECT_EQ(*RouterHash::parse(text), id.hash());
  EXPECT_FALSE(RouterHash::parse("tooshort").ok());
  EXPECT_FALSE(RouterHash::parse(std::string(52, '1')).ok());
}

TEST(RouterHash, IsTheHashOfBothPublicKeys) {
  const auto id = Identity::generate();
  EXPECT_EQ(id.hash(), RouterHash::of(id.signing_keypair().public_key, id.static_keypair().public_key));
  EXPECT_NE(id.hash(), RouterHash::of(id.static_keypair().public_key, id.signing_keypair().public_key));
}

TEST(PublicIdentity, CertificateBindsTheStaticKey) {
  const auto id = Identity::generate();
  EXPECT_TRUE(id.public_identity().verify());
  PublicIdentity swapped = id.public_identity();
  swapped.static_key = Identity::generate().static_keypair().public_key;
  EXPECT_FALSE(swapped.verify());
}

TEST_F(IdentityFileTest, AtomicWriteReplacesAndLeavesNoTemporaryFiles) {
  const fs::path file = dir / "state";
  ASSERT_TRUE(atomic_write_file(file, as_bytes("one"), 0644).ok());
  ASSERT_TRUE(atomic_write_file(file, as_bytes("two"), 0644).ok());
  auto read = read_file(file, 100);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(std::string(read->begin(), read->end()), "two");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
  EXPECT_FALSE(read_file(file, 2).ok()) << "larger than max_size is refused, not truncated";
}

}  // namespace
}  // namespace hop::core
