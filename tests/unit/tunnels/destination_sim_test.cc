// End-to-end streams between LocalDestinations over 3-hop tunnels, on a simulated overlay of
// ten nodes (overlay_sim.h): NetDB publication and lookup of LeaseSets, sessions, path moves,
// lossy and slow links, short-lived tunnels, a dead hop, dead and unknown destinations, a
// bandwidth limit. Everything runs on the simulated clock; the crypto draws real random keys,
// so hops differ from run to run and the tests assert only what must hold for every run.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "overlay_sim.h"

namespace hop::tunnels::overlay {
namespace {

// Nodes 0-2 are the floodfills; the destinations live on two ordinary nodes.
constexpr int kNodeA = 4;
constexpr int kNodeB = 8;

double seconds(core::Duration d) { return std::chrono::duration<double>(d).count(); }

// Runs until both destinations have published a LeaseSet and the floodfills had time to store it.
void wait_for_lease_sets(Overlay& w, std::initializer_list<LocalDestination*> destinations) {
  ASSERT_TRUE(w.run_until(
      [&] {
        return std::all_of(destinations.begin(), destinations.end(),
                           [](LocalDestination* d) { return d->lease_set() != nullptr; });
      },
      60s))
      << "no inbound tunnels for a destination within a minute";
  w.rt().advance(2s);
}

// Lets every client write `bytes_per_second` from `start` on: transfers that last a known time.
std::function<void()> pacer(Overlay& w, std::vector<std::unique_ptr<Client>>& clients, double bytes_per_second) {
  const core::TimePoint start = w.rt().now();
  return [&w, &clients, bytes_per_second, start] {
    const auto allowed = static_cast<std::size_t>(seconds(w.rt().now() - start) * bytes_per_second);
    for (auto& c : clients) c->allow(allowed);
  };
}

// The established outbound tunnel of `pool` on `node` that carried the most bytes during the
// next `window`: the one a session's path uses.
std::optional<TunnelView> busiest_outbound(Overlay& w, SimNode& node, PoolId pool, core::Duration window,
                                           const std::function<void()>& each) {
  std::map<std::uint64_t, std::uint64_t> before;
  for (const auto& t : node.tunnels->tunnels()) before[t.id] = t.bytes;
  w.run_until([] { return false; }, window, each);
  std::optional<TunnelView> best;
  std::uint64_t most = 0;
  for (const auto& t : node.tunnels->tunnels()) {
    if (t.pool != pool || t.direction != Direction::kOutbound || t.state != TunnelState::kEstablished) continue;
    const std::uint64_t grew = t.bytes - before[t.id];
    if (grew > most) {
      most = grew;
      best = t;
    }
  }
  return best;
}

// Both ends of every stream are gone (the server's after its linger time).
bool all_ended(const std::vector<std::unique_ptr<Client>>& clients, const Server& server) {
  return server.connections.size() == clients.size() &&
         std::all_of(clients.begin(), clients.end(), [](const auto& c) { return c->end.has_value(); }) &&
         std::all_of(server.connections.begin(), server.connections.end(),
                     [](const auto& c) { return c->end.has_value(); });
}

// Every client's stream finished normally (kFinished at both ends, nothing else) and its bytes
// came back exactly: nothing lost, duplicated or reordered either way.
void expect_all_echoed(const std::vector<std::unique_ptr<Client>>& clients, const Server& server) {
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const Client& c = *clients[i];
    ASSERT_TRUE(c.end.has_value()) << "stream " << i << " still open";
    EXPECT_EQ(*c.end, StreamEnd::kFinished) << "stream " << i << ": " << to_string(*c.end);
    EXPECT_EQ(c.received.size(), c.data().size()) << "stream " << i;
    EXPECT_TRUE(c.echoed_all()) << "stream " << i << ": the echo differs from what was sent";
  }
  ASSERT_EQ(server.connections.size(), clients.size());
  for (const auto& conn : server.connections) {
    ASSERT_TRUE(conn->end.has_value());
    EXPECT_EQ(*conn->end, StreamEnd::kFinished) << to_string(*conn->end);
    const bool matches = std::any_of(clients.begin(), clients.end(),
                                     [&](const auto& c) { return c->data() == conn->received; });
    EXPECT_TRUE(matches) << "the server got bytes that no client sent";
  }
}

TEST(DestinationSim, SeveralStreamsCarryMegabytesEachWayOverLossySlowLinks) {
  // 1 % loss on every link: a cell crosses 7 links end to end, so about 7 % of cells and a
  // quarter of the 4-cell stream packets are lost.
  Overlay w({.link = {.latency = 50ms, .loss = 0.01}});
  LocalDestination& a = w.node(kNodeA).add_destination();
  LocalDestination& b = w.node(kNodeB).add_destination();
  Server server(b, Server::Mode::kEcho);
  wait_for_lease_sets(w, {&a, &b});

  std::vector<std::unique_ptr<Client>> clients;
  for (std::uint64_t i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(a, pattern(2'000'000 + 1000 * i, 100 + i)));
    clients.back()->connect(b.hash());
  }
  const auto start = w.rt().now();
  ASSERT_TRUE(w.run_until([&] { return all_ended(clients, server); }, 10min)) << "transfers did not end in 10 minutes";
  expect_all_echoed(clients, server);
  // The three streams shared one session, found through B's LeaseSet in the NetDB.
  ASSERT_EQ(a.sessions().size(), 1u);
  EXPECT_EQ(a.counters().sessions_initiated, 1u);
  EXPECT_EQ(b.counters().sessions_accepted, 1u);
  EXPECT_EQ(a.counters().streams_opened, 3u);
  EXPECT_EQ(b.counters().streams_accepted, 3u);
  EXPECT_EQ(a.open_streams(), 0u);
  EXPECT_GT(w.net().counters().blocks_lost, 1000u);
  RecordProperty("simulated_seconds", std::to_string(seconds(w.rt().now() - start)));
}

