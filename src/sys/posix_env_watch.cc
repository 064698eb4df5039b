// PosixEnv: what the volume watcher needs beyond the rest of Env — waiting
// on its inotify fd and its wake-up eventfd at once.
#include <poll.h>

#include <string>

#include "sys/posix_env.h"
#include "sys/retry.h"
#include "sys/sys_error.h"

namespace vmshare::sys {

Result<std::vector<short>> PosixEnv::PollMany(const std::vector<const Fd*>& fds, short events,
                                              std::chrono::milliseconds timeout) {
  std::vector<pollfd> p(fds.size());
  for (size_t i = 0; i < fds.size(); ++i) p[i] = {fds[i]->get(), events, 0};
  const int ms = timeout.count() < 0 ? -1 : static_cast<int>(timeout.count());
  const int n = RetryEintr([&] { return ::poll(p.data(), p.size(), ms); });
  if (n < 0) return SysError("poll " + std::to_string(fds.size()) + " fds");
  std::vector<short> out(fds.size());
  for (size_t i = 0; i < fds.size(); ++i) out[i] = p[i].revents;
  return out;
}

}  // namespace vmshare::sys
