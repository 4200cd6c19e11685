#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "hop/core/asio_runtime.h"
#include "hop/core/log.h"
#include "hop/core/sim_runtime.h"

namespace hop::core {
namespace {

using namespace std::chrono_literals;

TEST(SimRuntime, TimersFireInDeadlineOrderTiesInSchedulingOrder) {
  SimRuntime rt;
  std::string order;
  auto a = rt.make_timer([&] { order += "a"; });
  auto b = rt.make_timer([&] { order += "b"; });
  auto c = rt.make_timer([&] { order += "c"; });
  a->arm(rt.now() + 2s);
  b->arm(rt.now() + 1s);
  c->arm(rt.now() + 2s);
  rt.advance(1500ms);
  EXPECT_EQ(order, "b");
  rt.advance(1s);
  EXPECT_EQ(order, "bac");
}

TEST(SimRuntime, RearmReplacesCancelAndDestructionPreventFiring) {
  SimRuntime rt;
  int fired = 0;
  auto t = rt.make_timer([&] { ++fired; });
  t->arm(rt.now() + 1s);
  t->arm(rt.now() + 5s);
  rt.advance(2s);
  EXPECT_EQ(fired, 0) << "the first deadline was replaced";
  rt.advance(4s);
  EXPECT_EQ(fired, 1);
  t->arm(rt.now() + 1s);
  t->cancel();
  rt.advance(2s);
  EXPECT_EQ(fired, 1);
  t->arm(rt.now() + 1s);
  t.reset();
  rt.advance(2s);
  EXPECT_EQ(fired, 1);
}

TEST(SimRuntime, ADayPassesInstantlyAndWallTimeFollows) {
  SimRuntime rt;
  const auto wall0 = rt.wall_now();
  bool fired = false;
  auto t = rt.make_timer([&] { fired = true; });
  t->arm(rt.now() + 24h);
  rt.advance(24h - 1ns);
  EXPECT_FALSE(fired);
  rt.advance(1ns);
  EXPECT_TRUE(fired);
  EXPECT_EQ(rt.wall_now() - wall0, 24h);
}

TEST(SimRuntime, PostRunsAtTheCurrentTime) {
  SimRuntime rt;
  const auto t0 = rt.now();
  TimePoint ran{};
  rt.post([&] { ran = rt.now(); });
  EXPECT_EQ(rt.run_until_idle(), 1u);
  EXPECT_EQ(ran, t0);
  EXPECT_EQ(rt.pending(), 0u);
}

TEST(AsioRuntime, TimerFiresWhenTheIoContextRuns) {
  boost::asio::io_context io;
  AsioRuntime rt(io);
  bool fired = false;
  auto t = rt.make_timer([&] { fired = true; });
  t->arm(rt.now() + 20ms);
  io.run_for(2s);
  EXPECT_TRUE(fired);
}

TEST(AsioRuntime, DestroyedTimerNeverCallsBack) {
  boost::asio::io_context io;
  AsioRuntime rt(io);
  bool fired = false;
  auto t = rt.make_timer([&] { fired = true; });
  t->arm(rt.now() + 20ms);
  t.reset();
  io.run_for(100ms);
  EXPECT_FALSE(fired);
}

TEST(LogLimiter, AllowsABurstThenCountsWhatItSuppresses) {
  LogLimiter limiter(3, 10s);
  TimePoint now{};
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limiter.allow(now) ? 1 : 0;
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(limiter.take_suppressed(), 7u);
  EXPECT_EQ(limiter.take_suppressed(), 0u);
  EXPECT_TRUE(limiter.allow(now + 10s)) << "a new window";
}

TEST(Logging, RejectsUnknownLevels) {
  EXPECT_TRUE(check_log_level("debug").ok());
  EXPECT_TRUE(check_log_level("off").ok());
  EXPECT_FALSE(check_log_level("loud").ok());
}

}  // namespace
}  // namespace hop::core
