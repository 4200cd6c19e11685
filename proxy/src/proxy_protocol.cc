#include "hop/proxy/proxy_protocol.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>

#include "hop/proxy/errors.h"

namespace hop::proxy {
namespace {

// Constants of proxy-protocol.txt, sections 2.1 and 2.2.
constexpr std::string_view kV1Signature = "PROXY ";
constexpr std::array<std::uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::uint8_t kV2Version = 0x2;     // high nibble of byte 13
constexpr std::uint8_t kCommandLocal = 0x0;  // low nibble of byte 13: health check, no addresses
constexpr std::uint8_t kCommandProxy = 0x1;  // low nibble of byte 13: relayed connection
constexpr std::uint8_t kFamilyUnspec = 0x0;  // high nibble of byte 14
constexpr std::uint8_t kFamilyInet = 0x1;
constexpr std::uint8_t kFamilyInet6 = 0x2;
constexpr std::uint8_t kFamilyUnix = 0x3;
constexpr std::uint8_t kProtocolUnspec = 0x0;  // low nibble of byte 14
constexpr std::uint8_t kProtocolStream = 0x1;
constexpr std::uint8_t kProtocolDgram = 0x2;
constexpr std::size_t kInetBlockBytes = 12;    // 2 x 4-byte address + 2 x 2-byte port
constexpr std::size_t kInet6BlockBytes = 36;   // 2 x 16-byte address + 2 x 2-byte port
constexpr std::size_t kUnixBlockBytes = 216;   // 2 x 108-byte path
constexpr std::size_t kTlvHeaderBytes = 3;     // type, 16-bit length
constexpr std::size_t kV1MaxPortDigits = 5;

core::Error bad(const std::string& what) { return core::make_error(Errc::kProxyHeader, what); }

// True when `received` and `signature` agree on the bytes both have.
bool starts_like(core::ByteView received, core::ByteView signature) {
  const std::size_t n = std::min(received.size(), signature.size());
  return std::equal(received.begin(), received.begin() + static_cast<std::ptrdiff_t>(n), signature.begin());
}

std::string decimal(unsigned value) { return std::to_string(value); }

// ---- version 2 ----

core::Status check_version_command(std::uint8_t byte) {
  if ((byte >> 4) != kV2Version) return bad("PROXY v2: version nibble " + decimal(byte >> 4) + " is not 2");
  const unsigned command = byte & 0x0F;
  if (command != kCommandLocal && command != kCommandProxy) {
    return bad("PROXY v2: command nibble " + decimal(command) + " is neither LOCAL (0) nor PROXY (1)");
  }
  return core::ok_status();
}

core::Status check_family(std::uint8_t byte) {
  if ((byte >> 4) > kFamilyUnix) return bad("PROXY v2: address family nibble " + decimal(byte >> 4) + " is undefined");
  if ((byte & 0x0F) > kProtocolDgram) {
    return bad("PROXY v2: transport protocol nibble " + decimal(byte & 0x0F) + " is undefined");
  }
  return core::ok_status();
}

// Where the TLVs start in the address block; 0 for AF_UNSPEC/UNSPEC (no addresses), nothing
// when the family/protocol pair has no defined layout (e.g. AF_INET with UNSPEC).
std::optional<std::size_t> tlv_offset(std::uint8_t family, std::uint8_t protocol) {
  if (family == kFamilyUnspec && protocol == kProtocolUnspec) return 0;
  if (family == kFamilyUnspec || protocol == kProtocolUnspec) return std::nullopt;
  if (family == kFamilyInet) return kInetBlockBytes;
  if (family == kFamilyInet6) return kInet6BlockBytes;
  return kUnixBlockBytes;
}

// TLVs are skipped, not interpreted (we verify no CRC32C), but each must fit exactly.
core::Status check_tlvs(core::ByteView tlvs) {
  std::size_t at = 0;
  while (at < tlvs.size()) {
    if (tlvs.size() - at < kTlvHeaderBytes) return bad("PROXY v2: a TLV is cut short after its type");
    const std::size_t length = core::get_u16(tlvs.data() + at + 1);
    if (length > tlvs.size() - at - kTlvHeaderBytes) {
      return bad("PROXY v2: TLV type " + decimal(tlvs[at]) + " claims " + std::to_string(length) +
                 " bytes, more than the header holds");
    }
    at += kTlvHeaderBytes + length;
  }
  return core::ok_status();
}

ProxyEndpoints inet_endpoints(const std::uint8_t* p) {
  return {IpAddress::v4(core::get_u32(p)), IpAddress::v4(core::get_u32(p + 4)), core::get_u16(p + 8),
          core::get_u16(p + 10)};
}

ProxyEndpoints inet6_endpoints(const std::uint8_t* p) {
  ProxyEndpoints out;
  std::memcpy(out.source.bytes.data(), p, 16);
  std::memcpy(out.destination.bytes.data(), p + 16, 16);
  out.source_port = core::get_u16(p + 32);
  out.destination_port = core::get_u16(p + 34);
  return out;
}

// LOCAL: the spec says to use the socket's endpoints and ignore the family, so the block is
// skipped; its TLVs are checked when the family says where they start.
core::Result<ProxyDecodeResult> local_header(core::ByteView block, std::uint8_t family, std::uint8_t protocol,
                                             std::size_t length) {
  const auto offset = tlv_offset(family, protocol);
  if (offset && block.size() >= *offset) {
    if (auto ok = check_tlvs(block.subspan(*offset)); !ok) return ok.error();
  }
  return ProxyDecodeResult{ProxyHeader{2, ProxyHeader::Command::kLocal, std::nullopt, length}};
}

core::Result<ProxyDecodeResult> proxy_header(core::ByteView block, std::uint8_t family, std::uint8_t protocol,
                                             std::size_t length) {
  if (family == kFamilyUnix) return bad("PROXY v2: AF_UNIX addresses are not supported; only TCP is proxied");
  if (protocol == kProtocolDgram) return bad("PROXY v2: UDP is not supported; only TCP is proxied");
  ProxyHeader header{2, ProxyHeader::Command::kProxy, std::nullopt, length};
  const auto offset = tlv_offset(family, protocol);
  // AF_UNSPEC or UNSPEC: an unknown protocol; the spec lets us keep the socket's endpoints.
  if (!offset) return ProxyDecodeResult{header};
  if (block.size() < *offset) {
    return bad("PROXY v2: length " + std::to_string(block.size()) + " is too short for " +
               (family == kFamilyInet ? "TCP over IPv4 (12)" : "TCP over IPv6 (36)"));
  }
  if (auto ok = check_tlvs(block.subspan(*offset)); !ok) return ok.error();
  if (family == kFamilyInet) header.endpoints = inet_endpoints(block.data());
  if (family == kFamilyInet6) header.endpoints = inet6_endpoints(block.data());
  return ProxyDecodeResult{header};
}

core::Result<ProxyDecodeResult> decode_v2(core::ByteView in) {
  if (in.size() > 12) {
    if (auto ok = check_version_command(in[12]); !ok) return ok.error();
  }
  if (in.size() > 13) {
    if (auto ok = check_family(in[13]); !ok) return ok.error();
  }
  if (in.size() < kProxyV2FixedBytes) return ProxyDecodeResult{ProxyNeedMore{}};
  const std::size_t payload = core::get_u16(in.data() + 14);
  if (payload > kMaxProxyV2Payload) {
    return bad("PROXY v2: length " + std::to_string(payload) + " is over our limit of " +
               std::to_string(kMaxProxyV2Payload) + " bytes of addresses and TLVs");
  }
  const std::size_t length = kProxyV2FixedBytes + payload;
  if (in.size() < length) return ProxyDecodeResult{ProxyNeedMore{}};
  const core::ByteView block = in.subspan(kProxyV2FixedBytes, payload);
  const std::uint8_t family = in[13] >> 4;
  const std::uint8_t protocol = in[13] & 0x0F;
  if ((in[12] & 0x0F) == kCommandLocal) return local_header(block, family, protocol, length);
  return proxy_header(block, family, protocol, length);
}

// ---- version 1 ----

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// A decimal number of at most `max_digits` digits without leading zeros ("0" itself is fine).
std::optional<unsigned> canonical_decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  unsigned value = 0;
  for (const char c : text) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

// Exactly four dot-separated numbers 0-255 without leading zeros (spec 2.1: no octal confusion).
std::optional<IpAddress> parse_v1_ipv4(std::string_view text) {
  std::uint32_t value = 0;
  for (int part = 0; part < 4; ++part) {
    const std::size_t end = part < 3 ? text.find('.') : text.size();
    if (end == std::string_view::npos) return std::nullopt;
    const auto octet = canonical_decimal(text.substr(0, end), 3);
    if (!octet || *octet > 255) return std::nullopt;
    value = value << 8 | *octet;
    text.remove_prefix(part < 3 ? end + 1 : end);
  }
  return IpAddress::v4(value);
}

std::optional<IpAddress> parse_v1_ipv6(std::string_view text) {
  if (text.find(':') == std::string_view::npos) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return is_hex(c) || c == ':' || c == '.'; })) {
    return std::nullopt;
  }
  auto address = parse_ip(text);
  if (!address) return std::nullopt;
  return *address;
}

