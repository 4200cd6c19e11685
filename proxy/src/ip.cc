#include "hop/proxy/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "hop/proxy/errors.h"

namespace hop::proxy {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr std::size_t kMaxAddressText = 64;  // longer text is not an address

core::Error bad(std::string_view text, const char* what) {
  return core::make_error(Errc::kBadAddress, "'" + std::string(text.substr(0, kMaxAddressText)) + "': " + what);
}

}  // namespace

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress out;
  std::memcpy(out.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size());
  out.bytes[12] = static_cast<std::uint8_t>(host_order >> 24);
  out.bytes[13] = static_cast<std::uint8_t>(host_order >> 16);
  out.bytes[14] = static_cast<std::uint8_t>(host_order >> 8);
  out.bytes[15] = static_cast<std::uint8_t>(host_order);
  return out;
}

bool IpAddress::is_v4() const { return std::memcmp(bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0; }

std::uint32_t IpAddress::v4_host_order() const {
  return std::uint32_t{bytes[12]} << 24 | std::uint32_t{bytes[13]} << 16 | std::uint32_t{bytes[14]} << 8 | bytes[15];
}

core::Result<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= kMaxAddressText || text.find('\0') != std::string_view::npos) {
    return bad(text, "not an IP address");
  }
  char buffer[kMaxAddressText];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  in_addr v4{};
  if (inet_pton(AF_INET, buffer, &v4) == 1) return IpAddress::v4(ntohl(v4.s_addr));
  IpAddress out;
  if (inet_pton(AF_INET6, buffer, out.bytes.data()) == 1) return out;
  return bad(text, "not an IP address");
}

std::string to_string(const IpAddress& address) {
  char buffer[INET6_ADDRSTRLEN];
  if (address.is_v4()) {
    in_addr v4{htonl(address.v4_host_order())};
    inet_ntop(AF_INET, &v4, buffer, sizeof buffer);
  } else {
    inet_ntop(AF_INET6, address.bytes.data(), buffer, sizeof buffer);
  }
  return buffer;
}

bool IpPrefix::contains(const IpAddress& address) const {
  const std::size_t whole = bits / 8;
  if (std::memcmp(address.bytes.data(), base.bytes.data(), whole) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address.bytes[whole] & mask) == base.bytes[whole];
}

core::Result<IpPrefix> parse_prefix(std::string_view text) {
  const auto slash = text.find('/');
  auto address = parse_ip(text.substr(0, slash));
  if (!address) return bad(text, "not an IP address or CIDR prefix");
  // The text decides the length rule: ::ffff:10.0.0.0/104 is an IPv6 prefix of the mapped range.
  const bool v6_text = text.substr(0, slash).find(':') != std::string_view::npos;
  const unsigned max_bits = v6_text ? 128 : 32;
  unsigned bits = max_bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty() || bits > max_bits) {
      return bad(text, v6_text ? "prefix length must be 0-128" : "prefix length must be 0-32");
    }
  }
  IpPrefix prefix{*address, static_cast<std::uint8_t>(v6_text ? bits : bits + 96)};
  for (unsigned i = prefix.bits; i < 128; ++i) {
    if (prefix.base.bytes[i / 8] & (0x80 >> (i % 8))) return bad(text, "host bits are set below the prefix length");
  }
  return prefix;
}

std::string to_string(const IpPrefix& prefix) {
  if (prefix.base.is_v4() && prefix.bits >= 96) return to_string(prefix.base) + "/" + std::to_string(prefix.bits - 96);
  return to_string(prefix.base) + "/" + std::to_string(prefix.bits);
}

}  // namespace hop::proxy
