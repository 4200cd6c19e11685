// The injected runtime: clock, timers and deferred calls. Components never read a clock or create
// an Asio timer themselves; they take a Runtime&. AsioRuntime is real, SimRuntime is simulated.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace hop::core {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Duration = SteadyClock::duration;
using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

// A one-shot timer owned by its user. Destroying it cancels it; its callback never runs after.
class Timer {
 public:
  virtual ~Timer() = default;
  // (Re)arms the timer; an earlier pending deadline is replaced.
  virtual void arm(TimePoint deadline) = 0;
  virtual void cancel() = 0;
};

// Thread affinity: a Runtime belongs to one thread (one io_context); call it only from there.
class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual TimePoint now() const = 0;
  virtual WallTime wall_now() const = 0;
  // The callback runs on the runtime's thread each time the timer fires.
  virtual std::unique_ptr<Timer> make_timer(std::function<void()> on_fire) = 0;
  // Runs `fn` soon on the runtime's thread, after the current handler returns.
  virtual void post(std::function<void()> fn) = 0;
};

}  // namespace hop::core