TEST(DestinationSim, ABurstOf200StreamsDoesNotMoveTheSessionOverAndOver) {
  // Links slow enough that 200 streams opening at once queue for seconds: their retransmission
  // timers fire, many of them. The session moves its path for the first, not for every one.
  Overlay w({.link = {.latency = 20ms, .bandwidth_bytes_per_sec = 1'000'000}});
  LocalDestination& a = w.node(kNodeA).add_destination();
  LocalDestination& b = w.node(kNodeB).add_destination();
  Server server(b, Server::Mode::kEcho);
  wait_for_lease_sets(w, {&a, &b});

  std::vector<std::unique_ptr<Client>> clients;
  for (std::uint64_t i = 0; i < 200; ++i) {
    clients.push_back(std::make_unique<Client>(a, pattern(4000, 300 + i)));
    clients.back()->connect(b.hash());
  }
  ASSERT_TRUE(w.run_until([&] { return all_ended(clients, server); }, 5min)) << "the burst did not end in 5 minutes";
  expect_all_echoed(clients, server);
  EXPECT_EQ(a.counters().streams_opened, 200u);
  EXPECT_EQ(a.counters().sessions_initiated, 1u) << "one session carried them all";
  EXPECT_LE(a.counters().path_changes, 20u) << "the session moved for every stream's timeout";
  EXPECT_LE(b.counters().path_changes, 20u);
  EXPECT_LE(a.counters().lease_sets_pushed, 25u);
}

TEST(DestinationSim, TwentySecondTunnelsRotateUnderATwoMinuteTransferWithoutBreakingIt) {
  Overlay w({.link = {.latency = 50ms}, .lifetime = 20s});
  LocalDestination& a = w.node(kNodeA).add_destination();
  LocalDestination& b = w.node(kNodeB).add_destination();
  Server server(b, Server::Mode::kEcho);
  wait_for_lease_sets(w, {&a, &b});
  const auto builds_before = w.node(kNodeA).tunnels->counters().builds_succeeded;

  // Two streams, each paced to 50 KB/s for two minutes: 12 MB each way in all.
  constexpr double kRate = 50'000;
  std::vector<std::unique_ptr<Client>> clients;
  for (std::uint64_t i = 0; i < 2; ++i) {
    clients.push_back(std::make_unique<Client>(a, pattern(static_cast<std::size_t>(kRate * 120), 200 + i)));
    clients.back()->allow(0);
    clients.back()->connect(b.hash());
  }
  const auto start = w.rt().now();
  ASSERT_TRUE(w.run_until([&] { return all_ended(clients, server); }, 5min, pacer(w, clients, kRate)));
  EXPECT_GE(w.rt().now() - start, 2min);
  expect_all_echoed(clients, server);

  // Every tunnel of both of node A's pools was replaced every 15 s or so...
  EXPECT_GE(w.node(kNodeA).tunnels->counters().builds_succeeded - builds_before, 2u * 4u * 6u);
  // ...and both ends of the one session moved their path along, about every 13 s.
  ASSERT_EQ(a.sessions().size(), 1u);
  ASSERT_EQ(b.sessions().size(), 1u);
  EXPECT_GE(a.sessions()[0].path_changes, 5u);
  EXPECT_GE(b.sessions()[0].path_changes, 5u);
  EXPECT_GE(a.counters().path_changes, 5u);
  EXPECT_EQ(a.counters().sessions_initiated, 1u) << "one session for the whole time";
  EXPECT_GE(b.counters().lease_sets_pushed, 5u) << "B told A of its new leases over the session";
}

