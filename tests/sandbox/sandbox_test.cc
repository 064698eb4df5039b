// The sandbox layer (sandbox/sandbox.h) on real mounts, as root in the test's
// private mount namespace: record before mount, roll back, the lock, Kata's
// share-tree base and rootfs name, one share at a time, gc of the result.
#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "fault_env.h"
#include "persist/store.h"
#include "sandbox/collect.h"
#include "support/test_util.h"
#include "sys/env_wrapper.h"
#include "sys/mountinfo.h"

namespace vmshare::sandbox {
namespace {

using testing::CountMountsUnder;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

bool Exists(const std::string& p) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(p, ec));
}

// Before every attach of a share, notes the target's path and the host paths
// the container's record holds at that instant.
class RecordingEnv : public sys::EnvWrapper {
 public:
  RecordingEnv(sys::Env* target, std::string state_root)
      : EnvWrapper(target), store_(target, std::move(state_root)) {}

  Status MoveMount(const sys::Fd& tree, const sys::Fd& target_fd) override {
    if (watching_) {
      char buf[4096];
      const std::string link = "/proc/self/fd/" + std::to_string(target_fd.get());
      const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
      Attach a;
      a.target = n > 0 ? std::string(buf, n) : "?";
      auto c = store_.LoadContainer("sb1", "c1");
      if (c.ok()) {
        a.recorded.insert(c->rootfs.host_path);
        for (const vmshare::Mount& m : c->mounts) a.recorded.insert(m.host_path);
      }
      attaches_.push_back(std::move(a));
    }
    return target()->MoveMount(tree, target_fd);
  }

  struct Attach {
    std::string target;
    std::set<std::string> recorded;
  };
  bool watching_ = false;
  std::vector<Attach> attaches_;

 private:
  persist::StateStore store_;
};

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
    root_ = tmp_ / "root";
    std::filesystem::create_directories(tmp_ / "src/rootfs");
    WriteFile(tmp_ / "src/rootfs/hello", "rootfs");
    std::filesystem::create_directories(tmp_ / "src/vol");
    WriteFile(tmp_ / "src/vol/f", "vol");
    WriteFile(tmp_ / "src/file", "file");
  }
  void TearDown() override {
    // Whatever a test left: gc takes it down (and must leave nothing).
    if (!root_.empty()) {
      GcReport r = CollectSandbox(sys::Env::Default(), root_, "sb1", /*dry_run=*/false);
      EXPECT_TRUE(r.status.ok()) << r.status.ToString();
      EXPECT_EQ(CountMountsUnder(tmp_.path() + "/"), 0);
    }
  }

  SandboxOptions Options(sys::Env* env = nullptr) const {
    SandboxOptions o;
    o.env = env;
    o.root = root_;
    o.sandbox_id = "sb1";
    return o;
  }
  std::unique_ptr<Sandbox> Open(SandboxOptions o) {
    auto sb = Sandbox::Open(std::move(o));
    EXPECT_TRUE(sb.ok()) << sb.status().ToString();
    return sb.ok() ? std::move(sb).value() : nullptr;
  }
  static Mount Bind(const std::string& source, const std::string& dest, bool ro = false) {
    Mount m;
    m.source = source;
    m.destination = dest;
    m.type = "bind";
    m.options = {"rbind"};
    m.read_only = ro;
    return m;
  }
  Container C1() const {
    Container c;
    c.id = "c1";
    c.state.rootfs.source = tmp_ / "src/rootfs";
    c.state.rootfs.type = "bind";
    c.state.mounts = {Bind(tmp_ / "src/vol", "/vol"),
                      Bind(tmp_ / "src/file", "/etc/file", /*ro=*/true)};
    return c;
  }
  persist::StateStore Store() const {
    return persist::StateStore(sys::Env::Default(), root_ + "/sbs");
  }

  TempDir tmp_;
  std::string root_;
};

