// ShareFile / UnshareFile on real mounts: visibility and writability through
// shared/, read-only everywhere (including another mount namespace), the
// name and guest path, clean unshare, and refusals of hostile input.
#include <sys/mount.h>

#include <fstream>
#include <regex>
#include <thread>

#include "share_fixture.h"

namespace vmshare::testing {
namespace {

class ShareFileTest : public ShareFixture {
 protected:
  void SetUp() override {
    ShareFixture::SetUp();
    if (IsSkipped()) return;
    ASSERT_OK(sharer_->Prepare());
  }

  // Shares m for container c1 and returns the share's name (under mounts/).
  std::string Share(Mount& m) {
    auto r = sharer_->ShareFile(c1_, m);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || !r->has_value()) return "";
    EXPECT_TRUE(m.mounted);
    EXPECT_EQ(m.host_path.rfind(Mounts() + "/", 0), 0u) << m.host_path;
    return m.host_path.substr(Mounts().size() + 1);
  }

  struct Run {
    sys::ExitStatus status;
    std::string out, err;
  };
  Run RunCmd(const std::vector<std::string>& argv) {
    sys::ChildOptions o;
    o.argv = argv;
    const std::string n = std::to_string(++runs_);
    o.stdout_path = tmp_ / ("out" + n);
    o.stderr_path = tmp_ / ("err" + n);
    Run run;
    auto child = sys::Env::Default()->Spawn(o);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    if (!child.ok()) return run;
    auto st = sys::Env::Default()->Wait(*child);
    EXPECT_TRUE(st.ok());
    if (st.ok()) run.status = *st;
    run.out = ReadFile(*o.stdout_path);
    run.err = ReadFile(*o.stderr_path);
    return run;
  }

  int CountEntries(const std::string& dir) {
    int n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      ++n;
    return n;
  }

