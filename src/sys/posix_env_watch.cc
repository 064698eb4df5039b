// PosixEnv: what the volume watcher needs beyond the rest of Env — waiting
// on its inotify fd and its wake-up eventfd at once.
#include <poll.h>

#include <cerrno>

#include "sys/posix_env.h"

namespace vmshare::sys {

Result<std::vector<short>> PosixEnv::PollMany(const std::vector<const Fd*>& fds, short events,
                                              std::chrono::milliseconds timeout) {
  std::vector<pollfd> p(fds.size());
  for (size_t i = 0; i < fds.size(); ++i) p[i] = {fds[i]->get(), events, 0};
  const int ms = timeout.count() < 0 ? -1 : static_cast<int>(timeout.count());
  int n;
  do {
    n = ::poll(p.data(), p.size(), ms);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError(errno, "poll");
  std::vector<short> out(fds.size());
  for (size_t i = 0; i < fds.size(); ++i) out[i] = p[i].revents;
  return out;
}

}  // namespace vmshare::sys
