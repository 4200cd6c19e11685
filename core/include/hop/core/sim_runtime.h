// A simulated runtime: time moves only when the test says so, and every timer and posted call
// runs in deadline order (ties in scheduling order), so runs are deterministic.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include "hop/core/runtime.h"

namespace hop::core {

// Thread affinity: single-threaded; the test drives it.
class SimRuntime final : public Runtime {
 public:
  // Starts at an arbitrary fixed steady time point and at `wall_start` on the wall clock.
  explicit SimRuntime(WallTime wall_start = WallTime(std::chrono::seconds(1'800'000'000)));
  ~SimRuntime() override;

  TimePoint now() const override { return now_; }
  WallTime wall_now() const override { return wall_start_ + (now_ - start_); }
  std::unique_ptr<Timer> make_timer(std::function<void()> on_fire) override;
  void post(std::function<void()> fn) override;

  // Schedules `fn` at `at` (used by the simulated network for deliveries).
  void schedule(TimePoint at, std::function<void()> fn);
  // Runs everything due within `d`, then leaves the clock at now + d.
  void advance(Duration d);
  // Runs everything due up to and including `t`; the clock ends at t.
  void run_until(TimePoint t);
  // Runs events until none is left or `limit` events ran; returns how many ran.
  std::size_t run_until_idle(std::size_t limit = 1'000'000);
  std::size_t pending() const { return queue_.size(); }

 private:
  struct Key {
    TimePoint at;
    std::uint64_t seq;
    auto operator<=>(const Key&) const = default;
  };
  bool run_one(TimePoint limit);

  TimePoint start_;
  TimePoint now_;
  WallTime wall_start_;
  std::uint64_t seq_ = 0;
  std::map<Key, std::function<void()>> queue_;
};

}  // namespace hop::core
