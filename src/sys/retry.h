// RetryEintr: runs a syscall wrapper again while it fails with EINTR.
// Internal to sys/.
#pragma once

#include <cerrno>

namespace vmshare::sys {

template <typename F>
auto RetryEintr(F f) {
  decltype(f()) r;
  do {
    r = f();
  } while (r == -1 && errno == EINTR);
  return r;
}

}  // namespace vmshare::sys