// Splits "a b c d e" on single spaces; nothing when the count differs or a field is empty.
std::optional<std::array<std::string_view, 5>> split_fields(std::string_view line) {
  std::array<std::string_view, 5> fields;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::size_t space = i + 1 < fields.size() ? line.find(' ') : line.size();
    if (space == std::string_view::npos || space == 0) return std::nullopt;
    fields[i] = line.substr(0, space);
    line.remove_prefix(std::min(space + 1, line.size()));
  }
  if (fields[4].find(' ') != std::string_view::npos) return std::nullopt;
  return fields;
}

core::Result<ProxyDecodeResult> parse_v1_line(std::string_view line, std::size_t length) {
  // UNKNOWN: the receiver must ignore whatever follows up to the CRLF.
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) {
    return ProxyDecodeResult{ProxyHeader{1, ProxyHeader::Command::kProxy, std::nullopt, length}};
  }
  const auto fields = split_fields(line);
  if (!fields) return bad("PROXY v1: expected 'PROXY TCP4|TCP6 <source> <destination> <port> <port>'");
  const auto& f = *fields;
  if (f[0] != "TCP4" && f[0] != "TCP6") return bad("PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN");
  const bool v4 = f[0] == "TCP4";
  const auto source = v4 ? parse_v1_ipv4(f[1]) : parse_v1_ipv6(f[1]);
  const auto destination = v4 ? parse_v1_ipv4(f[2]) : parse_v1_ipv6(f[2]);
  if (!source || !destination) {
    return bad(v4 ? "PROXY v1: TCP4 addresses must be dotted quads without leading zeros"
                  : "PROXY v1: TCP6 addresses must be IPv6 addresses");
  }
  const auto source_port = canonical_decimal(f[3], kV1MaxPortDigits);
  const auto destination_port = canonical_decimal(f[4], kV1MaxPortDigits);
  if (!source_port || !destination_port || *source_port > 65535 || *destination_port > 65535) {
    return bad("PROXY v1: ports must be decimal 0-65535 without leading zeros");
  }
  ProxyEndpoints endpoints{*source, *destination, static_cast<std::uint16_t>(*source_port),
                           static_cast<std::uint16_t>(*destination_port)};
  return ProxyDecodeResult{ProxyHeader{1, ProxyHeader::Command::kProxy, endpoints, length}};
}

