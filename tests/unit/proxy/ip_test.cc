#include "hop/proxy/ip.h"

#include <gtest/gtest.h>

#include <string>

#include "hop/proxy/errors.h"

namespace hop::proxy {
namespace {

IpAddress ip(const char* text) {
  auto parsed = parse_ip(text);
  if (!parsed) {
    ADD_FAILURE() << parsed.error().message();
    return {};
  }
  return *parsed;
}

IpPrefix prefix(const char* text) {
  auto parsed = parse_prefix(text);
  if (!parsed) {
    ADD_FAILURE() << parsed.error().message();
    return {};
  }
  return *parsed;
}

TEST(IpAddress, ParsesIpv4AsMappedIpv6) {
  const IpAddress a = ip("192.0.2.1");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.v4_host_order(), 0xc0000201u);
  const std::array<std::uint8_t, 16> mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
  EXPECT_EQ(a.bytes, mapped);
  EXPECT_EQ(a, IpAddress::v4(0xc0000201u));
  EXPECT_EQ(to_string(a), "192.0.2.1");
  EXPECT_EQ(to_string(ip("0.0.0.0")), "0.0.0.0");
  EXPECT_EQ(to_string(ip("255.255.255.255")), "255.255.255.255");
}

TEST(IpAddress, ParsesIpv6InCanonicalForm) {
  const IpAddress a = ip("2001:DB8:0:0:0:0:0:1");
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.bytes[0], 0x20);
  EXPECT_EQ(a.bytes[1], 0x01);
  EXPECT_EQ(a.bytes[15], 0x01);
  EXPECT_EQ(to_string(a), "2001:db8::1");
  EXPECT_EQ(to_string(ip("::")), "::");
  EXPECT_EQ(to_string(ip("::1")), "::1");
  EXPECT_FALSE(ip("::1").is_v4());
  EXPECT_FALSE(ip("::").is_v4());
}

TEST(IpAddress, V4MappedTextIsTheSameAddressAsDottedQuad) {
  const IpAddress mapped = ip("::ffff:192.0.2.1");
  EXPECT_TRUE(mapped.is_v4());
  EXPECT_EQ(mapped, ip("192.0.2.1"));
  EXPECT_EQ(to_string(mapped), "192.0.2.1");
  EXPECT_EQ(ip("::ffff:c000:201"), ip("192.0.2.1"));
  // IPv4-compatible (::a.b.c.d, deprecated) is not mapped: a different address.
  EXPECT_FALSE(ip("::192.0.2.1").is_v4());
  EXPECT_NE(ip("::192.0.2.1"), ip("192.0.2.1"));
}

TEST(IpAddress, RefusesWhatIsNotAnAddress) {
  for (const char* text : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.4 ", " 1.2.3.4", "01.2.3.4x", "::g",
                           "1:2:3:4:5:6:7:8:9", "2001:db8:::1", "[::1]", "example.com", "1.2.3.4/8", "::1%eth0"}) {
    SCOPED_TRACE(text);
    auto parsed = parse_ip(text);
    ASSERT_FALSE(parsed.ok()) << to_string(*parsed);
    EXPECT_EQ(parsed.error().code, make_error_code(Errc::kBadAddress));
  }
  EXPECT_FALSE(parse_ip(std::string(100, '1')).ok());
  EXPECT_FALSE(parse_ip(std::string(63, '1')).ok());
}

// Disabled until ip.cc refuses a NUL byte: inet_pton() stops reading there, so today
// "10.0.0.1\0junk" parses as 10.0.0.1 (see the fix in the routing.db hand-over).
TEST(IpAddress, TextWithAnEmbeddedNulIsNotAnAddress) {
  EXPECT_FALSE(parse_ip(std::string("10.0.0.1\0junk", 13)).ok());
  EXPECT_FALSE(parse_prefix(std::string("10.0.0.0\0/8", 11)).ok());
}

TEST(IpPrefix, ParsesAndPrintsIpv4AndIpv6) {
  const IpPrefix v4 = prefix("10.0.0.0/8");
  EXPECT_EQ(v4.bits, 96 + 8);
  EXPECT_EQ(v4.base, ip("10.0.0.0"));
  EXPECT_EQ(to_string(v4), "10.0.0.0/8");
  const IpPrefix v6 = prefix("2001:db8::/32");
  EXPECT_EQ(v6.bits, 32);
  EXPECT_EQ(to_string(v6), "2001:db8::/32");
  EXPECT_EQ(to_string(prefix("0.0.0.0/0")), "0.0.0.0/0");
  EXPECT_EQ(to_string(prefix("::/0")), "::/0");
  EXPECT_EQ(prefix("::/0").bits, 0);
  EXPECT_EQ(prefix("0.0.0.0/0").bits, 96);
}

TEST(IpPrefix, BareAddressIsAHostPrefix) {
  EXPECT_EQ(prefix("192.0.2.1").bits, 128);
  EXPECT_EQ(to_string(prefix("192.0.2.1")), "192.0.2.1/32");
  EXPECT_EQ(prefix("2001:db8::1").bits, 128);
  EXPECT_EQ(to_string(prefix("2001:db8::1")), "2001:db8::1/128");
  EXPECT_EQ(prefix("192.0.2.1/32"), prefix("192.0.2.1"));
}

