// The watcher after lost inotify events: an Env wrapper swallows the real
// events of updates to two volumes, then turns one later event of the first
// volume into IN_Q_OVERFLOW; the watcher must rescan everything, so the
// second volume (which got no event at all) converges too. Runs against
// the real agent.
//
// The test first waits until the watcher is idle (its start-up rescan done,
// no retry pending, blocked in its poll with no timeout): ShareFile already
// copied both volumes, so the guest copies look converged long before the
// watcher's own first round, and a first round (or a retry rescan) that
// ran after the updates below would sync both volumes without any overflow
// (once seen as `injected_ == 0` with both copies converged).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>

#include <atomic>
#include <cstring>

#include "share/sharer.h"
#include "share/watch_agent.h"
#include "sys/env_wrapper.h"

namespace vmshare::testing {
namespace {

class OverflowEnv : public sys::EnvWrapper {
 public:
  OverflowEnv() : EnvWrapper(sys::Env::Default()) {}
  Result<sys::Fd> InotifyInit() override {
    auto fd = EnvWrapper::InotifyInit();
    if (fd.ok()) inotify_fd_ = fd->get();
    return fd;
  }
  Result<sys::Fd> EventFd() override {
    auto fd = EnvWrapper::EventFd();
    if (fd.ok()) wake_fd_ = fd->get();
    return fd;
  }
  // The watcher polls without a timeout only when it has nothing to retry.
  Result<std::vector<short>> PollMany(const std::vector<const sys::Fd*>& fds, short events,
                                      std::chrono::milliseconds timeout) override {
    if (timeout.count() < 0) {
      ++idle_entries_;
      idle_ = true;
    }
    auto r = EnvWrapper::PollMany(fds, events, timeout);
    idle_ = false;
    return r;
  }
  // Waits (up to 60 s) until the watcher sits in an untimed poll with no
  // inotify event and no wake-up pending: it has handled everything so far.
  bool WaitIdle() {
    for (int i = 0; i < 3000; ++i) {
      const int before = idle_entries_.load();
      const bool idle = idle_.load();
      pollfd p[2] = {{inotify_fd_.load(), POLLIN, 0}, {wake_fd_.load(), POLLIN, 0}};
      const bool quiet = ::poll(p, 2, 0) == 0;
      if (idle && quiet && idle_.load() && idle_entries_.load() == before) return true;
      sys::Env::Default()->SleepFor(std::chrono::milliseconds(20));
    }
    return false;
  }
  Result<std::string> Read(const sys::Fd& fd, size_t max) override {
    auto got = EnvWrapper::Read(fd, max);
    if (fd.get() != inotify_fd_ || !got.ok() || got->empty()) return got;
    if (drop_) return std::string();  // as if the queue had been empty
    if (!overflow_) return got;
    overflow_ = false;
    ++injected_;
    inotify_event ev{};
    ev.wd = -1;
    ev.mask = IN_Q_OVERFLOW;
    return std::string(reinterpret_cast<const char*>(&ev), sizeof ev);
  }
  std::atomic<bool> drop_{false};
  std::atomic<bool> overflow_{false};
  int inotify_fd() const { return inotify_fd_; }
  std::atomic<int> injected_{0};

 private:
  std::atomic<int> inotify_fd_{-1};
  std::atomic<int> wake_fd_{-1};
  std::atomic<int> idle_entries_{0};
  std::atomic<bool> idle_{false};
};

TEST(WatchOverflowTest, OverflowRescansEveryVolume) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
  TempDir tmp;
  const std::string pod = tmp / "kubelet/pods/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/volumes/";
  KubeletWriter wa(pod + "kubernetes.io~secret/a"), wb(pod + "kubernetes.io~projected/b");
  wa.Write({{"k", {"a1", 0400}}});
  wb.Write({{"k", {"b1"}}});
  RunningAgent agent(tmp.path(), tmp / "guest-shared");
  ASSERT_TRUE(agent.ok()) << agent.log();
  OverflowEnv env;
  share::SharerConfig c;
  c.env = &env;
  c.root = tmp / "root";
  c.sandbox_id = "sb1";
  c.kubelet_root = tmp / "kubelet";
  c.agent = [&agent] { return agent.client(); };
  auto sharer = share::NewSharer("none", c);
  ASSERT_OK(sharer.status());
  ASSERT_OK((*sharer)->Prepare());
  Container ct{"c1", {}};
  Mount ma, mb;
  ma.source = wa.dir();
  ma.destination = "/a";
  mb.source = wb.dir();
  mb.destination = "/b";
  ASSERT_OK((*sharer)->ShareFile(ct, ma).status());
  ASSERT_OK((*sharer)->ShareFile(ct, mb).status());
  ASSERT_OK((*sharer)->StartFileEventWatcher());
  const std::string ga = agent.Host(ma.host_path), gb = agent.Host(mb.host_path);
  ASSERT_EQ(WaitEqual(wa.dir(), ga), "");
  ASSERT_EQ(WaitEqual(wb.dir(), gb), "");
  ASSERT_TRUE(env.WaitIdle()) << "the watcher's start-up rescan never settled";

  // Both updates' events are lost: the watcher reads them, drops them and
  // goes idle again with both guest copies stale.
  env.drop_ = true;
  wa.Write({{"k", {"a2", 0400}}, {"n", {"new"}}});
  wb.Write({{"k", {"b2"}}, {"m/n", {"nested"}}});
  ASSERT_TRUE(env.WaitIdle()) << "the watcher never went idle after the lost events";
  ASSERT_NE(Diff(wa.dir(), ga), "") << "a was synced without an event";
  ASSERT_NE(Diff(wb.dir(), gb), "") << "b was synced without an event";
  ASSERT_EQ(env.injected_.load(), 0);

  // One more event on a only, delivered as an overflow. The watcher is
  // idle, so its next read is this event's.
  env.drop_ = false;
  env.overflow_ = true;
  ASSERT_EQ(::chmod(wa.dir().c_str(), 0755), 0);
  EXPECT_EQ(WaitEqual(wa.dir(), ga), "");
  EXPECT_EQ(WaitEqual(wb.dir(), gb), "")
      << "b had no event of its own: only the overflow rescan syncs it";
  EXPECT_EQ(env.injected_.load(), 1);
  (*sharer)->StopFileEventWatcher();
}

}  // namespace
}  // namespace vmshare::testing