// Before the CRLF arrives: refuse early what can never become a valid line, so a client that
// sends something else is dropped at once rather than at the timeout.
core::Status check_v1_partial(std::string_view body) {
  constexpr std::array<std::string_view, 3> kProtocols = {"TCP4 ", "TCP6 ", "UNKNOWN"};
  const auto matches = [&](std::string_view protocol) {
    const std::size_t n = std::min(body.size(), protocol.size());
    return body.substr(0, n) == protocol.substr(0, n);
  };
  const auto protocol = std::find_if(kProtocols.begin(), kProtocols.end(), matches);
  if (protocol == kProtocols.end()) return bad("PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN");
  if (*protocol == "UNKNOWN") {
    if (body.size() > protocol->size() && body[protocol->size()] != ' ') {
      return bad("PROXY v1: the protocol is not TCP4, TCP6 or UNKNOWN");
    }
    return core::ok_status();
  }
  if (body.size() <= protocol->size()) return core::ok_status();
  const bool v4 = *protocol == "TCP4 ";
  int spaces = 0;
  bool after_space = true;
  for (const char c : body.substr(protocol->size())) {
    const bool space = c == ' ';
    if (space && (after_space || ++spaces > 3)) return bad("PROXY v1: malformed fields (extra spaces)");
    if (!space && !(v4 ? is_digit(c) || c == '.' : is_hex(c) || c == ':' || c == '.')) {
      return bad("PROXY v1: a character that has no place in a TCP4/TCP6 line");
    }
    after_space = space;
  }
  return core::ok_status();
}

core::Result<ProxyDecodeResult> decode_v1(core::ByteView in) {
  const auto text = std::string_view(reinterpret_cast<const char*>(in.data()), in.size());
  if (text.size() <= kV1Signature.size()) return ProxyDecodeResult{ProxyNeedMore{}};
  const std::size_t scan = std::min(text.size(), kMaxProxyV1Bytes);
  for (std::size_t i = kV1Signature.size(); i < scan; ++i) {
    if (text[i] == '\n') return bad("PROXY v1: a line feed without a carriage return");
    if (text[i] != '\r') continue;
    if (i + 1 >= kMaxProxyV1Bytes) break;  // its LF would be past the limit
    if (i + 1 == text.size()) break;       // the LF has not arrived yet
    if (text[i + 1] != '\n') return bad("PROXY v1: a carriage return without a line feed");
    return parse_v1_line(text.substr(kV1Signature.size(), i - kV1Signature.size()), i + 2);
  }
  if (text.size() >= kMaxProxyV1Bytes) return bad("PROXY v1: no CRLF within the first 107 bytes");
  std::string_view body = text.substr(kV1Signature.size());
  if (body.ends_with('\r')) body.remove_suffix(1);
  if (auto ok = check_v1_partial(body); !ok) return ok.error();
  return ProxyDecodeResult{ProxyNeedMore{}};
}

}  // namespace

core::Result<ProxyDecodeResult> decode_proxy_header(core::ByteView received, ProxyVersions accepted) {
  if (received.empty()) return ProxyDecodeResult{ProxyNeedMore{}};
  if (starts_like(received, kV2Signature)) {
    if (accepted == ProxyVersions::kV1) return bad("a PROXY v2 header on a listener that accepts only v1");
    return decode_v2(received);
  }
  if (starts_like(received, core::as_bytes(kV1Signature))) {
    if (accepted == ProxyVersions::kV2) return bad("a PROXY v1 header on a listener that accepts only v2");
    return decode_v1(received);
  }
  return bad("no PROXY protocol header where one is required (the listener expects one from its load balancer)");
}

}  // namespace hop::proxy
