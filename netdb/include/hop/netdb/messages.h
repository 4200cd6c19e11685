// NetDB messages as plain structs, with their codec. A kMessage block for the NetDB starts with
// the service byte kNetDbService, then the Protobuf hop.v1.NetDbMessage.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "hop/core/bytes.h"
#include "hop/core/identity.h"
#include "hop/core/result.h"
#include "hop/netdb/destination.h"

namespace hop::netdb {

// First byte of a kMessage block: which service it is for (the router dispatches on it).
inline constexpr std::uint8_t kNetDbService = 1;
// A message holds at most a few records; 64 KiB is the link's block limit anyway.
inline constexpr std::size_t kMaxNetDbMessage = 60 * 1024;
inline constexpr std::size_t kMaxCloserRecords = 8;
inline constexpr std::size_t kMaxExcluded = 32;

// What a message is about. The wire value 0 (proto3's default) is RouterInfo, so messages
// from before the field read as RouterInfo messages.
enum class RecordKind : std::uint8_t { kRouterInfo = 0, kLeaseSet = 1 };

// `key` is the record's 32-byte DHT key: a router hash for kRouterInfo, a DestinationHash's
// bytes for kLeaseSet (convert with dht_key / destination_of). Records are signed wire bytes
// (SignedRouterInfo or SignedLeaseSet, as `kind` says); `closer` always holds RouterInfos.
struct StoreMsg {
  core::RouterHash key;
  core::Bytes record;
  bool flood = false;
  RecordKind kind = RecordKind::kRouterInfo;
};
struct LookupMsg {
  core::RouterHash key;
  std::uint64_t lookup_id = 0;
  bool exploratory = false;  // kRouterInfo only
  std::vector<core::RouterHash> exclude;
  RecordKind kind = RecordKind::kRouterInfo;
};
struct SearchReplyMsg {
  std::uint64_t lookup_id = 0;
  core::RouterHash key;
  core::Bytes found;                 // empty: not found
  std::vector<core::Bytes> closer;   // RouterInfos of floodfills (or, exploring, routers) closer to the key
  RecordKind kind = RecordKind::kRouterInfo;
};
using NetDbMessage = std::variant<StoreMsg, LookupMsg, SearchReplyMsg>;

// A destination's key in the DHT and in these messages: the same 32 bytes.
inline core::RouterHash dht_key(const DestinationHash& destination) { return core::RouterHash{destination.bytes}; }
inline DestinationHash destination_of(const core::RouterHash& key) { return DestinationHash{key.bytes}; }

// Service byte + Protobuf.
core::Bytes encode_netdb_message(const NetDbMessage& msg);
// Refuses a wrong service byte, oversize, unparsable bytes, bad key sizes, too many entries, an
// unknown record kind and an exploratory LeaseSet lookup.
core::Result<NetDbMessage> decode_netdb_message(core::ByteView block);

}  // namespace hop::netdb