TEST_F(SandboxTest, EveryShareIsRecordedBeforeItIsMounted) {
  RecordingEnv env(sys::Env::Default(), root_ + "/sbs");
  auto sb = Open(Options(&env));
  ASSERT_NE(sb, nullptr);
  ASSERT_OK(sb->Prepare());
  env.watching_ = true;
  auto shared = sb->AddContainer(C1());
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  env.watching_ = false;
  ASSERT_EQ(env.attaches_.size(), 3u) << "rootfs and two mounts";
  for (const auto& a : env.attaches_)
    EXPECT_TRUE(a.recorded.count(a.target)) << a.target << " was mounted before it was recorded";
  // The final record says mounted.
  auto rec = Store().LoadContainer("sb1", "c1");
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_TRUE(rec->rootfs.mounted);
  ASSERT_EQ(rec->mounts.size(), 2u);
  for (const Mount& m : rec->mounts) EXPECT_TRUE(m.mounted) << m.destination;
  EXPECT_EQ(ReadFile(sb->layout().tree.shared + "/c1/rootfs/hello"), "rootfs");
  EXPECT_EQ(ReadFile(shared->container.state.mounts[1].host_path), "file");

  ASSERT_OK(sb->RemoveContainer("c1"));
  EXPECT_EQ(Store().LoadContainer("sb1", "c1").status().code(), Code::kNotFound);
  EXPECT_EQ(CountMountsUnder(sb->layout().tree.mounts + "/"), 0);
  ASSERT_OK(sb->Cleanup(/*force=*/false));
  EXPECT_FALSE(Exists(sb->layout().tree.sandbox));
  EXPECT_FALSE(Exists(sb->layout().state_dir));
}

TEST_F(SandboxTest, FailedShareRollsBackAndLeavesNoRecord) {
  auto sb = Open(Options());
  ASSERT_NE(sb, nullptr);
  ASSERT_OK(sb->Prepare());
  const int base = CountMountsUnder(sb->layout().tree.sandbox + "/");
  Container c = C1();
  c.state.mounts.push_back(Bind(tmp_ / "src/missing", "/missing"));
  auto shared = sb->AddContainer(c);
  ASSERT_FALSE(shared.ok());
  EXPECT_EQ(shared.status().code(), Code::kNotFound);
  EXPECT_NE(shared.status().message().find("share container \"c1\""), std::string::npos)
      << shared.status().ToString();
  EXPECT_NE(shared.status().message().find("missing"), std::string::npos)
      << shared.status().ToString();
  EXPECT_EQ(CountMountsUnder(sb->layout().tree.sandbox + "/"), base);
  EXPECT_EQ(Store().LoadContainer("sb1", "c1").status().code(), Code::kNotFound);
  // A second share of the same id is fine; a third is refused.
  ASSERT_TRUE(sb->AddContainer(C1()).ok());
  auto again = sb->AddContainer(C1());
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  ASSERT_OK(sb->Cleanup(/*force=*/true));
}

TEST_F(SandboxTest, UnpreparedSandboxIsNamed) {
  auto sb = Open(Options());
  ASSERT_NE(sb, nullptr);
  auto shared = sb->AddContainer(C1());
  ASSERT_FALSE(shared.ok());
  EXPECT_EQ(shared.status().code(), Code::kNotFound);
  EXPECT_EQ(shared.status().message(),
            "sandbox \"sb1\" does not exist (run `vmshare sandbox prepare sb1` first)");
  EXPECT_FALSE(Exists(root_));
}

TEST_F(SandboxTest, HeldLockGivesBusyWithoutWaiting) {
  auto holder = Open(Options());
  ASSERT_NE(holder, nullptr);
  ASSERT_OK(holder->Prepare());
  ASSERT_OK(holder->Hold());
  SandboxOptions o = Options();
  o.nonblocking_lock = true;
  auto other = Open(o);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->AddContainer(C1()).status().code(), Code::kBusy);
  Container c = C1();
  EXPECT_EQ(other->ShareRootfs(c).status().code(), Code::kBusy);
  EXPECT_EQ(other->Cleanup(/*force=*/true).code(), Code::kBusy);
  EXPECT_EQ(CountMountsUnder(holder->layout().tree.mounts + "/"), 0);
  // The holder's own calls do not wait for its own lock.
  ASSERT_TRUE(holder->AddContainer(C1()).ok());
  holder->Release();
  ASSERT_OK(other->Cleanup(/*force=*/true));
  EXPECT_FALSE(Exists(holder->layout().tree.sandbox));
}

TEST_F(SandboxTest, OtherSettingsAreRefused) {
  ASSERT_OK(Open(Options())->Prepare());
  SandboxOptions o = Options();
  SandboxState want;
  want.shared_fs = "virtio-fs";
  want.bind_mounts = {tmp_ / "src/vol"};
  o.settings = want;
  auto sb = Open(o);
  ASSERT_NE(sb, nullptr);
  Status s = sb->Prepare();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "prepare sandbox \"sb1\": already prepared with other settings (clean it up first)");
  ASSERT_OK(sb->Cleanup(false));
}

