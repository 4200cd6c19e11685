// One link's throughput over loopback TCP: two LinkManagers, each on its own io_context thread
// (two nodes on two cores), the sender keeping the link's queue full.
#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "hop/core/asio_runtime.h"
#include "hop/transport/link_manager.h"

namespace hop::transport {
namespace {

class NodeThread : public LinkEvents {
 public:
  explicit NodeThread(const std::string& host)
      : identity_(core::Identity::generate()), work_(io_.get_executor()), rt_(io_) {
    LinkManagerConfig config;
    config.listen_host = host;
    links_ = std::make_unique<LinkManager>(rt_, identity_, config);
    links_->set_events(this);
    (void)links_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~NodeThread() override {
    boost::asio::post(io_, [this] { links_->stop(); work_.reset(); });
    thread_.join();
  }
  template <class F>
  void call(F f) {
    std::promise<void> done;
    boost::asio::post(io_, [&] { f(); done.set_value(); });
    done.get_future().wait();
  }

  void on_link_up(const LinkInfo&) override { up_.set_value(); }
  void on_link_down(const core::RouterHash&, CloseReason, const std::string&) override {}
  void on_block(const core::RouterHash&, BlockType, core::ByteView body) override {
    received_ += body.size();
    if (target_ && received_ >= target_) {
      target_ = 0;
      done_->set_value();
    }
  }
  void on_writable(const core::RouterHash&) override { pump(); }

  // Sender side: keeps sending `block` until `remaining_` bytes went out.
  void pump() {
    while (remaining_ > 0) {
      if (!links_->send(peer_, BlockType::kCell, block_)) return;  // backpressure: on_writable resumes
      remaining_ -= std::min(remaining_, block_.size());
    }
  }

  core::Identity identity_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  core::AsioRuntime rt_;
  std::unique_ptr<LinkManager> links_;
  std::thread thread_;
  std::promise<void> up_;
  core::RouterHash peer_;
  core::Bytes block_;
  std::size_t remaining_ = 0;
  std::size_t received_ = 0;
  std::size_t target_ = 0;
  std::promise<void>* done_ = nullptr;
};

void BM_LinkThroughputLoopback(benchmark::State& state) {
  const auto block_size = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kBytesPerIteration = 256u << 20;
  NodeThread sender("127.1.0.1"), receiver("127.2.0.1");
  auto linked = sender.up_.get_future();
  sender.call([&] { (void)sender.links_->connect(receiver.links_->local_contact()); });
  linked.wait();
  sender.peer_ = receiver.identity_.hash();
  sender.block_.assign(block_size, 0x33);
  for (auto _ : state) {
    std::promise<void> done;
    receiver.call([&] {
      receiver.received_ = 0;
      receiver.target_ = kBytesPerIteration;
      receiver.done_ = &done;
    });
    const auto start = std::chrono::steady_clock::now();
    sender.call([&] {
      sender.remaining_ = kBytesPerIteration;
      sender.pump();
    });
    done.get_future().wait();
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kBytesPerIteration));
}
BENCHMARK(BM_LinkThroughputLoopback)->Arg(1024)->Arg(16 * 1024)->Arg(60000)->UseManualTime()->Iterations(3);

}  // namespace
}  // namespace hop::transport
