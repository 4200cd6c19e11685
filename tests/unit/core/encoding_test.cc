#include "hop/core/encoding.h"

#include <gtest/gtest.h>

#include <random>

namespace hop::core {
namespace {

TEST(Base32, Rfc4648VectorsLowercaseUnpadded) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "my"}, {"fo", "mzxq"}, {"foo", "mzxw6"}, {"foob", "mzxw6yq"},
      {"fooba", "mzxw6ytb"}, {"foobar", "mzxw6ytboi"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(to_base32(as_bytes(plain)), encoded);
    auto back = from_base32(encoded);
    ASSERT_TRUE(back.has_value()) << encoded;
    EXPECT_EQ(std::string(back->begin(), back->end()), plain);
  }
}

TEST(Base32, RoundTripsEveryLengthAndAcceptsUppercase) {
  std::mt19937 rng(1);
  for (std::size_t n = 0; n <= 40; ++n) {
    Bytes data(n);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    const std::string text = to_base32(data);
    EXPECT_EQ(*from_base32(text), data);
    std::string upper = text;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(*from_base32(upper), data);
  }
}

TEST(Base32, RefusesBadCharactersAndNonCanonicalTails) {
  EXPECT_FALSE(from_base32("mzxw1").has_value()) << "1 is not in the alphabet";
  EXPECT_FALSE(from_base32("mzx=").has_value());
  EXPECT_FALSE(from_base32("mz").has_value()) << "'z' leaves non-zero padding bits";
  EXPECT_FALSE(from_base32("m").has_value()) << "5 bits is not a byte";
}

TEST(Hex, RoundTripAndRefusals) {
  const Bytes data = {0x00, 0x7f, 0x80, 0xff};
  EXPECT_EQ(to_hex(data), "007f80ff");
  EXPECT_EQ(*from_hex("007F80ff"), data);
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
}

}  // namespace
}  // namespace hop::core
