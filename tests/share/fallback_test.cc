// The legacy mount(2) fallback: with open_tree reporting ENOSYS (as on
// kernels before 5.2), the sharer builds the same tree and the same shares
// through /proc/self/fd/N paths, read-only shares included.
#include <sys/mount.h>

#include "share_fixture.h"
#include "sys/env_wrapper.h"

namespace vmshare::testing {
namespace {

class NoOpenTreeEnv : public sys::EnvWrapper {
 public:
  NoOpenTreeEnv() : sys::EnvWrapper(sys::Env::Default()) {}
  Result<sys::Fd> CloneTree(const sys::Fd&, const std::string& path, bool) override {
    ++clone_calls;
    return ErrnoError(ENOSYS, "clone mount tree \"" + path + "\"");
  }
  Status MoveMount(const sys::Fd&, const sys::Fd&) override {
    ++move_calls;
    return ErrnoError(ENOSYS, "move mount");
  }
  Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) override {
    ++mount_calls;
    // The fallback never hands mount(2) a path string it did not resolve.
    if (!source.empty()) {
      EXPECT_EQ(source.rfind("/proc/self/fd/", 0), 0u) << source;
    }
    EXPECT_EQ(target.rfind("/proc/self/fd/", 0), 0u) << target;
    return target_env()->Mount(source, target, fstype, flags, data);
  }
  sys::Env* target_env() const { return target(); }
  int clone_calls = 0, move_calls = 0, mount_calls = 0;
};

class FallbackTest : public ShareFixture {
 protected:
  sys::Env* env() const override { return &env_; }
  mutable NoOpenTreeEnv env_;
};

TEST_F(FallbackTest, SharesWorkWithoutTheNewMountApi) {
  ASSERT_OK(sharer_->Prepare());
  EXPECT_GT(env_.clone_calls, 0);
  EXPECT_GT(env_.mount_calls, 0);
  EXPECT_EQ(env_.move_calls, 0);
  EXPECT_EQ(CountMountsUnder(SandboxDir() + "/"), 3);
  EXPECT_EQ(TryWrite(Shared() + "/x"), EROFS);

  Container c{"c1", {}};
  Mount rw = BindMount(MakeVolume("rw"), "/rw");
  Mount ro = BindMount(MakeVolume("ro"), "/ro", /*ro=*/true);
  ASSERT_TRUE(sharer_->ShareFile(c, rw).ok());
  auto r = sharer_->ShareFile(c, ro);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string rw_name = rw.host_path.substr(Mounts().size() + 1);
  const std::string ro_name = ro.host_path.substr(Mounts().size() + 1);
  EXPECT_EQ(TryWrite(Shared() + "/" + rw_name + "/new"), 0);
  EXPECT_EQ(TryWrite(Mounts() + "/" + ro_name + "/f"), EROFS);
  EXPECT_EQ(TryWrite(Shared() + "/" + ro_name + "/f"), EROFS);
  EXPECT_EQ(ReadFile(Shared() + "/" + ro_name + "/f"), "hello");
  // Staging leaves nothing behind.
  EXPECT_TRUE(std::filesystem::is_empty(Paths().private_dir));
  EXPECT_EQ(CountMountsUnder(Paths().private_dir + "/"), 0);

  ASSERT_OK(sharer_->UnshareFile(c, rw));
  ASSERT_OK(sharer_->UnshareFile(c, ro));
  EXPECT_EQ(CountMountsUnder(Mounts() + "/"), 0);
  ASSERT_OK(sharer_->Cleanup());
  EXPECT_EQ(CountMountsUnder(SandboxDir()), 0);
  EXPECT_FALSE(Exists(SandboxDir()));
}

TEST_F(FallbackTest, ReadOnlyRecursiveBindIsRefusedCleanly) {
  ASSERT_OK(sharer_->Prepare());
  Container c{"c1", {}};
  Mount m = BindMount(MakeVolume("v"), "/v", /*ro=*/true);
  m.options = {"rbind"};
  auto r = sharer_->ShareFile(c, m);
  EXPECT_EQ(r.status().code(), Code::kUnimplemented) << r.status().ToString();
  EXPECT_TRUE(std::filesystem::is_empty(Mounts()));
  EXPECT_TRUE(std::filesystem::is_empty(Paths().private_dir));
  EXPECT_EQ(CountMountsUnder(SandboxDir() + "/"), 3);
}

}  // namespace
}  // namespace vmshare::testing
