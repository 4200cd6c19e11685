// Runtime over a Boost.Asio io_context and the real steady and system clocks.
#pragma once

#include <boost/asio/io_context.hpp>

#include "hop/core/runtime.h"

namespace hop::core {

// Thread affinity: the thread that runs `io`.
class AsioRuntime final : public Runtime {
 public:
  explicit AsioRuntime(boost::asio::io_context& io) : io_(io) {}

  TimePoint now() const override { return SteadyClock::now(); }
  WallTime wall_now() const override { return WallClock::now(); }
  std::unique_ptr<Timer> make_timer(std::function<void()> on_fire) override;
  void post(std::function<void()> fn) override;

  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context& io_;
};

}  // namespace hop::core
