// Pipes for splice(2): a bulk direction of a connection moves socket -> pipe -> socket without
// copying through user space. A pipe is lent only while bytes move (or wait in it for a slow
// receiver) and comes back empty, so idle connections hold none.
// Thread affinity: the owning worker's thread.
#pragma once

#include <cstddef>
#include <vector>

namespace hop::proxy {

// Both ends of one pipe(2), closed on destruction; default-constructed: none.
class Pipe {
 public:
  Pipe() = default;
  Pipe(int read_end, int write_end) : read_end_(read_end), write_end_(write_end) {}
  Pipe(Pipe&& other) noexcept : read_end_(other.read_end_), write_end_(other.write_end_) {
    other.read_end_ = other.write_end_ = -1;
  }
  Pipe& operator=(Pipe&& other) noexcept;
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() { reset(); }
  bool is_open() const { return read_end_ >= 0; }
  int read_end() const { return read_end_; }
  int write_end() const { return write_end_; }

 private:
  void reset();
  int read_end_ = -1;
  int write_end_ = -1;
};

class PipePool {
 public:
  static constexpr std::size_t kSpare = 16;            // empty pipes kept for the next bulk wake-up
  static constexpr std::size_t kPipeBytes = 256 * 1024;  // F_SETPIPE_SZ: one splice moves up to this

  // An empty pipe, from the spares or new; none (not is_open) when the kernel gives none (EMFILE
  // and kin): the caller copies through its scratch buffer instead.
  Pipe take();
  // Takes back an empty pipe (one still holding bytes must be dropped, not given back).
  void give_back(Pipe pipe);
  std::size_t spare() const { return spare_.size(); }

 private:
  std::vector<Pipe> spare_;
};

}  // namespace hop::proxy