TEST(DestinationSim, ATransferSurvivesTheDeathOfAMiddleHopOfItsTunnel) {
  Overlay w({.link = {.latency = 50ms}});
  // The ends are kept out of tunnels, so that the hop killed is never one of them.
  w.no_hops = {w.node(kNodeA).hash(), w.node(kNodeB).hash()};
  LocalDestination& a = w.node(kNodeA).add_destination();
  LocalDestination& b = w.node(kNodeB).add_destination();
  Server server(b, Server::Mode::kEcho);
  wait_for_lease_sets(w, {&a, &b});

  // 4 MB paced at 100 KB/s: the hop dies at about a quarter.
  constexpr double kRate = 100'000;
  std::vector<std::unique_ptr<Client>> clients;
  clients.push_back(std::make_unique<Client>(a, pattern(4'000'000, 300)));
  clients.back()->allow(0);
  clients.back()->connect(b.hash());
  const auto pace = pacer(w, clients, kRate);
  auto echoed = [&] { return server.connections.empty() ? 0 : server.connections[0]->received.size(); };
  ASSERT_TRUE(w.run_until([&] { return echoed() > 1'000'000; }, 2min, pace));

  const auto in_use = busiest_outbound(w, w.node(kNodeA), a.pool(), 1s, pace);
  ASSERT_TRUE(in_use.has_value());
  ASSERT_EQ(in_use->hops.size(), 3u);
  const core::RouterHash victim = in_use->hops[1].router;
  ASSERT_NE(w.by_hash(victim), nullptr);
  // Black-holed: it drops everything silently; links stay up until their pings time out (50 s),
  // the tunnel tests replace the tunnels through it after two failures (up to 70 s), and the
  // NetDB's probes would take it out of hop selection some 30 s after its death.
  w.net().blackhole(victim, true);
  w.rt().schedule(w.rt().now() + 30s, [&w, victim] { w.unreachable.insert(victim); });
  const auto paths_before = a.counters().path_changes;
  const auto at_death = echoed();
  const auto died = w.rt().now();

  // The session finds working paths itself, well before the tunnels are replaced: 500 KB more
  // (the pacer's backlog lets that take 5 s) within 45 s.
  ASSERT_TRUE(w.run_until([&] { return echoed() > at_death + 500'000; }, 5min, pace)) << "the transfer stopped";
  EXPECT_LE(w.rt().now() - died, 45s) << "the session waited for the tunnels to be replaced";
  ASSERT_TRUE(w.run_until([&] { return all_ended(clients, server); }, 5min, pace));
  expect_all_echoed(clients, server);
  EXPECT_GT(a.counters().path_changes, paths_before) << "the session left the dead tunnel";
  EXPECT_LT(at_death, clients[0]->data().size()) << "the hop died during the transfer";
}

TEST(DestinationSim, UnknownAndDeadDestinationsFailInTimeAndOthersKeepWorking) {
  Overlay w({.link = {.latency = 50ms}});
  constexpr int kNodeC = 6;  // may be a hop of A's and B's tunnels too: they lose it
  w.no_hops = {w.node(kNodeA).hash(), w.node(kNodeB).hash()};
  LocalDestination& a = w.node(kNodeA).add_destination();
  LocalDestination& b = w.node(kNodeB).add_destination();
  LocalDestination& c = w.node(kNodeC).add_destination();
  Server server_b(b, Server::Mode::kEcho);
  Server server_c(c, Server::Mode::kEcho);
  wait_for_lease_sets(w, {&a, &b, &c});

  // A transfer to B runs through everything below (50 KB/s for 150 s).
  constexpr double kRate = 50'000;
  std::vector<std::unique_ptr<Client>> to_b;
  to_b.push_back(std::make_unique<Client>(a, pattern(static_cast<std::size_t>(kRate * 150), 400)));
  to_b.back()->allow(0);
  to_b.back()->connect(b.hash());
  const auto pace = pacer(w, to_b, kRate);

  // Nobody has this destination's LeaseSet: the lookup gives up, within its timeout.
  Client to_nobody(a, pattern(1000, 401));
  const auto asked = w.rt().now();
  to_nobody.connect(netdb::Destination::generate().hash());
  ASSERT_TRUE(w.run_until([&] { return to_nobody.end.has_value(); }, 1min, pace));
  EXPECT_EQ(*to_nobody.end, StreamEnd::kNoLeaseSet) << to_string(*to_nobody.end);
  EXPECT_LE(w.rt().now() - asked, netdb::NetDbConfig{}.lookup_timeout + 1s);

  // A stream to C is under way when C's node dies: it times out (unanswered retransmissions).
  Client to_c(a, pattern(2'000'000, 402));
  to_c.connect(c.hash());
  ASSERT_TRUE(w.run_until([&] { return to_c.received.size() > 100'000; }, 1min, pace));
  w.node(kNodeC).crash();
  w.rt().schedule(w.rt().now() + 30s, [&w, dead = w.node(kNodeC).hash()] { w.unreachable.insert(dead); });
  const std::size_t to_b_at_crash = to_b[0]->received.size();
  ASSERT_TRUE(w.run_until([&] { return to_c.end.has_value(); }, 5min, pace)) << "the stream to C hangs";
  EXPECT_TRUE(*to_c.end == StreamEnd::kTimeout || *to_c.end == StreamEnd::kConnectTimeout) << to_string(*to_c.end);
  EXPECT_GT(to_b[0]->received.size(), to_b_at_crash + 1'000'000) << "the transfer to B stalled meanwhile";

  // A new stream to the dead destination (its LeaseSet is still held) fails too, in bounded time.
  Client again(a, pattern(1000, 403));
  again.connect(c.hash());
  ASSERT_TRUE(w.run_until([&] { return again.end.has_value(); }, 5min, pace)) << "the new stream to C hangs";
  EXPECT_TRUE(*again.end == StreamEnd::kTimeout || *again.end == StreamEnd::kConnectTimeout) << to_string(*again.end);

  // The transfer to B finishes intact, and a new stream to B works.
  to_b.push_back(std::make_unique<Client>(a, pattern(200'000, 404)));
  to_b.back()->connect(b.hash());
  ASSERT_TRUE(w.run_until([&] { return all_ended(to_b, server_b); }, 5min, pace));
  expect_all_echoed(to_b, server_b);
}

TEST(DestinationSim, ThroughputIsBoundByLinkBandwidthNotByTheRoundTrip) {
  // 256 KiB/s per link and direction, 50 ms per link: a round trip crosses 14 links (0.7 s),
  // so the first window (10 packets of 3.5 KB) alone would make 50 KB/s.
  constexpr double kBandwidth = 256 * 1024;
  Overlay w({.link = {.latency = 50ms, .bandwidth_bytes_per_sec = kBandwidth}, .max_queued_bytes = 128 * 1024});
  w.no_hops = {w.node(kNodeA).hash(), w.node(kNodeB).hash()};
  LocalDestination& a = w.node(kNodeA).add_destination();
  LocalDestination& b = w.node(kNodeB).add_destination();
  Server server(b, Server::Mode::kSink);
  wait_for_lease_sets(w, {&a, &b});

  constexpr std::size_t kSize = 4'000'000;
  std::vector<std::unique_ptr<Client>> clients;
  clients.push_back(std::make_unique<Client>(a, pattern(kSize, 500)));
  clients.back()->connect(b.hash());
  const auto start = w.rt().now();
  ASSERT_TRUE(w.run_until([&] { return !server.connections.empty() && server.connections[0]->shut; }, 10min));
  const double throughput = static_cast<double>(kSize) / seconds(w.rt().now() - start);
  ASSERT_TRUE(w.run_until([&] { return all_ended(clients, server); }, 1min));
  EXPECT_EQ(*clients[0]->end, StreamEnd::kFinished);
  EXPECT_EQ(server.connections[0]->received, clients[0]->data());
  // Never above the links (cells carry 979 of every 1024 bytes, plus headers and acks). Usually
  // 70-80 % of them; half that when the two tunnels of the path happen to cross one link the
  // same way. A stream held back by the round trip would stay near its first window, 50 KB/s.
  EXPECT_LT(throughput, kBandwidth);
  EXPECT_GT(throughput, 0.35 * kBandwidth) << "the window, not the bandwidth, limited the stream";
  RecordProperty("throughput_kib_per_s", std::to_string(throughput / 1024));
}

}  // namespace
}  // namespace hop::tunnels::overlay
