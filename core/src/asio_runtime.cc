#include "hop/core/asio_runtime.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace hop::core {
namespace {

class AsioTimer final : public Timer {
 public:
  AsioTimer(boost::asio::io_context& io, std::function<void()> on_fire)
      : timer_(io), state_(std::make_shared<State>(State{std::move(on_fire), 0})) {}
  ~AsioTimer() override {
    state_->on_fire = nullptr;  // a handler already queued must not call into a dead owner
    timer_.cancel();
  }

  void arm(TimePoint deadline) override {
    const std::uint64_t generation = ++state_->generation;
    timer_.expires_at(deadline);
    timer_.async_wait([state = state_, generation](const boost::system::error_code& ec) {
      if (ec || state->generation != generation || !state->on_fire) return;
      state->on_fire();
    });
  }

  void cancel() override {
    ++state_->generation;
    timer_.cancel();
  }

 private:
  struct State {
    std::function<void()> on_fire;
    std::uint64_t generation;
  };
  boost::asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

}  // namespace

std::unique_ptr<Timer> AsioRuntime::make_timer(std::function<void()> on_fire) {
  return std::make_unique<AsioTimer>(io_, std::move(on_fire));
}

void AsioRuntime::post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

}  // namespace hop::core
