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

// Peer profiles and the score (docs/netdb.md, "Profiles and the score").
// Reachability tests kept per peer: enough to see a trend, few enough to forget an old outage.
inline constexpr std::size_t kReachabilityWindow = 16;
// RFC 6298 gains: srtt moves 1/8 and rttvar 1/4 of the way towards each new sample.
inline constexpr int kRttGainDivisor = 8;
inline constexpr int kRttVarGainDivisor = 4;
// EWMA weight of a new bandwidth probe: about four probes to follow a lasting change.
inline constexpr double kBandwidthGain = 0.25;
// Build outcomes lose half their weight per hour: tunnels rotate every 10 min, so an hour is
// about six generations of builds.
inline constexpr auto kBuildHalfLife = 1h;
// The score halves for every 6 h a peer has not been seen: old measurements say little.
inline constexpr auto kFreshnessHalfLife = 6h;
// The RTT at which the latency term is 1/2; a tunnel has three hops, so 100 ms each is fine.
inline constexpr auto kReferenceRtt = 100ms;
// The bandwidth at which the bandwidth term is 1/2 (bytes/s); far above one tunnel's needs.
inline constexpr double kReferenceBandwidth = 1'000'000.0;
// Score weights (sum 1): reachability counts most, since an unreachable hop breaks a tunnel.
inline constexpr double kWeightReachability = 0.4;
inline constexpr double kWeightLatency = 0.2;
inline constexpr double kWeightBandwidth = 0.2;
inline constexpr double kWeightBuilds = 0.2;

// Selection pool: a peer seen this recently counts as reachable even if its last test failed.
inline constexpr auto kRecentlySeen = 10min;
inline constexpr double kDefaultMinScore = 0.3;
// Enough distinct hops for many 3-hop tunnels without spreading over poorly known peers.
inline constexpr std::size_t kDefaultSelectionCapacity = 300;

// Store: a persisted profile record is ~300 bytes; larger ones are damaged or hostile.
inline constexpr std::size_t kMaxProfileRecordSize = 1024;
// Marks a SQLite file as a Hopline NetDB (PRAGMA application_id, "HopN").
inline constexpr std::uint32_t kStoreApplicationId = 0x486f704e;
// Schema version (PRAGMA user_version); a newer file is refused, never downgraded.
inline constexpr std::uint32_t kStoreSchemaVersion = 1;
// Another process (an operator's sqlite3 shell) may hold a lock briefly.
inline constexpr auto kStoreBusyTimeout = 5s;

// LeaseSets (docs/netdb.md, "LeaseSets and destinations").
// A full LeaseSet (16 leases) encodes to about 0.9 KiB; the rest is room for later fields.
inline constexpr std::size_t kMaxLeaseSetSize = 4096;
// A pool has at most 6 inbound tunnels; 16 covers overlapping replacements with room to spare.
inline constexpr std::size_t kMaxLeases = 16;
// Tunnels live 10 min; one more minute covers a tunnel built just before the LeaseSet was signed.
inline constexpr auto kMaxLeaseLifetime = 11min;
// Default oldest published time accepted: with kMaxLeaseLifetime, nothing older can still be live.
inline constexpr auto kLeaseSetMaxAge = 11min;

}  // namespace hop::netdb
