// The watcher holds no lock across a sync (issue 9 item 4): while its sync
// of one container's volume is stuck (an Env wrapper blocks the sync's
// open of that volume until the test releases it), sharing and unsharing
// another container's volume completes. Runs against the real agent.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>

#include "share/sharer.h"
#include "share/watch_agent.h"
#include "sys/env_wrapper.h"

namespace vmshare::testing {
namespace {

class BlockingEnv : public sys::EnvWrapper {
 public:
  explicit BlockingEnv(std::string path)
      : EnvWrapper(sys::Env::Default()), path_(std::move(path)) {}
  Result<sys::Fd> OpenAt(const sys::Fd& dir, const std::string& path, int flags,
                         mode_t mode) override {
    if (path == path_) {
      std::unique_lock lock(mu_);
      if (armed_) {
        blocked_ = true;
        cv_.notify_all();
        cv_.wait(lock, [&] { return !armed_; });
      }
    }
    return EnvWrapper::OpenAt(dir, path, flags, mode);
  }
  void Arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }
  void Release() {
    std::lock_guard lock(mu_);
    armed_ = false;
    cv_.notify_all();
  }
  bool WaitBlocked() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(120), [&] { return blocked_; });
  }

 private:
  const std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool blocked_ = false;
};

// Runs f on another thread; true when it returned within the (generous)
// limit. Without the fix it never returns until the stuck sync is released.
template <typename F>
bool CompletesWhileBlocked(F f, BlockingEnv& env, Status* result) {
  auto done = std::async(std::launch::async, f);
  const bool ready = done.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  if (!ready) env.Release();
  *result = done.get();
  return ready;
}

TEST(WatchLockTest, ShareOfAnotherContainerIsNotBlockedBySync) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
  TempDir tmp;
  const std::string pods = tmp / "kubelet/pods/";
  KubeletWriter wa(pods + "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/volumes/kubernetes.io~secret/a");
  KubeletWriter wb(pods + "1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/volumes/kubernetes.io~secret/b");
  wa.Write({{"k", {"a1"}}});
  wb.Write({{"k", {"b1"}}});
  RunningAgent agent(tmp.path(), tmp / "guest-shared");
  ASSERT_TRUE(agent.ok()) << agent.log();
  BlockingEnv env(wa.dir());
  share::SharerConfig c;
  c.env = &env;
  c.root = tmp / "root";
  c.sandbox_id = "sb1";
  c.kubelet_root = tmp / "kubelet";
  c.agent = [&agent] { return agent.client(); };
  auto sharer = share::NewSharer("none", c);
  ASSERT_OK(sharer.status());
  ASSERT_OK((*sharer)->Prepare());
  Container c1{"c1", {}}, c2{"c2", {}};
  Mount ma, mb;
  ma.source = wa.dir();
  ma.destination = "/a";
  mb.source = wb.dir();
  mb.destination = "/b";
  ASSERT_OK((*sharer)->ShareFile(c1, ma).status());

  // The watcher's first round rescans c1's copy and sticks in it.
  env.Arm();
  ASSERT_OK((*sharer)->StartFileEventWatcher());
  ASSERT_TRUE(env.WaitBlocked()) << "the watcher never synced c1's volume";

  Status shared, unshared;
  EXPECT_TRUE(
      CompletesWhileBlocked([&] { return (*sharer)->ShareFile(c2, mb).status(); }, env, &shared))
      << "ShareFile of c2 waited for the watcher's sync of c1";
  EXPECT_OK(shared);
  EXPECT_EQ(Diff(wb.dir(), agent.Host(mb.host_path)), "");
  EXPECT_TRUE(CompletesWhileBlocked([&] { return (*sharer)->UnshareFile(c2, mb); }, env, &unshared))
      << "UnshareFile of c2 waited for the watcher's sync of c1";
  EXPECT_OK(unshared);

  // Released, the stuck sync finishes and c1's copy follows its updates.
  env.Release();
  wa.Write({{"k", {"a2"}}});
  EXPECT_EQ(WaitEqual(wa.dir(), agent.Host(ma.host_path)), "");
  (*sharer)->StopFileEventWatcher();
}

}  // namespace
}  // namespace vmshare::testing