TEST(IpPrefix, RefusesHostBitsBelowTheLength) {
  for (const char* text : {"10.1.0.0/8", "10.0.0.1/31", "192.0.2.128/24", "2001:db8::1/64", "2001:db8:8000::/32",
                           "2001:db8::/17", "::1/127", "1.0.0.0/0"}) {
    SCOPED_TRACE(text);
    auto parsed = parse_prefix(text);
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.error().message().find("host bits"), std::string::npos) << parsed.error().message();
  }
  EXPECT_TRUE(parse_prefix("10.0.0.2/31").ok());
  EXPECT_TRUE(parse_prefix("2001:db8:8000::/33").ok());
  EXPECT_TRUE(parse_prefix("2001:db8::/29").ok());
}

TEST(IpPrefix, RefusesBadLengths) {
  for (const char* text : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/ 8",
                           "10.0.0.0/8/8", "::/129", "::/", "::/1000", "10.0.0.0/4294967304", "/8", "10.0.0.0/0x8",
                           "10.0.0.0//8"}) {
    SCOPED_TRACE(text);
    auto parsed = parse_prefix(text);
    ASSERT_FALSE(parsed.ok()) << to_string(*parsed);
    EXPECT_EQ(parsed.error().code, make_error_code(Errc::kBadAddress));
  }
  // An IPv4 length is 0-32 even though it is stored in the mapped form.
  EXPECT_FALSE(parse_prefix("10.0.0.0/100").ok());
  EXPECT_TRUE(parse_prefix("10.0.0.0/08").ok());
}

TEST(IpPrefix, ContainsIpv4) {
  const IpPrefix p = prefix("10.0.0.0/8");
  EXPECT_TRUE(p.contains(ip("10.0.0.0")));
  EXPECT_TRUE(p.contains(ip("10.255.255.255")));
  EXPECT_FALSE(p.contains(ip("11.0.0.0")));
  EXPECT_FALSE(p.contains(ip("9.255.255.255")));
  EXPECT_FALSE(p.contains(ip("::a00:1")));       // IPv4-compatible, not mapped
  EXPECT_FALSE(p.contains(ip("2001:db8::1")));
  const IpPrefix host = prefix("192.0.2.1/32");
  EXPECT_TRUE(host.contains(ip("192.0.2.1")));
  EXPECT_FALSE(host.contains(ip("192.0.2.0")));
}

TEST(IpPrefix, ContainsWithLengthsThatAreNotWholeBytes) {
  const IpPrefix p = prefix("192.0.2.128/25");
  EXPECT_TRUE(p.contains(ip("192.0.2.128")));
  EXPECT_TRUE(p.contains(ip("192.0.2.255")));
  EXPECT_FALSE(p.contains(ip("192.0.2.127")));
  const IpPrefix twelve = prefix("172.16.0.0/12");
  EXPECT_TRUE(twelve.contains(ip("172.31.255.255")));
  EXPECT_FALSE(twelve.contains(ip("172.32.0.0")));
  EXPECT_FALSE(twelve.contains(ip("172.15.255.255")));
  const IpPrefix one = prefix("128.0.0.0/1");
  EXPECT_TRUE(one.contains(ip("200.1.2.3")));
  EXPECT_FALSE(one.contains(ip("127.255.255.255")));
  const IpPrefix v6 = prefix("2001:db8:8000::/33");
  EXPECT_TRUE(v6.contains(ip("2001:db8:8000::1")));
  EXPECT_TRUE(v6.contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.contains(ip("2001:db8:7fff::1")));
  const IpPrefix v6_odd = prefix("2001:db8::/31");
  EXPECT_TRUE(v6_odd.contains(ip("2001:db9::1")));
  EXPECT_FALSE(v6_odd.contains(ip("2001:dba::1")));
  const IpPrefix v6_127 = prefix("::/127");
  EXPECT_TRUE(v6_127.contains(ip("::1")));
  EXPECT_FALSE(v6_127.contains(ip("::2")));
}

TEST(IpPrefix, ZeroLengthContainsItsWholeFamily) {
  const IpPrefix all_v4 = prefix("0.0.0.0/0");
  EXPECT_TRUE(all_v4.contains(ip("0.0.0.0")));
  EXPECT_TRUE(all_v4.contains(ip("255.255.255.255")));
  EXPECT_FALSE(all_v4.contains(ip("2001:db8::1")));  // /0 of IPv4 is every IPv4 address, not everything
  const IpPrefix all = prefix("::/0");
  EXPECT_TRUE(all.contains(ip("2001:db8::1")));
  EXPECT_TRUE(all.contains(ip("10.1.2.3")));  // mapped IPv4 is inside ::/0
  EXPECT_TRUE(all.contains(ip("::")));
}

// Disabled until parse_prefix takes the length's meaning from the text (a ':' means IPv6
// notation, 0-128) instead of from the parsed address: today "::ffff:10.0.0.0/104" is refused
// ("prefix length must be 0-32") and "::ffff:10.0.0.0/8" is taken as 10.0.0.0/8.
TEST(IpPrefix, MappedNotationTakesAnIpv6Length) {
  auto mapped = parse_prefix("::ffff:10.0.0.0/104");
  ASSERT_TRUE(mapped.ok()) << mapped.error().message();
  EXPECT_EQ(*mapped, prefix("10.0.0.0/8"));
  EXPECT_TRUE(mapped->contains(ip("10.1.2.3")));
  EXPECT_FALSE(mapped->contains(ip("11.1.2.3")));
  EXPECT_TRUE(parse_prefix("::ffff:0.0.0.0/96").ok());
  EXPECT_FALSE(parse_prefix("::ffff:10.0.0.0/8").ok());  // host bits set below /8 in IPv6 terms
}

}  // namespace
}  // namespace hop::proxy
