#include "hop/core/sim_runtime.h"

namespace hop::core {
namespace {

class SimTimer final : public Timer {
 public:
  SimTimer(SimRuntime& rt, std::function<void()> on_fire)
      : rt_(rt), state_(std::make_shared<State>(State{std::move(on_fire), 0})) {}
  ~SimTimer() override { state_->on_fire = nullptr; }

  void arm(TimePoint deadline) override {
    const std::uint64_t generation = ++state_->generation;
    rt_.schedule(deadline, [state = state_, generation] {
      if (state->generation == generation && state->on_fire) state->on_fire();
    });
  }
  void cancel() override { ++state_->generation; }

 private:
  struct State {
    std::function<void()> on_fire;
    std::uint64_t generation;
  };
  SimRuntime& rt_;
  std::shared_ptr<State> state_;
};

}  // namespace

SimRuntime::SimRuntime(WallTime wall_start)
    : start_(TimePoint(std::chrono::hours(1))), now_(start_), wall_start_(wall_start) {}

SimRuntime::~SimRuntime() = default;

std::unique_ptr<Timer> SimRuntime::make_timer(std::function<void()> on_fire) {
  return std::make_unique<SimTimer>(*this, std::move(on_fire));
}

void SimRuntime::post(std::function<void()> fn) { schedule(now_, std::move(fn)); }

void SimRuntime::schedule(TimePoint at, std::function<void()> fn) {
  if (at < now_) at = now_;
  queue_.emplace(Key{at, seq_++}, std::move(fn));
}

bool SimRuntime::run_one(TimePoint limit) {
  if (queue_.empty()) return false;
  auto it = queue_.begin();
  if (it->first.at > limit) return false;
  now_ = it->first.at;
  auto fn = std::move(it->second);
  queue_.erase(it);
  fn();
  return true;
}

void SimRuntime::advance(Duration d) { run_until(now_ + d); }

void SimRuntime::run_until(TimePoint t) {
  while (run_one(t)) {
  }
  if (t > now_) now_ = t;
}

std::size_t SimRuntime::run_until_idle(std::size_t limit) {
  std::size_t n = 0;
  while (n < limit && run_one(TimePoint::max())) ++n;
  return n;
}

}  // namespace hop::core
