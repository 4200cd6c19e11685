#include "hop/proxy/proxy_protocol.h"

#include <gtest/gtest.h>

#include <string>

#include "hop/proxy/errors.h"

namespace hop::proxy {
namespace {

using core::Bytes;

constexpr std::uint8_t kSignature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A v2 header: signature, version/command byte, family byte, length of `block`, `block`.
Bytes v2(std::uint8_t ver_cmd, std::uint8_t family, const Bytes& block) {
  Bytes out(std::begin(kSignature), std::end(kSignature));
  out.push_back(ver_cmd);
  out.push_back(family);
  out.push_back(static_cast<std::uint8_t>(block.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(block.size()));
  core::append(out, block);
  return out;
}

Bytes tlv(std::uint8_t type, std::size_t length) {
  Bytes out = {type, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
  out.resize(out.size() + length, 0x61);
  return out;
}

// 192.0.2.1:56324 -> 198.51.100.7:443 as an AF_INET address block.
Bytes inet_block() { return {192, 0, 2, 1, 198, 51, 100, 7, 0xDC, 0x04, 0x01, 0xBB}; }

ProxyHeader done(const Bytes& in, ProxyVersions accepted = ProxyVersions::kEither) {
  auto r = decode_proxy_header(in, accepted);
  EXPECT_TRUE(r.ok()) << r.error().message();
  if (!r.ok()) return {};
  EXPECT_TRUE(std::holds_alternative<ProxyHeader>(*r));
  if (!std::holds_alternative<ProxyHeader>(*r)) return {};
  return std::get<ProxyHeader>(*r);
}

bool needs_more(const Bytes& in, ProxyVersions accepted = ProxyVersions::kEither) {
  auto r = decode_proxy_header(in, accepted);
  return r.ok() && std::holds_alternative<ProxyNeedMore>(*r);
}

// The error text, or "" when `in` did not fail with kProxyHeader.
std::string error_of(const Bytes& in, ProxyVersions accepted = ProxyVersions::kEither) {
  auto r = decode_proxy_header(in, accepted);
  if (r.ok() || r.error().code != make_error_code(Errc::kProxyHeader)) return "";
  return r.error().message();
}

IpAddress ip(std::string_view s) { return *parse_ip(s); }

TEST(ProxyProtocolV1, SpecExampleBeforeAnHttpRequest) {
  const std::string line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
  const Bytes in = text(line + "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n");
  const ProxyHeader h = done(in);
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.command, ProxyHeader::Command::kProxy);
  ASSERT_TRUE(h.endpoints.has_value());
  EXPECT_EQ(h.endpoints->source, ip("192.168.0.1"));
  EXPECT_EQ(h.endpoints->destination, ip("192.168.0.11"));
  EXPECT_EQ(h.endpoints->source_port, 56324);
  EXPECT_EQ(h.endpoints->destination_port, 443);
  EXPECT_EQ(h.length, line.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(in.data()) + h.length, 3), "GET");
}

TEST(ProxyProtocolV1, SpecLongestLinesOfEachKind) {
  const std::string tcp4 = "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
  const std::string full6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const std::string tcp6 = "PROXY TCP6 " + full6 + " " + full6 + " 65535 65535\r\n";
  const std::string unknown_short = "PROXY UNKNOWN\r\n";
  const std::string unknown_worst = "PROXY UNKNOWN " + full6 + " " + full6 + " 65535 65535\r\n";
  EXPECT_EQ(tcp4.size(), 56u);
  EXPECT_EQ(tcp6.size(), 104u);
  EXPECT_EQ(unknown_short.size(), 15u);
  EXPECT_EQ(unknown_worst.size(), kMaxProxyV1Bytes);

  EXPECT_EQ(done(text(tcp4)).endpoints->source, IpAddress::v4(0xFFFFFFFF));
  const ProxyHeader h6 = done(text(tcp6));
  ASSERT_TRUE(h6.endpoints.has_value());
  EXPECT_EQ(h6.endpoints->destination, ip(full6));
  EXPECT_EQ(h6.endpoints->destination_port, 65535);
  EXPECT_EQ(h6.length, 104u);
  EXPECT_FALSE(done(text(unknown_short)).endpoints.has_value());
  const ProxyHeader worst = done(text(unknown_worst));
  EXPECT_FALSE(worst.endpoints.has_value());  // UNKNOWN: whatever follows is ignored
  EXPECT_EQ(worst.length, kMaxProxyV1Bytes);
}

TEST(ProxyProtocolV1, Tcp6AndPortZero) {
  const std::string line = "PROXY TCP6 2001:db8::1 2001:DB8::2 0 8443\r\n";
  const ProxyHeader h = done(text(line + "hello"));
  ASSERT_TRUE(h.endpoints.has_value());
  EXPECT_EQ(h.endpoints->source, ip("2001:db8::1"));
  EXPECT_EQ(h.endpoints->destination, ip("2001:db8::2"));
  EXPECT_EQ(h.endpoints->source_port, 0);
  EXPECT_EQ(h.endpoints->destination_port, 8443);
  EXPECT_EQ(h.length, line.size());
}

TEST(ProxyProtocolV1, RejectsWhatIsNotExactlyTheFormat) {
  const char* bad_lines[] = {
      "PROXY TCP4 192.168.0.01 192.168.0.11 56324 443\r\n",  // leading zero in an octet
      "PROXY TCP4 192.168.0.1 192.168.0.256 56324 443\r\n",  // octet over 255
      "PROXY TCP4 192.168.0 192.168.0.11 56324 443\r\n",     // three octets
      "PROXY TCP4 1.2.3.4.5 192.168.0.11 56324 443\r\n",     // five octets
      "PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n",  // leading zero in a port
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324 0443\r\n",
      "PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n",   // port over 65535
      "PROXY TCP4 192.168.0.1 192.168.0.11 -1 443\r\n",
      "PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n",          // IPv6 under TCP4
      "PROXY TCP6 192.168.0.1 192.168.0.11 1 2\r\n",         // IPv4 under TCP6
      "PROXY TCP6 2001:db8::g 2001:db8::2 1 2\r\n",
      "PROXY TCP4  192.168.0.1 192.168.0.11 56324 443\r\n",  // two spaces
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 \r\n",  // trailing space
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n",       // a field missing
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 80\r\n",
      "PROXY tcp4 192.168.0.1 192.168.0.11 56324 443\r\n",   // case matters
      "PROXY UDP4 192.168.0.1 192.168.0.11 56324 443\r\n",
      "PROXY UNKNOWNX\r\n",
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n",     // LF alone
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\rX",    // CR alone
      "PROXY \r\n",
      "PROXYTCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
  };
  for (const char* line : bad_lines) EXPECT_NE(error_of(text(line)), "") << line;
}

TEST(ProxyProtocolV1, NoCrlfWithin107BytesIsAnError) {
  std::string line = "PROXY UNKNOWN ";
  line.resize(kMaxProxyV1Bytes - 1, 'f');  // 106 bytes, still waiting for the CRLF
  EXPECT_TRUE(needs_more(text(line)));
  // A CR as byte 107 can never be followed by its LF within the limit.
  EXPECT_NE(error_of(text(line + "\r")), "");
  EXPECT_NE(error_of(text(line + "\r\n")), "");
  EXPECT_NE(error_of(text(line + "f")), "");
  line.resize(kMaxProxyV1Bytes - 2);
  EXPECT_EQ(done(text(line + "\r\n")).length, kMaxProxyV1Bytes);
}

TEST(ProxyProtocolV1, ByteByByteNeedsMoreUntilTheCrlf) {
  const std::string line = "PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n";
  const Bytes in = text(line + "SSH-2.0-client\r\n");
  for (std::size_t n = 0; n < line.size(); ++n) {
    EXPECT_TRUE(needs_more(Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n)))) << n;
  }
  for (std::size_t n = line.size(); n <= in.size(); ++n) {
    EXPECT_EQ(done(Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n))).length, line.size()) << n;
  }
}

