// ConsoleServer: the node's HTTP/1.1 console (Boost.Beast): HTML pages, the JSON API under
// /api/v1/ and Prometheus /metrics (docs/console.md). Read-only for now; it checks the Host
// header (against DNS rebinding) and requires the bearer token for every request that is not GET
// or HEAD.
// A slow or huge request cannot hurt the node: headers, bodies, sessions and the time a request
// may take are bounded (kConsole* below); excess is refused or the connection closed.
// Timers: the accept retry (kConsoleAcceptRetry after a failed accept), the history sample
// (every kConsoleHistoryPeriod while started, for the HTML pages' graphs) and each session's
// read and write deadline (Beast's tcp_stream expiry).
// Thread affinity: the io_context of the AsioRuntime it is given (the node's network thread).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

#include "hop/core/asio_runtime.h"
#include "hop/core/result.h"
#include "hop/router/config.h"

namespace hop::router {

class Node;
class ConsoleHistory;

inline constexpr std::size_t kConsoleHeaderLimit = 8 * 1024;   // request line and headers
inline constexpr std::size_t kConsoleBodyLimit = 64 * 1024;    // no endpoint takes more
inline constexpr std::size_t kConsoleMaxSessions = 32;         // more connections are closed at once
inline constexpr auto kConsoleRequestTimeout = std::chrono::seconds(10);  // to read one request (or idle keep-alive)
inline constexpr auto kConsoleWriteTimeout = std::chrono::seconds(30);    // to write one response
inline constexpr auto kConsoleLinger = std::chrono::seconds(2);           // draining a refused request
inline constexpr std::size_t kConsoleLingerBytes = 1 << 20;              // at most this much is drained
inline constexpr auto kConsoleAcceptRetry = std::chrono::seconds(1);      // after a failed accept (EMFILE)

class ConsoleServer {
 public:
  // `node` must outlive the server; the server only reads it, on the node's thread.
  ConsoleServer(core::AsioRuntime& runtime, const Node& node, ConsoleConfig config);
  ~ConsoleServer();
  ConsoleServer(const ConsoleServer&) = delete;
  ConsoleServer& operator=(const ConsoleServer&) = delete;

  // Checks the config (check_console_config), binds and starts accepting. Errors say what to do.
  core::Status start();
  // Closes the listener and every open session.
  void stop();
  // The bound endpoint (the real port when configured with port 0); valid after start().
  boost::asio::ip::tcp::endpoint local_endpoint() const { return bound_; }

 private:
  class Session;
  friend class Session;

  void do_accept();
  void on_accept(boost::asio::ip::tcp::socket socket);
  std::size_t live_sessions();
  void on_history_sample();

  core::AsioRuntime& runtime_;
  const Node& node_;
  ConsoleConfig config_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<core::Timer> accept_retry_;
  std::unique_ptr<ConsoleHistory> history_;
  std::unique_ptr<core::Timer> history_timer_;
  boost::asio::ip::tcp::endpoint bound_;
  core::TimePoint started_{};
  std::uint64_t next_session_ = 1;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions_;
  std::shared_ptr<int> alive_;  // handlers hold a weak_ptr: they do nothing once the server is gone
};

}  // namespace hop::router