// Kata's layout: <share_base>/<sid>/{mounts,shared,private}, rootfs at
// <cid>/<rootfs_name>; the record keeps both, so gc finds the tree.
TEST_F(SandboxTest, KataShareBaseAndRootfsName) {
  const std::string base = tmp_ / "kata/shared/sandboxes";
  SandboxOptions o = Options();
  SandboxState want;
  want.share_base = base;
  want.rootfs_name = "rootfs-k";
  o.settings = want;
  auto sb = Open(o);
  ASSERT_NE(sb, nullptr);
  ASSERT_OK(sb->Prepare());
  EXPECT_EQ(sb->layout().tree.sandbox, base + "/sb1");
  EXPECT_EQ(sb->HostExportDir(), base + "/sb1/shared");
  EXPECT_FALSE(Exists(root_ + "/sandboxes"));
  auto shared = sb->AddContainer(C1());
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_EQ(shared->rootfs.guest_path, "/run/kata-containers/shared/containers/c1/rootfs-k");
  EXPECT_EQ(shared->container.state.rootfs.host_path, base + "/sb1/mounts/c1/rootfs-k");
  EXPECT_EQ(ReadFile(base + "/sb1/shared/c1/rootfs-k/hello"), "rootfs");

  // A later opener without settings gets them from the record.
  auto reopened = Open(Options());
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->layout().tree.sandbox, base + "/sb1");
  EXPECT_EQ(reopened->settings().rootfs_name, "rootfs-k");

  // A crash here (nothing undone): gc finds the tree through the record.
  sb.reset();
  reopened.reset();
  GcReport r = CollectSandbox(sys::Env::Default(), root_, "sb1", /*dry_run=*/false);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(CountMountsUnder(base + "/"), 0);
  EXPECT_FALSE(Exists(base + "/sb1"));
  EXPECT_FALSE(Exists(root_ + "/sbs/sb1"));
}

TEST_F(SandboxTest, BadKataOptionsAreRefusedBeforeAnyChange) {
  struct Case {
    const char* name;
    std::string share_base;
    std::string rootfs_name;
  };
  const Case kCases[] = {
      {"relative share base", "rel/base", "rootfs"},
      {"rootfs name with a slash", "", "a/b"},
      {"rootfs name ..", "", ".."},
      {"empty rootfs name", "", ""},
  };
  for (const Case& c : kCases) {
    SandboxOptions o = Options();
    SandboxState want;
    want.share_base = c.share_base;
    want.rootfs_name = c.rootfs_name;
    o.settings = want;
    auto sb = Sandbox::Open(o);
    EXPECT_EQ(sb.status().code(), Code::kInvalidArgument) << c.name;
    EXPECT_FALSE(Exists(root_)) << c.name;
  }
}

// The C ABI's calls: one share at a time, each recorded; a mount that is not
// in the container's Mounts is added to the record.
TEST_F(SandboxTest, OneShareAtATime) {
  auto sb = Open(Options());
  ASSERT_NE(sb, nullptr);
  ASSERT_OK(sb->Prepare());
  Container c;
  c.id = "c1";
  c.state.rootfs.source = tmp_ / "src/rootfs";
  auto root = sb->ShareRootfs(c);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  Mount m = Bind(tmp_ / "src/vol", "/vol", /*ro=*/true);
  auto f = sb->ShareFile(c, m);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(f->has_value());
  auto rec = Store().LoadContainer("sb1", "c1");
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  ASSERT_EQ(rec->mounts.size(), 1u);
  EXPECT_EQ(rec->mounts[0].host_path, m.host_path);
  EXPECT_TRUE(rec->mounts[0].mounted);
  EXPECT_TRUE(rec->rootfs.mounted);

  // Kata would unmount whatever HostPath names; vmshare refuses a path
  // outside the sandbox's tree and unmounts nothing.
  Mount outside = m;
  outside.host_path = tmp_ / "src/vol";
  Status s = sb->UnshareFile(c, outside);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(CountMountsUnder(sb->layout().tree.mounts + "/"), 2);

  ASSERT_OK(sb->UnshareFile(c, m));
  rec = Store().LoadContainer("sb1", "c1");
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(rec->mounts.size(), 1u);
  EXPECT_FALSE(rec->mounts[0].mounted);
  EXPECT_TRUE(rec->mounts[0].host_path.empty());
  ASSERT_OK(sb->UnshareRootfs(c));
  EXPECT_EQ(CountMountsUnder(sb->layout().tree.mounts + "/"), 0);
  ASSERT_OK(sb->Cleanup(/*force=*/true));
}

