// Protocol constants of the link layer, each with its reason. docs/protocol.md is the reference.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hop::transport {

using namespace std::chrono_literals;

// Noise protocol name; hashed into the initial handshake state.
inline constexpr std::string_view kNoiseProtocolName = "Noise_XK_25519_ChaChaPoly_BLAKE2b";
// Prologue label; the prologue is this label followed by the 4-byte big-endian network id, so
// peers of another protocol version or another overlay fail the first handshake message.
inline constexpr std::string_view kPrologueLabel = "hopline/link/v1";

// Every handshake message and frame is preceded by a 2-byte big-endian length (Noise's limit).
inline constexpr std::size_t kLengthPrefixSize = 2;
inline constexpr std::size_t kMaxFrameSize = 65535;  // ciphertext bytes after the length prefix
inline constexpr std::size_t kAeadTagSize = 16;
inline constexpr std::size_t kMaxFramePlaintext = kMaxFrameSize - kAeadTagSize;

// Handshake message sizes are fixed in v1; any other length closes the connection unread.
inline constexpr std::size_t kIdentityPayloadSize = 32 + 64;             // signing key + certificate
inline constexpr std::size_t kHandshake1Size = 32 + kAeadTagSize;        // e, es, empty payload
inline constexpr std::size_t kHandshake2Size = 32 + kIdentityPayloadSize + kAeadTagSize;  // e, ee
inline constexpr std::size_t kHandshake3Size = 48 + kIdentityPayloadSize + kAeadTagSize;  // s, se

// Block header inside a frame: 1-byte type, 2-byte big-endian body length.
inline constexpr std::size_t kBlockHeaderSize = 3;
inline constexpr std::size_t kMaxBlockBody = kMaxFramePlaintext - kBlockHeaderSize;

// Both directions rekey (Noise Rekey()) after this many frames; no signalling is needed because
// both ends count the same frames.
inline constexpr std::uint64_t kRekeyIntervalFrames = 1u << 16;

// Defaults for the link manager (config keys links.*).
inline constexpr std::size_t kDefaultHardLimit = 1500;
inline constexpr std::size_t kDefaultSoftLimitPercent = 75;
inline constexpr auto kDefaultHandshakeTimeout = 10s;
inline constexpr auto kDefaultIdleTimeout = 5min;
inline constexpr auto kDefaultPingInterval = 30s;
inline constexpr auto kDefaultPingTimeout = 20s;
// Bytes a link may hold for sending before send() reports backpressure.
inline constexpr std::size_t kDefaultMaxQueuedBytes = 4u << 20;
// How often the link manager checks deadlines (handshake, idle, ping) and the soft limit.
inline constexpr auto kTickInterval = 250ms;

}  // namespace hop::transport
