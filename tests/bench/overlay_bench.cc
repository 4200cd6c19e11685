// Tunnel build latency on loopback: 10 nodes (real TCP links, Noise, real build records) in one
// process and one io_context, so every hop shares one core: a pessimistic setting. Tunnels live
// 4 s so pools rebuild continuously; every build that completed is one sample.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <set>

#include "hop/core/asio_runtime.h"
#include "hop/router/node.h"

namespace hop::router {
namespace {

using namespace std::chrono_literals;

void run_for(boost::asio::io_context& io, std::chrono::milliseconds d) {
  io.restart();
  io.run_for(d);
}

void BM_TunnelBuild3HopLoopback(benchmark::State& state) {
  spdlog::set_level(spdlog::level::err);
  const auto dir = std::filesystem::temp_directory_path() / ("hopline-bench-" + std::to_string(::getpid()));
  for (auto _ : state) {
    boost::asio::io_context io;
    core::AsioRuntime rt(io);
    std::vector<std::unique_ptr<Node>> nodes;
    for (int i = 0; i < 10; ++i) {
      NodeConfig c;
      c.data_dir = dir / ("node" + std::to_string(i));
      c.listen_host = "127." + std::to_string(90 + i) + ".0.1";
      c.listen_port = 0;
      c.log.level = "error";
      c.floodfill = i < 3;
      c.tunnels.exploratory.lifetime = 4s;
      auto node = Node::create(rt, c, {});
      if (!node || !(*node)->start()) {
        state.SkipWithError("node start failed");
        return;
      }
      nodes.push_back(std::move(*node));
    }
    for (auto& n : nodes) {
      std::vector<transport::PeerContact> others;
      for (auto& o : nodes) {
        if (o != n) others.push_back(o->contact());
      }
      n->set_seeds(others);
    }
    run_for(io, 3000ms);  // links, NetDB, first pools
    std::vector<double> ms;
    std::set<std::pair<Node*, std::uint64_t>> seen;
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < 20s) {
      run_for(io, 100ms);
      for (auto& n : nodes) {
        for (const auto& t : n->tunnels().tunnels()) {
          if (t.build_latency && !t.hops.empty() && seen.insert({n.get(), t.id}).second) {
            ms.push_back(std::chrono::duration<double, std::milli>(*t.build_latency).count());
          }
        }
      }
    }
    for (auto& n : nodes) n->stop();
    run_for(io, 100ms);
    std::sort(ms.begin(), ms.end());
    if (ms.empty()) {
      state.SkipWithError("no tunnel was built");
      return;
    }
    state.counters["builds"] = static_cast<double>(ms.size());
    state.counters["p50_ms"] = ms[ms.size() / 2];
    state.counters["p99_ms"] = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
    state.counters["max_ms"] = ms.back();
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_TunnelBuild3HopLoopback)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
}  // namespace hop::router
