// The node processes of a testnet (`hopline testnet up|down|status`): started detached, each in
// its own session with its output in its log; recorded in DIR/testnet.pids; found alive by their
// command line, so a PID the kernel has since given to another program is never taken for a node
// (nor signalled). Linux only (/proc).
// Thread affinity: the caller's thread; stop_processes() blocks up to its grace period.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hop/core/result.h"

namespace hop::router {

// One line of DIR/testnet.pids.
struct TestnetProcess {
  int index = 0;
  pid_t pid = 0;
  std::string listen;   // the node's link address
  std::string console;  // its console URL
  std::string role;     // "pop", "backend-de", "relay"
  std::filesystem::path config;  // what it was started with: identifies the process
};

// Writes the file atomically (a reader sees the old list or the new one).
core::Status write_pid_file(const std::filesystem::path& path, const std::vector<TestnetProcess>& processes);
// Reads it; errors name the file and line.
core::Result<std::vector<TestnetProcess>> read_pid_file(const std::filesystem::path& path);

// Whether `p.pid` is a live `hopline node --config p.config` (not a zombie, not another program).
bool is_running(const TestnetProcess& p);

// Starts `binary node --config CONFIG` in a new session (no controlling terminal, default signal
// handling), stdin from /dev/null, stdout and stderr appended to `log`. Returns its PID.
core::Result<pid_t> spawn_node(const std::filesystem::path& binary, const std::filesystem::path& config,
                               const std::filesystem::path& log);
// For a child of this process: its exit code (128 + signal) once it has ended, reaping it.
std::optional<int> reap_if_exited(pid_t child);

// SIGTERM to each running process, then waits up to `grace` for all to end; those still running
// get SIGKILL. Returns the indexes of the processes that had to be killed.
std::vector<int> stop_processes(const std::vector<TestnetProcess>& processes, std::chrono::milliseconds grace);

// The path of the running executable (what `up` starts the nodes with).
core::Result<std::filesystem::path> own_executable();

// An exclusive lock on DIR/testnet.lock while a command changes the testnet: two `up`s at once
// would start two sets of nodes.
class TestnetLock {
 public:
  // Errors: another testnet command holds the lock, or the file cannot be opened.
  static core::Result<TestnetLock> acquire(const std::filesystem::path& dir);
  TestnetLock(TestnetLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  TestnetLock& operator=(TestnetLock&&) = delete;
  ~TestnetLock();

 private:
  explicit TestnetLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace hop::router
