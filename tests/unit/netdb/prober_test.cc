#include "hop/netdb/prober.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "hop/core/sim_runtime.h"
#include "hop/transport/sim_network.h"

namespace hop::netdb {
namespace {

using namespace std::chrono_literals;

core::RouterHash hash_of(int i) {
  core::RouterHash h;
  h.bytes[0] = static_cast<std::uint8_t>(i);
  h.bytes[1] = static_cast<std::uint8_t>(i >> 8);
  return h;
}

TEST(ProbeSchedule, TestsEachPeerAboutOncePerIntervalWithJitter) {
  ProbeSchedule s({.interval = 60s, .jitter = 0.25, .budget_per_minute = 1000}, 1);
  core::TimePoint now{};
  for (int i = 0; i < 20; ++i) s.add(hash_of(i), now);
  std::map<core::RouterHash, std::vector<core::TimePoint>> tests;
  for (int t = 0; t <= 600; ++t) {
    for (const auto& p : s.due(now)) tests[p].push_back(now);
    now += 1s;
  }
  ASSERT_EQ(tests.size(), 20u);
  for (const auto& [peer, times] : tests) {
    EXPECT_GE(times.size(), 8u);
    EXPECT_LE(times.size(), 14u);
    for (std::size_t i = 1; i < times.size(); ++i) {
      EXPECT_GE(times[i] - times[i - 1], 45s);
      EXPECT_LE(times[i] - times[i - 1], 76s);
    }
  }
}

TEST(ProbeSchedule, NeverExceedsTheBudgetPerMinute) {
  ProbeSchedule s({.interval = 10s, .jitter = 0.1, .budget_per_minute = 7}, 2);
  core::TimePoint now{};
  for (int i = 0; i < 100; ++i) s.add(hash_of(i), now);
  for (int minute = 0; minute < 10; ++minute) {
    std::size_t started = 0;
    for (int t = 0; t < 60; ++t) {
      started += s.due(now).size();
      now += 1s;
    }
    EXPECT_EQ(started, 7u) << "minute " << minute;
  }
}

TEST(ProbeSchedule, HeldPeersWaitUntilTheirHoldEnds) {
  ProbeSchedule s({.interval = 10s, .jitter = 0, .budget_per_minute = 100}, 3);
  core::TimePoint now{};
  s.add(hash_of(1), now);
  s.hold(hash_of(1), now + 24h);
  for (int t = 0; t < 100; ++t) {
    EXPECT_TRUE(s.due(now).empty());
    now += 10min;
  }
  now = core::TimePoint{} + 24h;
  EXPECT_EQ(s.due(now).size(), 1u) << "tested again as soon as the ban ends";
}

struct Results final : ProbeSink {
  std::optional<core::WallTime> on_probe_result(const core::RouterHash& peer, bool ok,
                                                std::optional<core::Duration> rtt) override {
    (ok ? good : bad)[peer]++;
    if (rtt) last_rtt = *rtt;
    if (!ok && ban_after > 0 && bad[peer] >= ban_after) return ban_until;
    return std::nullopt;
  }
  void on_bandwidth_result(const core::RouterHash& peer, std::uint64_t bytes, core::Duration elapsed) override {
    bandwidth[peer].push_back(static_cast<double>(bytes) / std::chrono::duration<double>(elapsed).count());
  }
  std::map<core::RouterHash, int> good, bad;
  std::map<core::RouterHash, std::vector<double>> bandwidth;
  core::Duration last_rtt{};
  int ban_after = 0;  // > 0: the sink bans at this many failures
  core::WallTime ban_until{};
};

struct Forward final : transport::LinkEvents {
  Prober* prober = nullptr;
  void on_link_up(const transport::LinkInfo& l) override { prober->on_link_up(l); }
  void on_link_down(const core::RouterHash& p, transport::CloseReason reason, const std::string&) override {
    prober->on_link_down(p, transport::is_lost(reason));
  }
  void on_block(const core::RouterHash& from, transport::BlockType, core::ByteView body) override {
    if (!body.empty() && body[0] == kProbeService) prober->on_message(from, body);
  }
  void on_dial_failed(const transport::PeerContact& c, transport::CloseReason, const std::string&) override {
    prober->on_dial_failed(c);
  }
};

TEST(Prober, ReachablePeersPassDeadOnesFail) {
  core::SimRuntime rt;
  transport::SimNetwork net(rt, 7);
  net.set_default_link({.latency = 20ms});
  std::vector<core::Identity> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(core::Identity::generate());
  auto& me = net.add_node(ids[0], {.host = "127.1.0.1"});
  std::vector<transport::SimLinkLayer*> peers;
  for (int i = 1; i < 6; ++i) peers.push_back(&net.add_node(ids[static_cast<std::size_t>(i)], {.host = "127." + std::to_string(i + 1) + ".0.1"}));
  Results results;
  Forward forward;
  me.set_events(&forward);
  Prober prober(
      rt, me,
      [&](const core::RouterHash& h) -> std::optional<transport::PeerContact> {
        for (auto* p : peers) {
          if (p->identity().hash() == h) return p->contact();
        }
        return std::nullopt;
      },
      results, {.interval = 60s, .budget_per_minute = 100, .probe_timeout = 15s, .bandwidth_bytes = 0});
  forward.prober = &prober;
  for (auto* p : peers) prober.add(p->identity().hash());
  net.kill(peers[4]->identity().hash());
  prober.start();
  rt.advance(10min);
  for (int i = 0; i < 4; ++i) {
    EXPECT_GE(results.good[peers[static_cast<std::size_t>(i)]->identity().hash()], 5) << i;
    EXPECT_EQ(results.bad[peers[static_cast<std::size_t>(i)]->identity().hash()], 0) << i;
  }
  EXPECT_GE(results.bad[peers[4]->identity().hash()], 5);
  EXPECT_EQ(results.good[peers[4]->identity().hash()], 0);
  EXPECT_EQ(results.last_rtt, 40ms);
}

// Our prober on `me` (with `limits`), and two peers b and c on the simulated network.
struct ProbeTrio {
  core::SimRuntime rt;
  transport::SimNetwork net;
  core::Identity a = core::Identity::generate(), b = core::Identity::generate(), c = core::Identity::generate();
  transport::SimLinkLayer* me = nullptr;
  transport::SimLinkLayer* pb = nullptr;
  transport::SimLinkLayer* pc = nullptr;
  Results results;
  Forward forward;
  std::unique_ptr<Prober> prober;