TEST_F(SandboxTest, WithoutPersistNothingIsRecordedOrLocked) {
  SandboxOptions o = Options();
  o.persist = false;
  auto sb = Open(o);
  ASSERT_NE(sb, nullptr);
  ASSERT_OK(sb->Prepare());
  Container c = C1();
  auto shared = sb->AddContainer(c);
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_FALSE(Exists(root_ + "/sbs"));
  ASSERT_OK(sb->RemoveContainer(shared->container));
  ASSERT_OK(sb->Cleanup(/*force=*/false));
  EXPECT_FALSE(Exists(sb->layout().tree.sandbox));
}

TEST_F(SandboxTest, CleanupRefusesSharedContainersUnlessForced) {
  auto sb = Open(Options());
  ASSERT_NE(sb, nullptr);
  ASSERT_OK(sb->Prepare());
  ASSERT_TRUE(sb->AddContainer(C1()).ok());
  Status s = sb->Cleanup(/*force=*/false);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "clean up sandbox \"sb1\": containers still shared: c1 (unshare them, or use --force)");
  ASSERT_OK(sb->Cleanup(/*force=*/true));
  EXPECT_FALSE(Exists(sb->layout().tree.sandbox));
  EXPECT_FALSE(Exists(sb->layout().state_dir));
}

// A run dir left behind (a guest whose processes gc must still find) keeps
// the record that names them; the share tree goes anyway.
TEST_F(SandboxTest, CleanupKeepsTheRecordWhileARunDirIsLeft) {
  auto sb = Open(Options());
  ASSERT_NE(sb, nullptr);
  ASSERT_OK(sb->Prepare());
  std::filesystem::create_directories(sb->layout().run_dir);
  Status s = sb->Cleanup(/*force=*/false);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find(sb->layout().run_dir), std::string::npos) << s.ToString();
  EXPECT_FALSE(Exists(sb->layout().tree.sandbox));
  EXPECT_TRUE(Exists(sb->layout().state_dir + "/persist.json"));
  std::filesystem::remove(sb->layout().run_dir);
  ASSERT_OK(sb->Cleanup(/*force=*/false));
  EXPECT_FALSE(Exists(sb->layout().state_dir));
}

// Fails the n-th attach of a share (MoveMount, 1-based) with EIO, or kills
// the process there (SIGKILL: a crash at that instant). With kill_at_rename,
// kills the process at that rename instead (the n-th durable write).
class CrashEnv : public sys::EnvWrapper {
 public:
  explicit CrashEnv(sys::Env* target) : EnvWrapper(target) {}
  Status MoveMount(const sys::Fd& tree, const sys::Fd& target_fd) override {
    ++attaches_;
    if (attaches_ == kill_at_attach) ::kill(::getpid(), SIGKILL);
    if (attaches_ == fail_at_attach) return ErrnoError(EIO, "injected: attach");
    return target()->MoveMount(tree, target_fd);
  }
  Status RenameAt(const sys::Fd& olddir, const std::string& oldpath, const sys::Fd& newdir,
                  const std::string& newpath, unsigned flags) override {
    ++renames_;
    if (renames_ == kill_at_rename) ::kill(::getpid(), SIGKILL);
    return target()->RenameAt(olddir, oldpath, newdir, newpath, flags);
  }
  int fail_at_attach = 0, kill_at_attach = 0, kill_at_rename = 0;
  int attaches_ = 0, renames_ = 0;
};

// A container of n volumes (every third read-only), sources under src/many/.
Container Many(const TempDir& tmp, int n) {
  Container c;
  c.id = "c1";
  c.state.rootfs.source = tmp / "src/rootfs";
  c.state.rootfs.type = "bind";
  for (int i = 0; i < n; ++i) {
    const std::string src = tmp / ("src/many/v" + std::to_string(i));
    std::filesystem::create_directories(src);
    WriteFile(src + "/f", std::to_string(i));
    Mount m;
    m.source = src;
    m.destination = "/mnt/v" + std::to_string(i);
    m.type = "bind";
    m.options = {"rbind"};
    m.read_only = i % 3 == 2;
    c.state.mounts.push_back(m);
  }
  return c;
}

int CountEntries(const std::string& dir) {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); ++it)
    ++n;
  return n;
}

