// The fallbacks for kernels and seccomp profiles without the new mount API
// or openat2. The sharer probes once (share_host.h) and falls back when the
// probe answers ENOSYS (an old kernel), EPERM (a seccomp profile refusing
// syscalls it does not know) or EINVAL (some kernels and profiles): it then
// builds the same tree and the same shares through /proc/self/fd/N paths,
// read-only shares included, and opens sources with openat(O_NOFOLLOW).
#include <sys/mount.h>

#include "share/share_host.h"
#include "share_fixture.h"
#include "sys/env_wrapper.h"

namespace vmshare::testing {
namespace {

// open_tree, move_mount, mount_setattr and openat2 all fail with `err`.
class NoNewApiEnv : public sys::EnvWrapper {
 public:
  explicit NoNewApiEnv(int err) : sys::EnvWrapper(sys::Env::Default()), err_(err) {}
  Result<sys::Fd> CloneTree(const sys::Fd&, const std::string& path, bool) override {
    ++clone_calls;
    return ErrnoError(err_, "clone mount tree \"" + path + "\"");
  }
  Status MoveMount(const sys::Fd&, const sys::Fd&) override {
    ++move_calls;
    return ErrnoError(err_, "move mount");
  }
  Status MountSetattr(const sys::Fd&, const sys::MountAttrs&) override {
    ++setattr_calls;
    return ErrnoError(err_, "set mount attributes");
  }
  Result<sys::Fd> OpenAt2(const sys::Fd&, const std::string& path, int, mode_t, uint64_t) override {
    ++openat2_calls;
    return ErrnoError(err_, "open \"" + path + "\"");
  }
  Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) override {
    ++mount_calls;
    // The fallback never hands mount(2) a path string it did not resolve.
    if (!source.empty()) {
      EXPECT_EQ(source.rfind("/proc/self/fd/", 0), 0u) << source;
    }
    EXPECT_EQ(target.rfind("/proc/self/fd/", 0), 0u) << target;
    return sys::EnvWrapper::Mount(source, target, fstype, flags, data);
  }
  int clone_calls = 0, move_calls = 0, setattr_calls = 0, openat2_calls = 0, mount_calls = 0;

 private:
  int err_;
};

class FallbackTest : public ShareFixture, public ::testing::WithParamInterface<int> {
 protected:
  void SetUp() override {
    env_ = std::make_unique<NoNewApiEnv>(GetParam());
    ShareFixture::SetUp();
  }
  sys::Env* env() const override { return env_.get(); }
  std::unique_ptr<NoNewApiEnv> env_;
};

TEST_P(FallbackTest, ProbeReportsTheApisMissing) {
  share::KernelFeatures f = share::ProbeKernelFeatures(env_.get());
  EXPECT_FALSE(f.mount_api);
  EXPECT_FALSE(f.openat2);
  // The real kernel here has both: the probe answers EBADF, not "missing".
  share::KernelFeatures real = share::ProbeKernelFeatures(sys::Env::Default());
  EXPECT_TRUE(real.mount_api);
  EXPECT_TRUE(real.openat2);
}

TEST_P(FallbackTest, SharesWorkWithoutTheNewMountApi) {
  ASSERT_OK(sharer_->Prepare());
  EXPECT_GT(env_->mount_calls, 0);
  EXPECT_EQ(env_->move_calls, 0);
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
  // Probed once for the sharer's life; the shares never tried the new API.
  EXPECT_EQ(env_->clone_calls, 1);
  EXPECT_EQ(env_->setattr_calls, 1);
  // One probe; MakeDirs' fast path tries openat2 too and walks on failure.
  const int openat2_after_prepare = env_->openat2_calls;
  ASSERT_OK(sharer_->UnshareFile(c, rw));
  ASSERT_TRUE(sharer_->ShareFile(c, rw).ok());
  EXPECT_EQ(env_->openat2_calls, openat2_after_prepare);

  ASSERT_OK(sharer_->UnshareFile(c, rw));
  ASSERT_OK(sharer_->UnshareFile(c, ro));
  EXPECT_EQ(CountMountsUnder(Mounts() + "/"), 0);
  ASSERT_OK(sharer_->Cleanup());
  EXPECT_EQ(CountMountsUnder(SandboxDir()), 0);
  EXPECT_FALSE(Exists(SandboxDir()));
}

TEST_P(FallbackTest, SymlinkSourceIsStillRefused) {
  ASSERT_OK(sharer_->Prepare());
  const std::string vol = MakeVolume("v");
  const std::string link = src_ + "/link";
  std::filesystem::create_symlink(vol, link);
  Container c{"c1", {}};
  Mount m = BindMount(link, "/v");
  auto r = sharer_->ShareFile(c, m);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(std::filesystem::is_empty(Mounts()));
}

TEST_P(FallbackTest, ReadOnlyRecursiveBindIsRefusedCleanly) {
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

INSTANTIATE_TEST_SUITE_P(Errno, FallbackTest, ::testing::Values(ENOSYS, EPERM, EINVAL),
                         [](const ::testing::TestParamInfo<int>& i) {
                           return std::string(i.param == ENOSYS  ? "ENOSYS"
                                              : i.param == EPERM ? "EPERM"
                                                                 : "EINVAL");
                         });

}  // namespace
}  // namespace vmshare::testing