TEST(ProxyProtocolV1, PartialLinesThatCannotBecomeValidFailEarly) {
  EXPECT_NE(error_of(text("PROXY TCP5")), "");
  EXPECT_NE(error_of(text("PROXY TCP4 1.2.3.x")), "");
  EXPECT_NE(error_of(text("PROXY TCP4 1.2.3.4  ")), "");
  EXPECT_NE(error_of(text("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 ")), "");
  EXPECT_NE(error_of(text("PROXY TCP4 1.2.3.4\n")), "");
  EXPECT_TRUE(needs_more(text("PROXY UNKNOWN anything at all")));
  EXPECT_TRUE(needs_more(text("PROX")));
}

TEST(ProxyProtocolV2, RealTcp4HeaderBeforeAnHttpRequest) {
  // An HAProxy "send-proxy-v2" capture: 172.19.0.1:42578 -> 172.19.0.3:80, then the request.
  Bytes in = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11,
              0x00, 0x0c, 0xac, 0x13, 0x00, 0x01, 0xac, 0x13, 0x00, 0x03, 0xa6, 0x52, 0x00, 0x50};
  core::append(in, core::as_bytes("GET / HTTP/1.1\r\n"));
  const ProxyHeader h = done(in);
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.command, ProxyHeader::Command::kProxy);
  ASSERT_TRUE(h.endpoints.has_value());
  EXPECT_EQ(h.endpoints->source, ip("172.19.0.1"));
  EXPECT_EQ(h.endpoints->destination, ip("172.19.0.3"));
  EXPECT_EQ(h.endpoints->source_port, 42578);
  EXPECT_EQ(h.endpoints->destination_port, 80);
  EXPECT_EQ(h.length, 28u);
  EXPECT_EQ(in[h.length], 'G');
}

