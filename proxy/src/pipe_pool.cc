#include "pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace hop::proxy {

Pipe& Pipe::operator=(Pipe&& other) noexcept {
  if (this != &other) {
    reset();
    read_end_ = other.read_end_;
    write_end_ = other.write_end_;
    other.read_end_ = other.write_end_ = -1;
  }
  return *this;
}

void Pipe::reset() {
  if (read_end_ >= 0) ::close(read_end_);
  if (write_end_ >= 0) ::close(write_end_);
  read_end_ = write_end_ = -1;
}

Pipe PipePool::take() {
  if (!spare_.empty()) {
    Pipe pipe = std::move(spare_.back());
    spare_.pop_back();
    return pipe;
  }
  int ends[2];
  if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0) return Pipe();
  // A larger pipe moves more per splice; if the kernel refuses (pipe-max-size, the user's pipe
  // quota), the default 64 KiB still works.
  (void)::fcntl(ends[1], F_SETPIPE_SZ, static_cast<int>(kPipeBytes));
  return Pipe(ends[0], ends[1]);
}

void PipePool::give_back(Pipe pipe) {
  if (spare_.size() < kSpare) spare_.push_back(std::move(pipe));
}

}  // namespace hop::proxy
