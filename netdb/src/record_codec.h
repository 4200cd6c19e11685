// Helpers the signed-record codecs share (router_info.cc, lease_set.cc): the signing input
// (a domain label, then the body exactly as carried) and copies between Protobuf's byte strings
// and fixed-size keys. Private to netdb.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "hop/core/bytes.h"

namespace hop::netdb {

// label || body: what a record's Ed25519 signature covers.
inline core::Bytes signed_message(std::string_view label, core::ByteView body) {
  core::Bytes msg;
  msg.reserve(label.size() + body.size());
  core::append(msg, core::as_bytes(label));
  core::append(msg, body);
  return msg;
}

// Copies a Protobuf bytes field into a fixed-size array; false when the size is not exactly N.
template <std::size_t N>
bool copy_exact(const std::string& from, std::array<std::uint8_t, N>& to) {
  if (from.size() != N) return false;
  std::memcpy(to.data(), from.data(), N);
  return true;
}

inline std::string as_string(core::ByteView b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace hop::netdb
