#include "hop/netdb/prober.h"

#include <gtest/gtest.h>

#include <map>

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
  void on_probe_result(const core::RouterHash& peer, bool ok, std::optional<core::Duration> rtt) override {
    (ok ? good : bad)[peer]++;
    if (rtt) last_rtt = *rtt;
  }
  std::map<core::RouterHash, int> good, bad;
  core::Duration last_rtt{};
};

struct Forward final : transport::LinkEvents {
  Prober* prober = nullptr;
  void on_link_up(const transport::LinkInfo& l) override { prober->on_link_up(l); }
  void on_link_down(const core::RouterHash&, transport::CloseReason, const std::string&) override {}
  void on_block(const core::RouterHash&, transport::BlockType, core::ByteView) override {}
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
      results, {.interval = 60s, .budget_per_minute = 100, .probe_timeout = 15s});
  forward.prober = &prober;
  for (auto* p : peers) prober.schedule().add(p->identity().hash(), rt.now());
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

TEST(Prober, OurOwnLinkLimitIsNotThePeersFault) {
  core::SimRuntime rt;
  transport::SimNetwork net(rt, 8);
  auto a = core::Identity::generate(), b = core::Identity::generate(), c = core::Identity::generate();
  auto& me = net.add_node(a, {.host = "127.1.0.1", .limits = {.hard = 1, .soft = 1}});
  auto& pb = net.add_node(b, {.host = "127.2.0.1"});
  auto& pc = net.add_node(c, {.host = "127.3.0.1"});
  Results results;
  Forward forward;
  me.set_events(&forward);
  Prober prober(
      rt, me,
      [&](const core::RouterHash& h) -> std::optional<transport::PeerContact> {
        return h == b.hash() ? pb.contact() : pc.contact();
      },
      results, {.interval = 60s, .budget_per_minute = 100});
  forward.prober = &prober;
  ASSERT_TRUE(me.connect(pb.contact(), {.persistent = true}).ok());
  rt.advance(1s);
  prober.schedule().add(c.hash(), rt.now());
  prober.start();
  rt.advance(5min);
  EXPECT_EQ(results.bad[c.hash()], 0);
  EXPECT_GT(prober.probes_skipped_limit(), 0u);
}

}  // namespace
}  // namespace hop::netdb
