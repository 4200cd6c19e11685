#include <gtest/gtest.h>

#include "hop/core/encoding.h"
#include "hop/transport/link_layer.h"

namespace hop::transport {
namespace {

std::string key() {
  core::crypto::Key32 k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i * 7);
  return core::to_base32(k);
}

TEST(PeerContact, RoundTripsIpv4AndIpv6) {
  for (const std::string& text : {"127.3.0.1:7100:" + key(), "[::1]:9:" + key()}) {
    auto c = PeerContact::parse(text);
    ASSERT_TRUE(c.ok()) << c.error().message();
    EXPECT_EQ(c->to_string(), text);
  }
  EXPECT_EQ(PeerContact::parse("[::1]:9:" + key())->host, "::1");
  EXPECT_EQ(PeerContact::parse("[::1]:9:" + key())->address(), "[::1]:9");
}

TEST(PeerContact, ErrorsSayWhatIsExpected) {
  const std::pair<std::string, std::string> bad[] = {
      {"127.0.0.1:7100", "static key"},
      {"127.0.0.1:0:" + key(), "1-65535"},
      {"127.0.0.1:70000:" + key(), "1-65535"},
      {"127.0.0.1:x:" + key(), "1-65535"},
      {"localhost:7100:" + key(), "numeric IP"},
      {"127.0.0.1:7100:abc", "52 base32"},
      {"", "static key"},
  };
  for (const auto& [text, expected] : bad) {
    auto c = PeerContact::parse(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.error().message().find(expected), std::string::npos) << c.error().message();
    EXPECT_NE(c.error().message().find("host:port:static-key"), std::string::npos);
  }
}

TEST(ParseIp, OnlyPlainNumericAddresses) {
  EXPECT_EQ(*parse_ip("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(*parse_ip("0:0:0:0:0:0:0:1"), "::1") << "canonical form";
  EXPECT_FALSE(parse_ip("::1%1").has_value()) << "scope ids are local to one machine";
  EXPECT_FALSE(parse_ip(std::string_view("::1\0junk", 9)).has_value()) << "a NUL must not end the parse";
  EXPECT_FALSE(parse_ip("localhost").has_value());
  EXPECT_FALSE(parse_ip("").has_value());
}

TEST(HostPort, ListenersMayAskForAnyPort) {
  EXPECT_EQ(parse_host_port("127.0.0.1:0", true)->port, 0);
  EXPECT_FALSE(parse_host_port("127.0.0.1:0", false).ok());
  EXPECT_EQ(parse_host_port("[::1]:80", false)->host, "::1");
  EXPECT_FALSE(parse_host_port("127.0.0.1", true).ok());
}

}  // namespace
}  // namespace hop::transport
