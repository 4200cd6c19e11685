#include "testnet_processes.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <thread>

#include "hop/core/errors.h"
#include "hop/core/files.h"
#include "text_lines.h"

extern char** environ;

namespace hop::router {

namespace {

constexpr std::size_t kMaxPidFile = 1 << 20;
constexpr std::size_t kMaxCmdline = 64 * 1024;
constexpr auto kPollInterval = std::chrono::milliseconds(50);
constexpr auto kAfterKill = std::chrono::seconds(2);  // SIGKILL cannot be refused; this is slack

core::Error system_error(int err, const std::string& what) {
  return core::make_error(std::error_code(err, std::system_category()), what);
}

std::vector<std::string> split_words(std::string_view line, std::size_t max_words) {
  std::vector<std::string> out;
  while (!line.empty() && out.size() + 1 < max_words) {
    const auto space = line.find(' ');
    if (space != 0) out.emplace_back(line.substr(0, space));
    if (space == std::string_view::npos) return out;
    line.remove_prefix(space + 1);
  }
  if (!line.empty()) out.emplace_back(line);  // the last field (a path) may hold spaces
  return out;
}

}  // namespace

core::Status write_pid_file(const std::filesystem::path& path, const std::vector<TestnetProcess>& processes) {
  std::string text = "# hopline testnet: index pid listen console role config\n";
  for (const auto& p : processes) {
    text += std::to_string(p.index) + " " + std::to_string(p.pid) + " " + p.listen + " " + p.console + " " + p.role +
            " " + p.config.string() + "\n";
  }
  return core::atomic_write_file(path, core::as_bytes(text), 0644);
}

core::Result<std::vector<TestnetProcess>> read_pid_file(const std::filesystem::path& path) {
  auto data = core::read_file(path, kMaxPidFile);
  if (!data) return data.error();
  std::vector<TestnetProcess> out;
  const std::string_view text(reinterpret_cast<const char*>(data->data()), data->size());
  auto st = for_each_content_line(text, [&](int line_no, std::string_view line) -> core::Status {
    const auto words = split_words(line, 6);
    TestnetProcess p;
    bool ok = words.size() == 6;
    if (ok) ok = std::from_chars(words[0].data(), words[0].data() + words[0].size(), p.index).ec == std::errc();
    if (ok) ok = std::from_chars(words[1].data(), words[1].data() + words[1].size(), p.pid).ec == std::errc();
    if (!ok || p.pid <= 0) {
      return core::make_error(core::Errc::kCorrupt, path.string() + ":" + std::to_string(line_no) +
                                                        ": expected 'index pid listen console role config'");
    }
    p.listen = words[2];
    p.console = words[3];
    p.role = words[4];
    p.config = words[5];
    out.push_back(std::move(p));
    return {};
  });
  if (!st) return st.error();
  return out;
}

bool is_running(const TestnetProcess& p) {
  // NUL-separated arguments; a zombie has none, a process that is gone no file. (Read as a
  // stream: /proc files report a size of 0.)
  std::ifstream in("/proc/" + std::to_string(p.pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> args;
  std::size_t total = 0;
  for (std::string arg; total < kMaxCmdline && std::getline(in, arg, '\0');) {
    total += arg.size() + 1;
    args.push_back(std::move(arg));
  }
  const std::string config = p.config.string();
  bool is_node = false, has_config = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    is_node = is_node || args[i] == "node";
    has_config = has_config || (args[i] == "--config" && i + 1 < args.size() && args[i + 1] == config) ||
                 args[i] == "--config=" + config;
  }
  return is_node && has_config;
}

core::Result<pid_t> spawn_node(const std::filesystem::path& binary, const std::filesystem::path& config,
                               const std::filesystem::path& log) {
  std::string bin = binary.string(), command = "node", flag = "--config", conf = config.string();
  char* argv[] = {bin.data(), command.data(), flag.data(), conf.data(), nullptr};
  posix_spawn_file_actions_t files;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&files);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  // Nothing else of ours: a pipe the caller's output goes to must not stay open for the nodes' lifetime.
  posix_spawn_file_actions_addclosefrom_np(&files, 3);
  // A node of its own session: the terminal's Ctrl-C and hangup do not reach it, only `down`.
  sigset_t defaults, mask;
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&defaults, sig);
  sigemptyset(&mask);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int err = ::posix_spawn(&pid, bin.c_str(), &files, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return system_error(err, "starting " + bin + " node --config " + conf);
  return pid;
}

std::optional<int> reap_if_exited(pid_t child) {
  int status = 0;
  if (::waitpid(child, &status, WNOHANG) != child) return std::nullopt;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<int> stop_processes(const std::vector<TestnetProcess>& processes, std::chrono::milliseconds grace) {
  std::vector<const TestnetProcess*> running;
  for (const auto& p : processes) {
    if (is_running(p) && ::kill(p.pid, SIGTERM) == 0) running.push_back(&p);
  }
  auto wait_until = [&](std::chrono::steady_clock::time_point deadline) {
    while (true) {
      std::erase_if(running, [](const TestnetProcess* p) {
        reap_if_exited(p->pid);  // ours when `up` stops what it started
        return !is_running(*p);
      });
      if (running.empty() || std::chrono::steady_clock::now() >= deadline) return;
      std::this_thread::sleep_for(kPollInterval);
    }
  };
  wait_until(std::chrono::steady_clock::now() + grace);
  std::vector<int> killed;
  for (const auto* p : running) {
    if (::kill(p->pid, SIGKILL) == 0) killed.push_back(p->index);
  }
  wait_until(std::chrono::steady_clock::now() + kAfterKill);
  return killed;
}

core::Result<std::filesystem::path> own_executable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return core::make_error(ec, "finding the hopline binary (/proc/self/exe)");
  return path;
}

core::Result<TestnetLock> TestnetLock::acquire(const std::filesystem::path& dir) {
  const auto path = dir / "testnet.lock";
  // O_CLOEXEC: the nodes `up` starts must not inherit (and hold) the lock.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return system_error(errno, "opening " + path.string());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return core::make_error(core::Errc::kInvalidArgument,
                              "another hopline testnet command is working on " + dir.string() + "; wait for it");
    }
    return system_error(err, "locking " + path.string());
  }
  return TestnetLock(fd);
}

TestnetLock::~TestnetLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace hop::router