  ProbeTrio(std::uint64_t seed, transport::LinkLimits limits, ProberConfig config) : net(rt, seed) {
    net.set_default_link({.latency = 20ms});
    me = &net.add_node(a, {.host = "127.1.0.1", .limits = limits});
    pb = &net.add_node(b, {.host = "127.2.0.1"});
    pc = &net.add_node(c, {.host = "127.3.0.1"});
    me->set_events(&forward);
    auto contact_of = [this](const core::RouterHash& h) -> std::optional<transport::PeerContact> {
      return h == b.hash() ? pb->contact() : pc->contact();
    };
    prober = std::make_unique<Prober>(rt, *me, contact_of, results, config);
    forward.prober = prober.get();
  }
};

TEST(Prober, ALostLinkHasThePeerTestedAgainAtOnce) {
  ProbeTrio t(10, {}, {.interval = 2h, .budget_per_minute = 100, .probe_timeout = 5s, .bandwidth_bytes = 0});
  ASSERT_TRUE(t.me->connect(t.pb->contact(), {}).ok());
  ASSERT_TRUE(t.me->connect(t.pc->contact(), {}).ok());
  t.prober->add(t.b.hash());
  t.prober->add(t.c.hash());
  t.prober->start();
  t.rt.advance(1s);
  // Neither is due for an hour.
  t.prober->hold(t.b.hash(), t.rt.wall_now() + 1h);
  t.prober->hold(t.c.hash(), t.rt.wall_now() + 1h);
  const int c_good = t.results.good[t.c.hash()];

  t.net.kill(t.b.hash());     // b's link is lost: b is tested again within seconds, and fails
  t.me->disconnect(t.c.hash());  // we closed c's link ourselves: c waits for its turn
  t.rt.advance(Prober::kRetestAfterLoss + 6s);
  EXPECT_EQ(t.results.bad[t.b.hash()], 1);
  EXPECT_EQ(t.results.good[t.c.hash()], c_good);
  EXPECT_EQ(t.results.bad[t.c.hash()], 0);
}

TEST(Prober, OurOwnLinkLimitIsNotThePeersFault) {
  ProbeTrio t(8, {.hard = 1, .soft = 1}, {.interval = 60s, .budget_per_minute = 100, .bandwidth_bytes = 0});
  ASSERT_TRUE(t.me->connect(t.pb->contact(), {.persistent = true}).ok());
  t.rt.advance(1s);
  t.prober->add(t.c.hash());
  t.prober->start();
  t.rt.advance(5min);
  EXPECT_EQ(t.results.bad[t.c.hash()], 0);
  EXPECT_GT(t.prober->probes_skipped_limit(), 0u);
}

// Two nodes on the simulated network, each with a prober that forwards its link events.
struct ProbePair {
  core::SimRuntime rt;
  transport::SimNetwork net{rt, 9};
  core::Identity a = core::Identity::generate(), b = core::Identity::generate();
  transport::SimLinkLayer* la = nullptr;
  transport::SimLinkLayer* lb = nullptr;
  Results ra, rb;
  Forward fa, fb;
  std::unique_ptr<Prober> pa, pb;

