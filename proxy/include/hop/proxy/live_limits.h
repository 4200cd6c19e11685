// The proxy limits a running node may change (SIGHUP, docs/operations.md): workers read them on
// every accept, connect and sweep; the node's thread writes them. Relaxed atomics: each value
// stands alone, and a worker that sees the new one a moment later does no harm.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "hop/proxy/proxy_config.h"

namespace hop::proxy {

class LiveLimits {
 public:
  explicit LiveLimits(const ProxyConfig& config) { apply(config); }
  LiveLimits(const LiveLimits&) = delete;
  LiveLimits& operator=(const LiveLimits&) = delete;

  // Takes the live values from `config` (the fields below); the rest of it is ignored. Open
  // connections are not closed: a lower max_connections only refuses new ones until under it.
  void apply(const ProxyConfig& config) {
    max_connections_.store(config.max_connections, kOrder);
    connect_tries_.store(config.connect_tries, kOrder);
    connect_timeout_.store(config.connect_timeout.count(), kOrder);
    idle_timeout_.store(config.idle_timeout.count(), kOrder);
    header_timeout_.store(config.header_timeout.count(), kOrder);
    drain_timeout_.store(config.drain_timeout.count(), kOrder);
  }

  std::uint32_t max_connections() const { return max_connections_.load(kOrder); }
  std::uint32_t connect_tries() const { return connect_tries_.load(kOrder); }
  core::Duration connect_timeout() const { return core::Duration(connect_timeout_.load(kOrder)); }
  core::Duration idle_timeout() const { return core::Duration(idle_timeout_.load(kOrder)); }
  core::Duration header_timeout() const { return core::Duration(header_timeout_.load(kOrder)); }
  core::Duration drain_timeout() const { return core::Duration(drain_timeout_.load(kOrder)); }

 private:
  static constexpr auto kOrder = std::memory_order_relaxed;
  std::atomic<std::uint32_t> max_connections_{0};
  std::atomic<std::uint32_t> connect_tries_{0};
  std::atomic<core::Duration::rep> connect_timeout_{0};
  std::atomic<core::Duration::rep> idle_timeout_{0};
  std::atomic<core::Duration::rep> header_timeout_{0};
  std::atomic<core::Duration::rep> drain_timeout_{0};
};

// Copies the live fields (those LiveLimits::apply reads, and client_rate) from `from` to `to`:
// what the node keeps as its running config after a reload.
inline void copy_live_limits(const ProxyConfig& from, ProxyConfig& to) {
  to.max_connections = from.max_connections;
  to.client_rate = from.client_rate;
  to.connect_tries = from.connect_tries;
  to.connect_timeout = from.connect_timeout;
  to.idle_timeout = from.idle_timeout;
  to.header_timeout = from.header_timeout;
  to.drain_timeout = from.drain_timeout;
}

}  // namespace hop::proxy
