// NetDB constants, each with its reason. docs/netdb.md explains the model.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hop::netdb {

using namespace std::chrono_literals;

// A RouterInfo is a few hundred bytes; anything near this is hostile or broken.
inline constexpr std::size_t kMaxRouterInfoSize = 4096;
inline constexpr std::size_t kMaxAddresses = 8;
inline constexpr std::size_t kMaxRegionLength = 32;
// Clocks disagree a little; more than this ahead is a lie or a broken clock.
inline constexpr auto kMaxClockSkew = 2min;
// A RouterInfo older than this is expired: its owner republishes well before (kRepublishInterval).
inline constexpr auto kRouterInfoMaxAge = 24h;
inline constexpr auto kRepublishInterval = 30min;

// Bans (config netdb.ban_*): failures in a row before a ban, and its length.
inline constexpr std::uint32_t kDefaultBanAfterFailures = 3;
inline constexpr auto kDefaultBanDuration = 24h;

// Floodfill DHT: how many of the closest floodfills store and are asked.
inline constexpr std::size_t kDefaultReplication = 3;

}  // namespace hop::netdb
