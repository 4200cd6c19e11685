#include "hop/core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "hop/core/errors.h"

namespace hop::core {
namespace {

Error errno_error(const std::string& what) {
  return make_error(std::error_code(errno, std::generic_category()), what);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

Status atomic_write_file(const std::filesystem::path& path, ByteView data, unsigned mode) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (fd.get() < 0) return errno_error("creating " + tmp.string());
  // open() applies the umask; make the mode exact (key files must be 0600, not less, not more).
  if (::fchmod(fd.get(), mode) != 0) return errno_error("chmod " + tmp.string());
  std::size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = errno_error("writing " + tmp.string());
      ::unlink(tmp.c_str());
      return e;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    Error e = errno_error("fsync " + tmp.string());
    ::unlink(tmp.c_str());
    return e;
  }
  ::close(fd.release());
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("renaming " + tmp.string() + " to " + path.string());
    ::unlink(tmp.c_str());
    return e;
  }
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());  // best effort: some filesystems refuse it
  return {};
}

Result<Bytes> read_file(const std::filesystem::path& path, std::size_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return errno_error("opening " + path.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path.string());
  if (static_cast<std::size_t>(st.st_size) > max_size) {
    return make_error(Errc::kInvalidArgument, path.string() + " is larger than " +
                                                  std::to_string(max_size) + " bytes");
  }
  Bytes out(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("reading " + path.string());
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

}  // namespace hop::core