  ProbePair(transport::SimLinkProps props, ProberConfig config) {
    net.set_default_link(props);
    la = &net.add_node(a, {.host = "127.1.0.1"});
    lb = &net.add_node(b, {.host = "127.2.0.1"});
    auto contact_of = [this](const core::RouterHash& h) -> std::optional<transport::PeerContact> {
      return h == b.hash() ? std::optional(lb->contact()) : std::optional(la->contact());
    };
    pa = std::make_unique<Prober>(rt, *la, contact_of, ra, config);
    pb = std::make_unique<Prober>(rt, *lb, contact_of, rb, config);
    fa.prober = pa.get();
    fb.prober = pb.get();
    la->set_events(&fa);
    lb->set_events(&fb);
  }
};

TEST(Prober, MeasuresTheLinksBandwidthWithTheRoundTripRemoved) {
  ProbePair p({.latency = 50ms, .bandwidth_bytes_per_sec = 1'000'000},
              {.interval = 30s, .budget_per_minute = 100, .bandwidth_interval = 60s, .bandwidth_bytes = 200'000});
  p.pa->add(p.b.hash());
  p.pa->start();
  p.pb->start();
  p.rt.advance(10min);
  const auto& samples = p.ra.bandwidth[p.b.hash()];
  ASSERT_GE(samples.size(), 5u) << "about one probe per bandwidth_interval once linked";
  for (double bw : samples) {
    EXPECT_NEAR(bw, 1'000'000, 50'000);
  }
  EXPECT_EQ(p.pb->bandwidth_probes_answered(), p.pa->bandwidth_probes_started());
  EXPECT_TRUE(p.rb.bandwidth.empty()) << "b answers probes; it does not measure a";
}

TEST(Prober, AFasterLinkMeasuresFaster) {
  ProbePair slow({.latency = 20ms, .bandwidth_bytes_per_sec = 250'000},
                 {.bandwidth_interval = 60s, .bandwidth_bytes = 100'000});
  ProbePair fast({.latency = 20ms, .bandwidth_bytes_per_sec = 4'000'000},
                 {.bandwidth_interval = 60s, .bandwidth_bytes = 100'000});
  for (auto* p : {&slow, &fast}) {
    ASSERT_TRUE(p->la->connect(p->lb->contact()).ok());
    p->pa->add(p->b.hash());
    p->pa->start();
    p->pb->start();
    p->rt.advance(3min);
  }
  ASSERT_FALSE(slow.ra.bandwidth[slow.b.hash()].empty());
  ASSERT_FALSE(fast.ra.bandwidth[fast.b.hash()].empty());
  EXPECT_GT(fast.ra.bandwidth[fast.b.hash()].back(), 8 * slow.ra.bandwidth[slow.b.hash()].back());
}

TEST(Prober, AnUnansweredBandwidthProbeIsNoSampleAndNoFailure) {
  ProbePair p({.latency = 10ms}, {.interval = 60s, .bandwidth_interval = 60s, .bandwidth_bytes = 50'000});
  ASSERT_TRUE(p.la->connect(p.lb->contact()).ok());
  p.pa->add(p.b.hash());
  p.pa->start();  // b's prober never starts, but it still answers: drop its answers instead
  p.lb->set_events(nullptr);
  p.rt.advance(5min);
  EXPECT_GT(p.pa->bandwidth_probes_started(), 0u);
  EXPECT_TRUE(p.ra.bandwidth.empty());
  EXPECT_EQ(p.ra.bad[p.b.hash()], 0);
}

TEST(Prober, MalformedProbeMessagesAreCountedAndIgnored) {
  ProbePair p({.latency = 10ms}, {.bandwidth_bytes = 0});
  const std::uint8_t junk[] = {kProbeService, 9, 1, 2, 3};
  p.pb->on_message(p.a.hash(), junk);
  const std::uint8_t huge_ack[] = {kProbeService, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  p.pb->on_message(p.a.hash(), huge_ack);  // an ack for no probe of ours: ignored
  EXPECT_EQ(p.pb->malformed_messages(), 1u);
  EXPECT_TRUE(p.rb.bandwidth.empty());
}

TEST(Prober, ABannedPeerIsNotTestedUntilItsBanEnds) {
  core::SimRuntime rt;
  transport::SimNetwork net(rt, 10);
  auto a = core::Identity::generate(), b = core::Identity::generate();
  auto& me = net.add_node(a, {.host = "127.1.0.1"});
  auto& dead = net.add_node(b, {.host = "127.2.0.1"});
  net.kill(b.hash());
  Results results;
  results.ban_after = 3;
  results.ban_until = rt.wall_now() + 24h;
  Forward forward;
  me.set_events(&forward);
  Prober prober(rt, me, [&](const core::RouterHash&) { return std::optional(dead.contact()); }, results,
                {.interval = 60s, .budget_per_minute = 100, .probe_timeout = 5s, .bandwidth_bytes = 0});
  forward.prober = &prober;
  prober.add(b.hash());
  prober.start();
  rt.advance(23h);
  EXPECT_EQ(results.bad[b.hash()], 3) << "three failures ban it; then it is left alone";
  rt.advance(2h);
  EXPECT_GE(results.bad[b.hash()], 4) << "tested again after the ban ends";
}

TEST(ProbeMessage, RoundTripsAndRefusesMalformedBlocks) {
  auto data = encode_probe_data(42, true, 100);
  ASSERT_EQ(data.size(), kProbeHeaderSize + 100);
  auto d = decode_probe_message(data);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<ProbeData>(*d).probe_id, 42u);
  EXPECT_TRUE(std::get<ProbeData>(*d).last);
  EXPECT_EQ(std::get<ProbeData>(*d).size, data.size());
  auto ack = decode_probe_message(encode_probe_ack({7, 123456789}));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(std::get<ProbeAck>(*ack).bytes, 123456789u);

  EXPECT_FALSE(decode_probe_message(encode_probe_data(1, false, kProbeChunk + 1)).ok()) << "oversize";
  auto bad_flag = encode_probe_data(1, false, 0);
  bad_flag[10] = 2;
  EXPECT_FALSE(decode_probe_message(bad_flag).ok());
  auto long_ack = encode_probe_ack({1, 1});
  long_ack.push_back(0);
  EXPECT_FALSE(decode_probe_message(long_ack).ok());
  auto other_service = encode_probe_ack({1, 1});
  other_service[0] = 1;
  EXPECT_FALSE(decode_probe_message(other_service).ok());
  EXPECT_FALSE(decode_probe_message(core::ByteView(data.data(), 9)).ok());
}

}  // namespace
}  // namespace hop::netdb
