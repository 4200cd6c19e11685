#include "hop/router/store_thread.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "hop/core/log.h"

namespace hop::router {

struct StoreThread::Impl {
  explicit Impl(netdb::NetDbStore s) : store(std::move(s)) {}
  netdb::NetDbStore store;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::atomic<std::uint64_t> failures{0};
  core::LogLimiter limiter{5, std::chrono::minutes(1)};  // used on the store thread only
  std::thread thread;  // last: started once everything above exists
};

StoreThread::StoreThread(netdb::NetDbStore store) : impl_(std::make_unique<Impl>(std::move(store))) {
  impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

StoreThread::~StoreThread() {
  impl_->work.reset();  // io.run() returns once the queued jobs have run
  impl_->thread.join();
}

void StoreThread::post(std::string what, Job job) {
  boost::asio::post(impl_->io, [impl = impl_.get(), what = std::move(what), job = std::move(job)] {
    auto st = job(impl->store);
    if (st) return;
    impl->failures.fetch_add(1, std::memory_order_relaxed);
    if (impl->limiter.allow(core::SteadyClock::now())) {
      const auto skipped = impl->limiter.take_suppressed();
      spdlog::error("NetDB store: {} failed: {}{}", what, st.error().message(),
                    skipped ? fmt::format(" ({} similar errors not logged)", skipped) : "");
    }
  });
}

void StoreThread::flush() {
  std::promise<void> done;
  boost::asio::post(impl_->io, [&done] { done.set_value(); });
  done.get_future().wait();
}

std::uint64_t StoreThread::failures() const { return impl_->failures.load(std::memory_order_relaxed); }

}  // namespace hop::router