TEST(ProxyProtocolV2, Tcp6WithTlvsSkipped) {
  Bytes block = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
                 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x30, 0x39, 0x01, 0xBB};
  core::append(block, tlv(0x01, 2));    // ALPN "aa"
  core::append(block, tlv(0x20, 40));   // SSL, sub-TLVs inside are not interpreted
  core::append(block, tlv(0x04, 0));    // NOOP, empty
  Bytes in = v2(0x21, 0x21, block);
  const std::size_t header_size = in.size();
  core::append(in, core::as_bytes("data"));
  const ProxyHeader h = done(in);
  ASSERT_TRUE(h.endpoints.has_value());
  EXPECT_EQ(h.endpoints->source, ip("2001:db8::1"));
  EXPECT_EQ(h.endpoints->destination, ip("2001:db8::2"));
  EXPECT_EQ(h.endpoints->source_port, 12345);
  EXPECT_EQ(h.endpoints->destination_port, 443);
  EXPECT_EQ(h.length, header_size);
}

TEST(ProxyProtocolV2, LocalAndUnspecKeepTheSocketsAddresses) {
  const ProxyHeader local = done(v2(0x20, 0x00, {}));
  EXPECT_EQ(local.command, ProxyHeader::Command::kLocal);
  EXPECT_FALSE(local.endpoints.has_value());
  EXPECT_EQ(local.length, 16u);
  // LOCAL must skip whatever length says, even with an address family present.
  const ProxyHeader local_inet = done(v2(0x20, 0x11, inet_block()));
  EXPECT_EQ(local_inet.command, ProxyHeader::Command::kLocal);
  EXPECT_FALSE(local_inet.endpoints.has_value());
  EXPECT_EQ(local_inet.length, 28u);
  const ProxyHeader unspec = done(v2(0x21, 0x00, tlv(0x05, 16)));
  EXPECT_EQ(unspec.command, ProxyHeader::Command::kProxy);
  EXPECT_FALSE(unspec.endpoints.has_value());
  EXPECT_EQ(unspec.length, 16u + 19u);
}

TEST(ProxyProtocolV2, ByteByByteNeedsMoreUntilComplete) {
  Bytes block = inet_block();
  core::append(block, tlv(0x02, 11));
  const Bytes header = v2(0x21, 0x11, block);
  Bytes in = header;
  core::append(in, core::as_bytes("client data"));
  for (std::size_t n = 0; n < header.size(); ++n) {
    EXPECT_TRUE(needs_more(Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n)))) << n;
  }
  for (std::size_t n = header.size(); n <= in.size(); ++n) {
    const ProxyHeader h = done(Bytes(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n)));
    EXPECT_EQ(h.length, header.size());
    ASSERT_TRUE(h.endpoints.has_value());
    EXPECT_EQ(h.endpoints->source, ip("192.0.2.1"));
    EXPECT_EQ(h.endpoints->source_port, 56324);
  }
}

TEST(ProxyProtocolV2, RejectsBadNibblesUnixUdpAndShortLengths) {
  EXPECT_NE(error_of(v2(0x11, 0x11, inet_block())), "");  // version 1 in a v2 header
  EXPECT_NE(error_of(v2(0x31, 0x11, inet_block())), "");
  EXPECT_NE(error_of(v2(0x22, 0x11, inet_block())), "");  // command 2
  EXPECT_NE(error_of(v2(0x2F, 0x11, inet_block())), "");
  EXPECT_NE(error_of(v2(0x21, 0x41, inet_block())), "");  // family 4
  EXPECT_NE(error_of(v2(0x21, 0x13, inet_block())), "");  // protocol 3
  EXPECT_NE(error_of(v2(0x21, 0x12, inet_block())), "");  // UDP
  EXPECT_NE(error_of(v2(0x21, 0x31, Bytes(216, 0))).find("AF_UNIX"), std::string::npos);
  Bytes short_inet = inet_block();
  short_inet.pop_back();
  EXPECT_NE(error_of(v2(0x21, 0x11, short_inet)).find("too short"), std::string::npos);
  EXPECT_NE(error_of(v2(0x21, 0x21, inet_block())).find("too short"), std::string::npos);
  // Bad nibbles are refused as soon as their byte arrives, before the rest of the header.
  Bytes early(std::begin(kSignature), std::end(kSignature));
  early.push_back(0x23);
  EXPECT_NE(error_of(early), "");
  Bytes wrong_signature(std::begin(kSignature), std::end(kSignature) - 1);
  wrong_signature.push_back(0x0B);
  EXPECT_NE(error_of(wrong_signature), "");
}