  Container c1_{"c1", {}};
  int runs_ = 0;
};

TEST_F(ShareFileTest, NameAndGuestPathFollowKataConvention) {
  Mount m = BindMount(MakeVolume("v"), "/var/lib/data/");
  auto r = sharer_->ShareFile(c1_, m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  const std::string& guest = (*r)->guest_path;
  EXPECT_TRUE(std::regex_match(
      guest, std::regex("/run/kata-containers/shared/containers/c1-[0-9a-f]{16}-data")))
      << guest;
  EXPECT_TRUE((*r)->container_storages.empty());
  EXPECT_EQ(m.host_path, Mounts() + "/" + guest.substr(guest.rfind('/') + 1));
  // Two shares of the same destination get different names.
  Mount again = BindMount(src_ + "/v", "/var/lib/data");
  auto r2 = sharer_->ShareFile(c1_, again);
  ASSERT_TRUE(r2.ok());
  EXPECT_NE((*r2)->guest_path, guest);
}

TEST_F(ShareFileTest, ReadWriteShareIsWritableThroughShared) {
  Mount m = BindMount(MakeVolume("rw"), "/data");
  const std::string name = Share(m);
  ASSERT_FALSE(name.empty());
  EXPECT_EQ(ReadFile(Shared() + "/" + name + "/f"), "hello");
  EXPECT_EQ(TryWrite(Shared() + "/" + name + "/from-guest"), 0);
  EXPECT_TRUE(Exists(src_ + "/rw/from-guest"));
  EXPECT_EQ(TryWrite(Mounts() + "/" + name + "/f"), 0);
  // shared/ itself stays read-only.
  EXPECT_EQ(TryWrite(Shared() + "/stray"), EROFS);
}

TEST_F(ShareFileTest, SingleFileShare) {
  WriteFile(src_ + "/resolv.conf", "nameserver 1.1.1.1\n");
  Mount m = BindMount(src_ + "/resolv.conf", "/etc/resolv.conf", /*ro=*/true);
  const std::string name = Share(m);
  ASSERT_FALSE(name.empty());
  EXPECT_TRUE(std::filesystem::is_regular_file(Mounts() + "/" + name));
  EXPECT_EQ(ReadFile(Shared() + "/" + name), "nameserver 1.1.1.1\n");
  EXPECT_EQ(TryWrite(Shared() + "/" + name), EROFS);
  ASSERT_OK(sharer_->UnshareFile(c1_, m));
  EXPECT_FALSE(Exists(Mounts() + "/" + name));
  EXPECT_EQ(ReadFile(src_ + "/resolv.conf"), "nameserver 1.1.1.1\n");
}

TEST_F(ShareFileTest, ReadOnlyShareRefusesWritesEverywhere) {
  struct Case {
    const char* name;
    bool read_only;
    std::vector<std::string> options;
  };
  const Case cases[] = {
      {"read_only field", true, {"bind"}},
      {"ro option", false, {"rbind", "ro"}},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    Mount m = BindMount(MakeVolume(std::string("ro-") + (k.read_only ? "a" : "b")), "/cfg");
    m.read_only = k.read_only;
    m.options = k.options;
    const std::string name = Share(m);
    ASSERT_FALSE(name.empty());
    EXPECT_EQ(TryWrite(Mounts() + "/" + name + "/f"), EROFS);
    EXPECT_EQ(TryWrite(Shared() + "/" + name + "/f"), EROFS);
    EXPECT_EQ(TryWrite(Shared() + "/" + name + "/new"), EROFS);
    // A second mount namespace made with slave propagation (virtiofsd's).
    const std::string target = Shared() + "/" + name + "/f";
    Run run = RunCmd({"unshare", "-m", "--propagation", "slave", "sh", "-c",
                      "cat '" + target + "' && echo x > '" + target + "'"});
    EXPECT_TRUE(run.status.exited);
    EXPECT_NE(run.status.code, 0);
    EXPECT_EQ(run.out, "hello");
    EXPECT_NE(run.err.find("Read-only file system"), std::string::npos) << run.err;
  }
}

TEST_F(ShareFileTest, ShareMadeAfterNamespaceExistsPropagatesReadOnly) {
  sys::ChildOptions o;
  o.argv = {"unshare", "-m", "--propagation", "slave", "sleep", "1000"};
  o.die_with_parent = true;
  auto child = sys::Env::Default()->Spawn(o);
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  // unshare(1) execs sleep once the namespace and its propagation are set.
  const std::string comm = "/proc/" + std::to_string(child->pid) + "/comm";
  for (int i = 0; i < 1000 && ReadFile(comm) != "sleep\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(ReadFile(comm), "sleep\n");

  Mount ro = BindMount(MakeVolume("late-ro", "late"), "/late-ro", /*ro=*/true);
  Mount rw = BindMount(MakeVolume("late-rw", "late"), "/late-rw");
  const std::string ro_name = Share(ro), rw_name = Share(rw);
  const std::string pid = std::to_string(child->pid);
  for (const std::string& dir : {Shared(), Mounts()}) {
    SCOPED_TRACE(dir);
    const std::string ro_file = dir + "/" + ro_name + "/f";
    Run run = RunCmd({"nsenter", "-t", pid, "-m", "sh", "-c",
                      "cat '" + ro_file + "' && echo x > '" + ro_file + "'"});
    EXPECT_NE(run.status.code, 0);
    EXPECT_EQ(run.out, "late");
    EXPECT_NE(run.err.find("Read-only file system"), std::string::npos) << run.err;
    const std::string rw_file = dir + "/" + rw_name + "/w";
    Run ok = RunCmd({"nsenter", "-t", pid, "-m", "sh", "-c", "echo y > '" + rw_file + "'"});
    EXPECT_EQ(ok.status.code, 0) << ok.err;
  }
  // Unsharing propagates too: the namespace no longer sees the share.
  ASSERT_OK(sharer_->UnshareFile(c1_, ro));
  Run gone = RunCmd({"nsenter", "-t", pid, "-m", "test", "-e", Shared() + "/" + ro_name + "/f"});
  EXPECT_NE(gone.status.code, 0);
  ASSERT_OK(sys::Env::Default()->Kill(*child, SIGKILL));
  sys::Env::Default()->Wait(*child).status().IgnoreError();
}

TEST_F(ShareFileTest, RecursiveBindOnlyWithRbind) {
  const std::string vol = MakeVolume("outer");
  std::filesystem::create_directories(vol + "/sub");
  MakeVolume("inner", "inner");
  ASSERT_OK(sys::Env::Default()->Mount(src_ + "/inner", vol + "/sub", "", MS_BIND, ""));
  Mount plain = BindMount(vol, "/plain");
  Mount rec = BindMount(vol, "/rec", /*ro=*/true);
  rec.options = {"rbind"};
  const std::string plain_name = Share(plain), rec_name = Share(rec);
  EXPECT_FALSE(Exists(Shared() + "/" + plain_name + "/sub/f"));
  EXPECT_EQ(ReadFile(Shared() + "/" + rec_name + "/sub/f"), "inner");
  // Read-only covers the submount too.
  EXPECT_EQ(TryWrite(Shared() + "/" + rec_name + "/sub/f"), EROFS);
  EXPECT_EQ(TryWrite(Mounts() + "/" + rec_name + "/sub/f"), EROFS);
  ASSERT_OK(sharer_->UnshareFile(c1_, plain));
  ASSERT_OK(sharer_->UnshareFile(c1_, rec));
  ASSERT_OK(sys::Env::Default()->Unmount(vol + "/sub", 0));
}

TEST_F(ShareFileTest, UnshareLeavesNoMountAndNoEntry) {
  WriteFile(src_ + "/file", "x");
  Mount a = BindMount(MakeVolume("a"), "/a");
  Mount b = BindMount(MakeVolume("b"), "/b", /*ro=*/true);
  Mount f = BindMount(src_ + "/file", "/file");
  Share(a);
  Share(b);
  Share(f);
  EXPECT_EQ(CountMountsUnder(Mounts() + "/"), 3);
  EXPECT_EQ(CountMountsUnder(Shared() + "/"), 3);
  for (Mount* m : {&a, &b, &f}) {
    ASSERT_OK(sharer_->UnshareFile(c1_, *m));
    EXPECT_FALSE(m->mounted);
  }
  EXPECT_EQ(CountMountsUnder(Mounts() + "/"), 0);
  EXPECT_EQ(CountMountsUnder(Shared() + "/"), 0);
  EXPECT_EQ(CountEntries(Mounts()), 0);
  // Again: the share is gone, which is fine.
  a.mounted = true;
  EXPECT_OK(sharer_->UnshareFile(c1_, a));
  EXPECT_EQ(ReadFile(src_ + "/a/f"), "hello");
}

TEST_F(ShareFileTest, UnshareNeverLeavesTheContainersShares) {
  Mount m = BindMount(MakeVolume("v"), "/v");
  const std::string name = Share(m);
  ASSERT_FALSE(name.empty());
  const int before = CountMountsUnder(SandboxDir() + "/");
  Container other{"c2", {}};
  struct Case {
    const char* name;
    Container* container;
    std::string host_path;
  };
  const Case cases[] = {
      {"outside the tree", &c1_, src_ + "/v"},
      {"shared/ instead of mounts/", &c1_, Shared() + "/" + name},
      {"dot-dot escape", &c1_, Mounts() + "/" + name + "/../../shared"},
      {"the tree itself", &c1_, Mounts()},
      {"another container's share", &other, m.host_path},
      {"sandbox mounts dir", &c1_, Mounts() + "/sandbox-mounts"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    Mount bad = m;
    bad.host_path = k.host_path;
    Status s = sharer_->UnshareFile(*k.container, bad);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
    EXPECT_EQ(CountMountsUnder(SandboxDir() + "/"), before);
  }
  EXPECT_EQ(ReadFile(Shared() + "/" + name + "/f"), "hello");
}

TEST_F(ShareFileTest, BadInputIsRefusedAndChangesNothing) {
  MakeVolume("v");
  ::symlink("/", (src_ + "/to-root").c_str());
  ::symlink(src_.c_str(), (src_ + "/to-src").c_str());
  struct Case {
    const char* name;
    std::string container_id;
    std::string source;
    std::string destination;
    Code code;
    std::string mentions;
  };
  const Case cases[] = {
      {"bad container id", "../c1", src_ + "/v", "/d", Code::kInvalidArgument, "../c1"},
      {"empty container id", "", src_ + "/v", "/d", Code::kInvalidArgument, "container"},
      {"slash in container id", "a/b", src_ + "/v", "/d", Code::kInvalidArgument, "a/b"},
      {"reserved container id", "sandbox-mounts", src_ + "/v", "/d", Code::kInvalidArgument,
       "sandbox-mounts"},
      {"missing source", "c1", src_ + "/nope", "/d", Code::kNotFound, src_ + "/nope"},
      {"relative source", "c1", "v", "/d", Code::kInvalidArgument, "\"v\""},
      {"symlink to /", "c1", src_ + "/to-root", "/d", Code::kInvalidArgument, "to-root"},
      {"magic link", "c1", "/proc/self/root", "/d", Code::kInvalidArgument, "/proc/self/root"},
      {"through a magic link", "c1", "/proc/self/root/tmp", "/d", Code::kInvalidArgument,
       "magic link"},
      {"destination without base name", "c1", src_ + "/v", "/", Code::kInvalidArgument,
       "destination"},
      {"dot-dot destination", "c1", src_ + "/v", "/a/..", Code::kInvalidArgument, "destination"},
  };
  const int mounts_before = CountMountsUnder(SandboxDir() + "/");
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    Container c{k.container_id, {}};
    Mount m = BindMount(k.source, k.destination);
    auto r = sharer_->ShareFile(c, m);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), k.code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(k.mentions), std::string::npos) << r.status().message();
    EXPECT_FALSE(m.mounted);
    EXPECT_TRUE(m.host_path.empty());
    EXPECT_EQ(CountMountsUnder(SandboxDir() + "/"), mounts_before);
    EXPECT_EQ(CountEntries(Mounts()), 0);
  }
  // An intermediate symlink on the host path is followed (host paths are the
  // runtime's), the result is the directory it names.
  Mount via = BindMount(src_ + "/to-src/v", "/via");
  ASSERT_FALSE(Share(via).empty());
  EXPECT_EQ(ReadFile(via.host_path + "/f"), "hello");
}

TEST_F(ShareFileTest, AlreadySharedMountIsRefused) {
  Mount m = BindMount(MakeVolume("v"), "/v");
  Share(m);
  auto r = sharer_->ShareFile(c1_, m);
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
}

TEST_F(ShareFileTest, ShareNeedsPrepare) {
  ASSERT_OK(sharer_->Cleanup());
  Mount m = BindMount(MakeVolume("v"), "/v");
  auto r = sharer_->ShareFile(c1_, m);
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  EXPECT_FALSE(Exists(SandboxDir()));
}

// The sharer keeps its mounts/ fd between shares. Another sharer of the same
// sandbox (another process, as `vmshare sandbox cleanup` or gc would be)
// cleaning the tree up, and preparing it again, must neither make a share
// land in the old, detached tree nor make later shares fail.
TEST_F(ShareFileTest, ShareAfterAnotherSharerRebuiltTheTree) {
  auto other = MakeSharer(Config());
  ASSERT_NE(other, nullptr);
  Container c2{"c2", {}};
  c2.state.rootfs.source = MakeVolume("r2");
  Mount first = BindMount(MakeVolume("v1"), "/v1");
  Share(first);  // the sharer now keeps mounts/
  ASSERT_OK(sharer_->UnshareFile(c1_, first));

  // Rebuilt: the kept fd is of the removed tree; both kinds of share still
  // land in the new one.
  ASSERT_OK(other->Cleanup());
  ASSERT_OK(other->Prepare());
  ASSERT_OK(sharer_->ShareRootFilesystem(c2).status());
  EXPECT_TRUE(Exists(Shared() + "/c2/rootfs/f"));
  ASSERT_OK(other->Cleanup());
  ASSERT_OK(other->Prepare());
  Mount again = BindMount(MakeVolume("v3", "three"), "/v3");
  const std::string name = Share(again);
  ASSERT_FALSE(name.empty());
  EXPECT_EQ(ReadFile(Shared() + "/" + name + "/f"), "three");
  ASSERT_OK(sharer_->UnshareFile(c1_, again));
  EXPECT_FALSE(Exists(Shared() + "/c2/rootfs/f"));  // went with the tree

  // Only cleaned up: refused as unprepared, nothing made.
  ASSERT_OK(other->Cleanup());
  Mount gone = BindMount(MakeVolume("v2"), "/v2");
  auto refused = sharer_->ShareFile(c1_, gone);
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition) << refused.status().ToString();
  EXPECT_FALSE(gone.mounted);
  EXPECT_EQ(gone.host_path, "");
  EXPECT_FALSE(Exists(SandboxDir()));
}

