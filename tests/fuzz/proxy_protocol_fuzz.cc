// PROXY protocol headers from untrusted bytes: decoding never crashes; a decoded header lies
// within the input, decodes the same from exactly its own bytes, and every shorter prefix of it
// is "need more" (the byte-at-a-time guarantee).
#include <cstddef>
#include <cstdint>

#include "hop/proxy/errors.h"
#include "hop/proxy/proxy_protocol.h"

namespace {

using hop::proxy::ProxyHeader;

bool same(const ProxyHeader& a, const ProxyHeader& b) {
  return a.version == b.version && a.command == b.command && a.endpoints == b.endpoints && a.length == b.length;
}

void check(hop::core::ByteView in, hop::proxy::ProxyVersions accepted) {
  using namespace hop::proxy;
  auto r = decode_proxy_header(in, accepted);
  if (!r.ok()) {
    if (r.error().code != make_error_code(Errc::kProxyHeader)) __builtin_trap();
    return;
  }
  if (std::holds_alternative<ProxyNeedMore>(*r)) {
    if (in.size() >= kProxyV2FixedBytes + kMaxProxyV2Payload) __builtin_trap();
    return;
  }
  const auto& header = std::get<ProxyHeader>(*r);
  if (header.length == 0 || header.length > in.size()) __builtin_trap();
  if (header.version == 1 && header.length > kMaxProxyV1Bytes) __builtin_trap();
  if (header.version == 2 && header.length > kProxyV2FixedBytes + kMaxProxyV2Payload) __builtin_trap();
  auto exact = decode_proxy_header(in.first(header.length), accepted);
  if (!exact.ok() || !std::holds_alternative<ProxyHeader>(*exact) || !same(std::get<ProxyHeader>(*exact), header)) {
    __builtin_trap();
  }
  auto shorter = decode_proxy_header(in.first(header.length - 1), accepted);
  if (!shorter.ok() || !std::holds_alternative<ProxyNeedMore>(*shorter)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hop::proxy;
  if (size > 4 * (kProxyV2FixedBytes + kMaxProxyV2Payload)) return 0;
  const hop::core::ByteView in(data, size);
  check(in, ProxyVersions::kEither);
  check(in, ProxyVersions::kV1);
  check(in, ProxyVersions::kV2);
  return 0;
}
