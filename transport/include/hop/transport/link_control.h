// Link control messages (block type kControl) as plain structs, with their Protobuf codec.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "hop/core/bytes.h"
#include "hop/core/result.h"

namespace hop::transport {

struct PingMsg {
  std::uint64_t nonce = 0;
  std::uint32_t padding = 0;  // bytes of padding to add (bandwidth probes)
};
struct PongMsg {
  std::uint64_t nonce = 0;
};
struct CloseMsg {
  std::uint32_t reason = 0;  // CloseReason
  std::string detail;
};
using LinkControl = std::variant<PingMsg, PongMsg, CloseMsg>;

// Largest control body accepted; control messages are small, so anything larger is hostile.
inline constexpr std::size_t kMaxControlSize = 16 * 1024;
inline constexpr std::size_t kMaxCloseDetail = 200;

core::Bytes encode_link_control(const LinkControl& msg);
// Refuses bodies over kMaxControlSize, unparsable bytes and empty messages.
core::Result<LinkControl> decode_link_control(core::ByteView body);

}  // namespace hop::transport
