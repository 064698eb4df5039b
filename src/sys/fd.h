// sys::Fd: a move-only owner of one file descriptor.
//
// Closes in its destructor; release() gives ownership up. The only type in
// vmshare that holds a raw descriptor outside sys/.
#pragma once

#include <utility>

namespace vmshare::sys {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  bool valid() const { return fd_ >= 0; }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void Reset();

 private:
  int fd_ = -1;
};

// The pseudo-descriptor meaning "the current directory" (AT_FDCWD).
const Fd& Cwd();

}  // namespace vmshare::sys
