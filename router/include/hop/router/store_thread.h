// StoreThread: the one thread that touches a node's NetDbStore after start-up. The network
// thread posts jobs (values, never references to its own state); SQLite blocks only here.
// Destruction runs every job already posted, then joins: a clean stop loses no write.
// Thread affinity: post() from any one thread; jobs run on the store thread, in order.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "hop/netdb/store.h"

namespace hop::router {

class StoreThread {
 public:
  using Job = std::function<core::Status(netdb::NetDbStore&)>;

  explicit StoreThread(netdb::NetDbStore store);
  ~StoreThread();
  StoreThread(const StoreThread&) = delete;
  StoreThread& operator=(const StoreThread&) = delete;

  // Runs `job` on the store thread; a failure is logged with `what` (rate-limited) and counted.
  void post(std::string what, Job job);
  // Blocks until every job posted so far has run (tests, and the CLI after a stop).
  void flush();
  std::uint64_t failures() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hop::router
