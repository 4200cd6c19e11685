// NetDB messages as plain structs, with their codec. A kMessage block for the NetDB starts with
// the service byte kNetDbService, then the Protobuf hop.v1.NetDbMessage.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "hop/core/bytes.h"
#include "hop/core/identity.h"
#include "hop/core/result.h"

namespace hop::netdb {

// First byte of a kMessage block: which service it is for (the router dispatches on it).
inline constexpr std::uint8_t kNetDbService = 1;
// A message holds at most a few records; 64 KiB is the link's block limit anyway.
inline constexpr std::size_t kMaxNetDbMessage = 60 * 1024;
inline constexpr std::size_t kMaxCloserRecords = 8;
inline constexpr std::size_t kMaxExcluded = 32;

struct StoreMsg {
  core::RouterHash key;
  core::Bytes record;
  bool flood = false;
};
struct LookupMsg {
  core::RouterHash key;
  std::uint64_t lookup_id = 0;
  bool exploratory = false;
  std::vector<core::RouterHash> exclude;
};
struct SearchReplyMsg {
  std::uint64_t lookup_id = 0;
  core::RouterHash key;
  core::Bytes found;                 // empty: not found
  std::vector<core::Bytes> closer;   // signed records
};
using NetDbMessage = std::variant<StoreMsg, LookupMsg, SearchReplyMsg>;

// Service byte + Protobuf.
core::Bytes encode_netdb_message(const NetDbMessage& msg);
// Refuses a wrong service byte, oversize, unparsable bytes, bad key sizes and too many entries.
core::Result<NetDbMessage> decode_netdb_message(core::ByteView block);

}  // namespace hop::netdb
