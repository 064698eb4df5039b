// The watcher after lost inotify events: an Env wrapper swallows the real
// events of updates to two volumes, then turns one later event of the first
// volume into IN_Q_OVERFLOW; the watcher must rescan everything, so the
// second volume (which got no event at all) converges too. Runs against
// the real agent.
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

  // Both updates' events are lost.
  env.drop_ = true;
  wa.Write({{"k", {"a2", 0400}}, {"n", {"new"}}});
  wb.Write({{"k", {"b2"}}, {"m/n", {"nested"}}});
  for (int i = 0; i < 3000; ++i) {  // until the watcher has read (and lost) them
    pollfd p{env.inotify_fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) break;
    sys::Env::Default()->SleepFor(std::chrono::milliseconds(10));
  }
  // One more event on a only, delivered as an overflow.
  env.drop_ = false;
  env.overflow_ = true;
  // The event that carries the overflow must reach the watcher's read; under
  // load the first one can land while the watcher is still busy with the
  // dropped batch, so touch a again until one overflow has been delivered.
  for (int i = 0; i < 300 && env.injected_.load() == 0; ++i) {
    ASSERT_EQ(::chmod(wa.dir().c_str(), i % 2 ? 0755 : 0750), 0);
    sys::Env::Default()->SleepFor(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(::chmod(wa.dir().c_str(), 0755), 0);
  EXPECT_EQ(WaitEqual(wa.dir(), ga), "");
  EXPECT_EQ(WaitEqual(wb.dir(), gb), "") << "b had no event of its own: only the overflow rescan syncs it";
  EXPECT_EQ(env.injected_.load(), 1);
  (*sharer)->StopFileEventWatcher();
}

}  // namespace
}  // namespace vmshare::testing