TEST(ProxyProtocolV2, TlvFramingIsChecked) {
  Bytes overrun = inet_block();
  core::append(overrun, tlv(0x01, 4));
  overrun.pop_back();  // the TLV claims 4 bytes, 3 are there
  EXPECT_NE(error_of(v2(0x21, 0x11, overrun)), "");
  Bytes stub = inet_block();
  stub.push_back(0x01);
  stub.push_back(0x00);  // type and half a length
  EXPECT_NE(error_of(v2(0x21, 0x11, stub)), "");
  Bytes local_stub = {0x04};
  EXPECT_NE(error_of(v2(0x20, 0x00, local_stub)), "");
}

TEST(ProxyProtocolV2, LengthLimit) {
  Bytes block = inet_block();
  core::append(block, tlv(0xE0, kMaxProxyV2Payload - block.size() - 3));
  ASSERT_EQ(block.size(), kMaxProxyV2Payload);
  EXPECT_EQ(done(v2(0x21, 0x11, block)).length, kProxyV2FixedBytes + kMaxProxyV2Payload);
  block.push_back(0);
  // One byte over: refused from the 16 fixed bytes alone, without waiting for the rest.
  const Bytes over = v2(0x21, 0x11, block);
  EXPECT_NE(error_of(Bytes(over.begin(), over.begin() + 16)).find("limit"), std::string::npos);
}

TEST(ProxyProtocol, ListenerVersionsOption) {
  const Bytes line = text("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
  const Bytes binary = v2(0x21, 0x11, inet_block());
  EXPECT_EQ(done(line, ProxyVersions::kV1).version, 1);
  EXPECT_EQ(done(binary, ProxyVersions::kV2).version, 2);
  EXPECT_NE(error_of(line, ProxyVersions::kV2), "");
  EXPECT_NE(error_of(binary, ProxyVersions::kV1), "");
  EXPECT_NE(error_of(Bytes(binary.begin(), binary.begin() + 1), ProxyVersions::kV1), "");
  EXPECT_TRUE(needs_more(Bytes(binary.begin(), binary.begin() + 1), ProxyVersions::kV2));
}

TEST(ProxyProtocol, GarbageIsRefusedAtOnce) {
  EXPECT_TRUE(needs_more({}));
  EXPECT_NE(error_of(text("GET / HTTP/1.1\r\n")), "");
  EXPECT_NE(error_of(text("\x16\x03\x01")), "");  // a TLS ClientHello
  EXPECT_NE(error_of(text("S")), "");
  EXPECT_NE(error_of(Bytes{0x0D, 0x0A, 0x0D, 0x0B}), "");
}

TEST(ProxyProtocol, RandomInputNeverWaitsPastTheLimits) {
  // Deterministic pseudo-random inputs that start like a header half the time.
  std::uint32_t state = 12345;
  const auto next = [&] { return state = state * 1664525u + 1013904223u; };
  for (int round = 0; round < 4000; ++round) {
    Bytes in(next() % 2200);
    for (auto& b : in) b = static_cast<std::uint8_t>(next() >> 24);
    if (round % 4 == 1 && in.size() >= 12) std::copy(std::begin(kSignature), std::end(kSignature), in.begin());
    if (round % 4 == 2 && in.size() >= 6) std::copy_n("PROXY ", 6, in.begin());
    auto r = decode_proxy_header(in, ProxyVersions::kEither);
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, make_error_code(Errc::kProxyHeader));
    } else if (std::holds_alternative<ProxyNeedMore>(*r)) {
      EXPECT_LT(in.size(), kProxyV2FixedBytes + kMaxProxyV2Payload);
    } else {
      EXPECT_LE(std::get<ProxyHeader>(*r).length, in.size());
    }
  }
}

}  // namespace
}  // namespace hop::proxy