// Item 6 of issue 14: a container's shares are recorded in one durable write
// (the intent) before any is mounted, and marked mounted in one more,
// whatever the mount count; and still every attach finds its path recorded.
TEST_F(SandboxTest, HundredMountsTakeTwoDurableWrites) {
  RecordingEnv recording(sys::Env::Default(), root_ + "/sbs");
  testing::FaultEnv env(&recording);
  auto sb = Open(Options(&env));
  ASSERT_NE(sb, nullptr);
  ASSERT_OK(sb->Prepare());
  Container c = Many(tmp_, 100);
  const int renames = env.calls(testing::FaultEnv::Op::kRenameAt);
  const int fsyncs = env.calls(testing::FaultEnv::Op::kFsync);
  recording.watching_ = true;
  auto shared = sb->AddContainer(c);
  recording.watching_ = false;
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_EQ(env.calls(testing::FaultEnv::Op::kRenameAt) - renames, 2)
      << "one intent write and one mounted write";
  // Each write syncs its file and the directory; the new container
  // directory's entry costs one more sync of the sandbox directory.
  EXPECT_EQ(env.calls(testing::FaultEnv::Op::kFsync) - fsyncs, 5);
  ASSERT_EQ(recording.attaches_.size(), 101u) << "rootfs and 100 mounts";
  for (const auto& a : recording.attaches_)
    EXPECT_TRUE(a.recorded.count(a.target)) << a.target << " was mounted before it was recorded";
  EXPECT_EQ(CountMountsUnder(sb->layout().tree.mounts + "/"), 101);
  auto rec = Store().LoadContainer("sb1", "c1");
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  ASSERT_EQ(rec->mounts.size(), 100u);
  EXPECT_TRUE(rec->rootfs.mounted);
  for (size_t i = 0; i < rec->mounts.size(); ++i) {
    EXPECT_TRUE(rec->mounts[i].mounted) << i;
    EXPECT_EQ(rec->mounts[i].host_path, shared->container.state.mounts[i].host_path) << i;
    EXPECT_EQ(ReadFile(rec->mounts[i].host_path + "/f"), std::to_string(i));
    ASSERT_TRUE(shared->mounts[i].has_value());
    EXPECT_EQ(shared->mounts[i]->guest_path,
              std::string(kGuestSharedDir) + "/" +
                  rec->mounts[i].host_path.substr(sb->layout().tree.mounts.size() + 1));
  }
  // Read-only shares are read-only.
  EXPECT_NE(::access((rec->mounts[2].host_path + "/f").c_str(), W_OK), 0);
  ASSERT_OK(sb->RemoveContainer("c1"));
  EXPECT_EQ(CountMountsUnder(sb->layout().tree.mounts + "/"), 0);
  EXPECT_EQ(CountEntries(sb->layout().tree.mounts), 0);
  ASSERT_OK(sb->Cleanup(/*force=*/false));
}

// A failure at mount 50 (of 100) undoes mounts 0..49 and the rootfs, and
// leaves no record; the same container shares fine afterwards.
TEST_F(SandboxTest, FailureAtMountFiftyRollsBackEverything) {
  for (const bool missing_source : {true, false}) {
    SCOPED_TRACE(missing_source ? "missing source" : "attach fails");
    CrashEnv env(sys::Env::Default());
    auto sb = Open(Options(&env));
    ASSERT_NE(sb, nullptr);
    ASSERT_OK(sb->Prepare());
    Container c = Many(tmp_, 100);
    if (missing_source)
      c.state.mounts[50].source = tmp_ / "src/missing";
    else
      env.fail_at_attach = 1 + 51;  // the rootfs is the first attach
    auto shared = sb->AddContainer(c);
    ASSERT_FALSE(shared.ok());
    EXPECT_EQ(shared.status().code(), missing_source ? Code::kNotFound : Code::kIoError)
        << shared.status().ToString();
    EXPECT_NE(shared.status().message().find("share container \"c1\""), std::string::npos)
        << shared.status().ToString();
    EXPECT_EQ(CountMountsUnder(sb->layout().tree.mounts + "/"), 0);
    EXPECT_EQ(CountEntries(sb->layout().tree.mounts), 0);
    EXPECT_EQ(Store().LoadContainer("sb1", "c1").status().code(), Code::kNotFound);
    // A re-run is accepted, and so is gc afterwards.
    env.fail_at_attach = 0;
    auto again = sb->AddContainer(Many(tmp_, 100));
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(CountMountsUnder(sb->layout().tree.mounts + "/"), 101);
    ASSERT_OK(sb->Cleanup(/*force=*/true));
    EXPECT_FALSE(Exists(sb->layout().tree.sandbox));
  }
}

