// Streams end to end on loopback: 10 nodes in this process (real TCP links, Noise, tunnels,
// sessions, streams) on one io_context thread, a service on node 9 and a client tunnel on node 4.
// The TCP client and backend run on other threads. Every hop of both 3-hop tunnels shares the one
// network thread, so this is the pessimistic setting: a real overlay spreads the 12 layer
// operations and 7 links of the path over 6 machines.
//   BM_Stream/3, /0   one stream's upload throughput (MB/s) through 3-hop (or 0-hop) tunnels,
//                     CPU seconds of the process per MB moved, stream setup time, 64-byte round
//                     trip p50 / p99.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "hop/core/asio_runtime.h"
#include "hop/router/node.h"
#include "support/echo_backend.h"

namespace hop::router {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A backend that greets ("ready\n"), then either echoes (ping-pong) or, after a line "sink N",
// reads N bytes and answers "got N\n".
class BenchBackend {
 public:
  BenchBackend() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~BenchBackend() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      std::thread([sock = std::move(s)]() mutable { serve(std::move(sock)); }).detach();
      accept();
    });
  }
  static void serve(boost::asio::ip::tcp::socket s) {
    boost::system::error_code ec;
    s.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    boost::asio::write(s, boost::asio::buffer(std::string("ready\n")), ec);
    std::vector<char> buf(256 * 1024);
    while (!ec) {
      const std::size_t n = s.read_some(boost::asio::buffer(buf), ec);
      if (ec) break;
      std::string got(buf.data(), n);
      if (got.starts_with("sink ")) {
        while (got.find('\n') == std::string::npos && !ec) {  // the whole header line
          const std::size_t more = s.read_some(boost::asio::buffer(buf), ec);
          got.append(buf.data(), more);
        }
        const std::size_t eol = got.find('\n');
        const std::size_t want = std::stoull(got.substr(5, eol - 5));
        std::size_t have = got.size() - eol - 1;
        while (have < want && !ec) have += s.read_some(boost::asio::buffer(buf), ec);
        boost::asio::write(s, boost::asio::buffer("got " + std::to_string(have) + "\n"), ec);
        continue;
      }
      boost::asio::write(s, boost::asio::buffer(buf.data(), n), ec);
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

void run_for(boost::asio::io_context& io, std::chrono::milliseconds d) {
  io.restart();
  io.run_for(d);
}

// Runs the overlay until `done` (set by another thread) or `limit`.
bool run_until(boost::asio::io_context& io, const std::atomic<bool>& done, std::chrono::seconds limit) {
  const auto start = Clock::now();
  while (!done && Clock::now() - start < limit) run_for(io, 20ms);
  return done;
}

void BM_Stream(benchmark::State& state) {
  spdlog::set_level(spdlog::level::err);
  const std::size_t hops = static_cast<std::size_t>(state.range(0));
  const auto dir = std::filesystem::temp_directory_path() / ("hopline-bench-streams-" + std::to_string(::getpid()));
  constexpr std::size_t kBytes = 200u << 20;
  for (auto _ : state) {
    std::filesystem::remove_all(dir);
    BenchBackend backend;
    boost::asio::io_context io;
    core::AsioRuntime rt(io);
    auto service_keys = netdb::Destination::generate();
    std::vector<std::unique_ptr<Node>> nodes;
    for (int i = 0; i < 10; ++i) {
      NodeConfig c;
      c.data_dir = dir / ("node" + std::to_string(i));
      c.listen_host = "127." + std::to_string(110 + i) + ".0.1";
      c.listen_port = 0;
      c.log.level = "error";
      c.floodfill = i < 3;
      c.bandwidth_kbps = 10'000'000;
      DestinationPoolKeys pool;
      pool.length = hops;
      if (i == 9) {
        std::filesystem::create_directories(c.data_dir);
        (void)service_keys.save(c.data_dir / "bench.dst");
        c.services.push_back({"bench", "bench.dst", "127.0.0.1", backend.port(), pool});
      }
      if (i == 4) c.clients.push_back({"bench", "127.0.0.1", 0, service_keys.address(), {}, pool});
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
    // Tunnels up, and the service's LeaseSet at a floodfill (0-hop pools are up before the links).
    const auto ready = [&] {
      return nodes[4]->destinations().front()->lease_set() && nodes[4]->netdb().floodfills().size() == 3 &&
             nodes[0]->netdb().find_lease_set(service_keys.hash()) && nodes[1]->netdb().find_lease_set(service_keys.hash()) &&
             nodes[2]->netdb().find_lease_set(service_keys.hash());
    };
    for (int i = 0; i < 600 && !ready(); ++i) run_for(io, 100ms);
    if (!ready()) {
      state.SkipWithError("destinations without tunnels");
      return;
    }
    const std::uint16_t port = nodes[4]->clients().front()->port();

    // Setup: a first connection (LeaseSet lookup + session + stream) and a second one (stream only).
    std::atomic<bool> done{false};
    double setup_first = 0, setup_again = 0;
    std::vector<double> rtts;
    double upload_ms = 0;
    double upload_cpu = 0;  // the whole process: overlay, TCP client and backend
    std::string error;
    std::thread client([&] {
      for (double* setup : {&setup_first, &setup_again}) {
        const auto t0 = Clock::now();
        hop::test::TestClient c(port, nullptr, "127.0.0.1", 30);
        if (c.read_line() != "ready") {
          error = "no greeting";
          done = true;
          return;
        }
        *setup = ms_since(t0);
      }
      hop::test::TestClient c(port, nullptr, "127.0.0.1", 30);
      if (c.read_line() != "ready") {
        error = "no greeting";
        done = true;
        return;
      }
      const std::string ping(64, 'p');
      for (int i = 0; i < 2000; ++i) {
        const auto t0 = Clock::now();
        if (!c.echoes(ping)) {
          error = "ping failed";
          done = true;
          return;
        }
        rtts.push_back(ms_since(t0));
      }
      const std::string chunk(256 * 1024, 'x');
      upload_cpu = cpu_seconds();
      const auto t0 = Clock::now();
      c.send("sink " + std::to_string(kBytes) + "\n");
      for (std::size_t sent = 0; sent < kBytes; sent += chunk.size()) c.send(chunk);
      if (c.read_line() != "got " + std::to_string(kBytes)) error = "sink count wrong";
      upload_ms = ms_since(t0);
      upload_cpu = cpu_seconds() - upload_cpu;
      done = true;
    });
    const bool finished = run_until(io, done, 600s);
    client.join();
    for (auto& n : nodes) n->stop();
    run_for(io, 100ms);
    if (!finished || !error.empty()) {
      state.SkipWithError(error.empty() ? "timed out" : error.c_str());
      return;
    }
    std::sort(rtts.begin(), rtts.end());
    state.counters["MBps"] = static_cast<double>(kBytes) / 1e6 / (upload_ms / 1000);
    state.counters["cpu_ms_per_MB"] = upload_cpu * 1000 / (static_cast<double>(kBytes) / 1e6);
    state.counters["rtt_p50_ms"] = rtts[rtts.size() / 2];
    state.counters["rtt_p99_ms"] = rtts[rtts.size() * 99 / 100];
    state.counters["setup_first_ms"] = setup_first;
    state.counters["setup_ms"] = setup_again;
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Stream)->Arg(3)->Arg(0)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
}  // namespace hop::router