TEST_F(ShareFileTest, WatcherStartsAndStops) {
  EXPECT_OK(sharer_->StartFileEventWatcher());
  sharer_->StopFileEventWatcher();
  sharer_->StopFileEventWatcher();
}

}  // namespace
}  // namespace vmshare::testing

namespace vmshare::testing {
namespace {

class BeforeMountTest : public ShareFixture {};

TEST_F(BeforeMountTest, HookSeesTheHostPathBeforeAnythingIsMade) {
  std::vector<std::string> recorded;
  bool fail = false;
  auto cfg = Config();
  cfg.before_mount = [&](const Container& c, const Mount& m) -> Status {
    EXPECT_EQ(c.id, "c1");
    EXPECT_FALSE(m.mounted);
    EXPECT_FALSE(Exists(m.host_path)) << "hook must run before the mountpoint exists";
    recorded.push_back(m.host_path);
    if (fail) return InternalError("persist state: disk full");
    return Status::Ok();
  };
  sharer_ = MakeSharer(cfg);
  ASSERT_OK(sharer_->Prepare());
  Container c{"c1", {}};

  Mount m = BindMount(MakeVolume("v"), "/v");
  ASSERT_TRUE(sharer_->ShareFile(c, m).ok());
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0], m.host_path);

  c.state.rootfs.source = MakeVolume("rootfs");
  ASSERT_TRUE(sharer_->ShareRootFilesystem(c).ok());
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_EQ(recorded[1], c.state.rootfs.host_path);

  // A user error is reported before the hook: nothing gets recorded.
  Mount missing = BindMount(src_ + "/missing", "/m");
  EXPECT_EQ(sharer_->ShareFile(c, missing).status().code(), Code::kNotFound);
  EXPECT_EQ(recorded.size(), 2u);

  // A failing hook aborts the share with nothing made.
  fail = true;
  const int before = CountMountsUnder(SandboxDir() + "/");
  Mount aborted = BindMount(src_ + "/v", "/w");
  auto r = sharer_->ShareFile(c, aborted);
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_FALSE(aborted.mounted);
  EXPECT_TRUE(aborted.host_path.empty());
  EXPECT_FALSE(Exists(recorded.back()));
  EXPECT_EQ(CountMountsUnder(SandboxDir() + "/"), before);
}

}  // namespace
}  // namespace vmshare::testing