// SIGKILLed in a child at a chosen instant of sharing 100 mounts: after the
// intent write but before any mount, after 50 mounts, or after every mount
// but before the mounted write. The record names every mount that may exist
// (all 100, none marked mounted), and both gc and RemoveContainer take
// them all down without an error, leaving no mount and no entry.
TEST_F(SandboxTest, CrashAfterTheIntentWriteLeavesNothingAfterCleanup) {
  struct Case {
    const char* name;
    int kill_at_attach, kill_at_rename;
    int mounted;  // how many mounts exist after the crash
    bool gc;      // cleaned by gc (else by RemoveContainer + Cleanup)
  };
  const Case kCases[] = {
      {"before the first mount, gc", 1, 0, 0, true},
      {"after 50 mounts, gc", 52, 0, 51, true},
      {"after 50 mounts, RemoveContainer", 52, 0, 51, false},
      {"before the mounted write, gc", 0, 2, 101, true},
      {"before the mounted write, RemoveContainer", 0, 2, 101, false},
  };
  for (const Case& k : kCases) {
    SCOPED_TRACE(k.name);
    ASSERT_OK(Open(Options())->Prepare());
    Container c = Many(tmp_, 100);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      CrashEnv env(sys::Env::Default());
      env.kill_at_attach = k.kill_at_attach;
      // The first rename of the child is the intent write.
      env.kill_at_rename = k.kill_at_rename;
      SandboxOptions o = Options(&env);
      auto sb = Sandbox::Open(o);
      if (sb.ok()) (void)(*sb)->AddContainer(c);
      ::_exit(3);  // not reached: killed above
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    const std::string mounts = SandboxLayout::For(root_, "sb1").tree.mounts;
    EXPECT_EQ(CountMountsUnder(mounts + "/"), k.mounted);
    auto rec = Store().LoadContainer("sb1", "c1");
    ASSERT_TRUE(rec.ok()) << rec.status().ToString();
    ASSERT_EQ(rec->mounts.size(), 100u);
    std::set<std::string> recorded{rec->rootfs.host_path};
    for (const Mount& m : rec->mounts) {
      EXPECT_FALSE(m.mounted) << m.destination;
      EXPECT_FALSE(m.host_path.empty()) << m.destination;
      recorded.insert(m.host_path);
    }
    auto table = sys::ReadMountTable();
    ASSERT_TRUE(table.ok());
    for (const auto& e : sys::MountsUnder(*table, mounts)) {
      if (e.target == mounts) continue;
      EXPECT_TRUE(recorded.count(e.target)) << e.target << " is mounted but not recorded";
    }
    if (k.gc) {
      GcReport r = CollectSandbox(sys::Env::Default(), root_, "sb1", /*dry_run=*/false);
      ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    } else {
      auto sb = Open(Options());
      ASSERT_NE(sb, nullptr);
      ASSERT_OK(sb->RemoveContainer("c1"));
      EXPECT_EQ(CountEntries(mounts), 0);
      ASSERT_OK(sb->Cleanup(/*force=*/false));
    }
    EXPECT_EQ(CountMountsUnder(tmp_.path() + "/"), 0);
    EXPECT_FALSE(Exists(SandboxLayout::For(root_, "sb1").tree.sandbox));
    EXPECT_FALSE(Exists(root_ + "/sbs/sb1"));
  }
}

TEST(SandboxLayoutTest, Paths) {
  SandboxLayout l = SandboxLayout::For("/run/vmshare", "s1");
  EXPECT_EQ(l.tree.sandbox, "/run/vmshare/sandboxes/s1");
  EXPECT_EQ(l.tree.shared, "/run/vmshare/sandboxes/s1/shared");
  EXPECT_EQ(l.state_dir, "/run/vmshare/sbs/s1");
  EXPECT_EQ(l.run_dir, "/run/vmshare/vm/s1");
  SandboxLayout k =
      SandboxLayout::For("/run/vmshare", "s1", "/run/kata-containers/shared/sandboxes/");
  EXPECT_EQ(k.tree.sandbox, "/run/kata-containers/shared/sandboxes/s1");
  EXPECT_EQ(k.tree.mounts, "/run/kata-containers/shared/sandboxes/s1/mounts");
  EXPECT_EQ(k.state_dir, "/run/vmshare/sbs/s1");
}

}  // namespace
}  // namespace vmshare::sandbox
