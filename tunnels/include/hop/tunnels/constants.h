// Tunnel constants, each with its reason. docs/tunnels.md is the wire format; docs/tunnels.md
// and the config keys tunnels.* say what an operator can change.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hop::tunnels {

using namespace std::chrono_literals;

// First byte of a kMessage block for the tunnel service (the router dispatches on it).
inline constexpr std::uint8_t kTunnelService = 3;
// kTunnelTest: body = test id (u64), sent by an owner through its own tunnels; tunnel id 0.
enum class TunnelKind : std::uint8_t { kBuildRequest = 1, kBuildReply = 2, kGatewayMessage = 3, kTunnelTest = 4 };
inline constexpr std::size_t kTunnelTestBodySize = 8;

// Build messages: a fixed number of slots, so the message size says nothing of the length.
inline constexpr std::size_t kBuildSlots = 8;
inline constexpr std::size_t kMaxHops = 7;            // at most 7 hops; 8 slots leave one always random
inline constexpr std::size_t kToPeerSize = 16;        // truncated router hash that names a slot's hop
inline constexpr std::size_t kRecordPlaintextSize = 224;
inline constexpr std::size_t kRecordSize = 288;       // to_peer 16 + ephemeral 32 + 224 + tag 16
inline constexpr std::size_t kReplyPlaintextSize = 272;  // kRecordSize - tag
inline constexpr std::size_t kBuildBodySize = 4 + kBuildSlots * kRecordSize;
inline constexpr std::uint8_t kRecordVersion = 1;
// A hop accepts an expiry at most this far ahead (a tunnel lives 10 min; a little clock skew).
inline constexpr auto kMaxExpiryAhead = 11min;

// Cells: fixed size, so sizes leak nothing; about 1 KiB as DESIGN.md asks.
inline constexpr std::size_t kCellSize = 1024;
inline constexpr std::size_t kCellNonceSize = 12;
inline constexpr std::size_t kCellBodySize = kCellSize - 4 - kCellNonceSize;   // 1008
inline constexpr std::size_t kCellInnerSize = kCellBodySize - 4 - 16;          // 988: after seq and tag
inline constexpr std::size_t kFragmentHeaderSize = 9;  // message_id 4, fragment 2, flags 1, length 2
inline constexpr std::size_t kMaxFragmentData = kCellInnerSize - kFragmentHeaderSize;  // 979
// Largest message a tunnel carries: a link block holds 64 KiB; room for the delivery header.
inline constexpr std::size_t kMaxTunnelMessage = 61440;
inline constexpr std::size_t kReplayWindow = 64;
inline constexpr auto kReassemblyTimeout = 10s;
inline constexpr std::size_t kMaxMessagesInReassembly = 64;

// Reply status codes (docs/tunnels.md, "Hop processing").
enum class BuildStatus : std::uint8_t {
  kAccepted = 0,
  kTransitLimit = 1,
  kBandwidth = 2,
  kRateLimited = 3,
  kBadRequest = 4,
  kIdInUse = 5,
};

// Roles a hop is told in its record.
enum class HopRole : std::uint8_t { kInboundGateway = 1, kParticipant = 2, kOutboundEndpoint = 3 };

// Delivery instructions at the start of an outbound tunnel message.
enum class Delivery : std::uint8_t { kRouter = 1, kTunnel = 2 };

// Defaults of the tunnels.* config keys.
inline constexpr auto kTunnelLifetime = 10min;
// Lifetimes a pool may have: hops refuse expiries more than kMaxExpiryAhead away, and a tunnel
// must outlive its build and the owner's safety margin by a good deal.
inline constexpr auto kMaxLifetime = 10min;
inline constexpr auto kMinLifetime = 10s;
inline constexpr auto kBuildTimeout = 10s;
inline constexpr std::size_t kDefaultMaxTransit = 5000;
inline constexpr std::uint32_t kDefaultParticipationKbps = 128;  // hops must share at least this

}  // namespace hop::tunnels
