// `vmshare gc` case by case: dry run, twice, a live lock holder, torn and
// missing state, recorded processes (same and recycled pid), and paths it
// must not touch (a recorded host path outside the tree, a symlink planted
// where a share was to be mounted).
#include <sys/mount.h>

#include "chaos/chaos_support.h"
#include "persist/processes.h"
#include "persist/store.h"

namespace vmshare::chaos {
namespace {

using testing::CountMountsUnder;

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    ASSERT_EQ(w_.Vmshare({"sandbox", "prepare", "s1"}).code, 0);
    CmdResult r = w_.Vmshare({"container", "share", "s1", "c1", "--bundle", w_.bundle()});
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_GT(CountMountsUnder(w_.root()), 3);
  }
  void TearDown() override {
    if (::geteuid() != 0) return;
    w_.Vmshare({"gc"});
  }

  nlohmann::json Gc(const std::vector<std::string>& extra = {}, int want_code = 0) {
    std::vector<std::string> args = {"gc"};
    args.insert(args.end(), extra.begin(), extra.end());
    CmdResult r = w_.Vmshare(args);
    EXPECT_EQ(r.code, want_code) << r.err << r.out;
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  std::string Tree() const { return w_.root() + "/sandboxes/s1"; }

  World w_;
};

TEST_F(GcTest, CollectsACrashedSandboxAndTwiceIsHarmless) {
  nlohmann::json j = Gc();
  ASSERT_EQ(j["sandboxes"].size(), 1u) << j.dump();
  EXPECT_EQ(j["sandboxes"][0]["state"], "recorded");
  EXPECT_TRUE(w_.Leftovers().empty()) << w_.Leftovers().front();
  EXPECT_EQ(w_.AllSums(), w_.initial_sums());
  j = Gc();
  EXPECT_EQ(j["sandboxes"].size(), 0u) << j.dump();
  j = Gc({"s1"});
  ASSERT_EQ(j["sandboxes"].size(), 1u);
  EXPECT_EQ(j["sandboxes"][0]["state"], "missing");
  EXPECT_EQ(j["sandboxes"][0]["actions"].size(), 0u) << j.dump();
}

TEST_F(GcTest, DryRunPrintsThePlanAndChangesNothing) {
  const int mounts = CountMountsUnder(w_.root());
  nlohmann::json j = Gc({"--dry-run"});
  EXPECT_EQ(j["dry_run"], true);
  std::set<std::string> kinds;
  for (const auto& a : j["sandboxes"][0]["actions"]) {
    kinds.insert(a["action"].get<std::string>());
    EXPECT_EQ(a["done"], false);
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"unmount", "remove", "remove-state"})) << j.dump();
  EXPECT_EQ(CountMountsUnder(w_.root()), mounts);
  EXPECT_TRUE(fs::exists(w_.root() + "/sbs/s1/persist.json"));
  EXPECT_TRUE(fs::exists(Tree() + "/mounts"));
}

TEST_F(GcTest, LeavesASandboxAloneWhileALiveProcessHoldsItsLock) {
  persist::StateStore store(sys::Env::Default(), w_.root() + "/sbs");
  {
    auto lock = store.Lock("s1", persist::LockMode::kExclusive);
    ASSERT_OK(lock.status());
    nlohmann::json j = Gc();
    EXPECT_TRUE(j["sandboxes"][0].contains("skipped")) << j.dump();
    EXPECT_GT(CountMountsUnder(w_.root()), 3);
  }
  Gc();
  EXPECT_EQ(CountMountsUnder(w_.root()), 0);
}

TEST_F(GcTest, TornStateFallsBackToASweep) {
  const std::string p = w_.root() + "/sbs/s1/persist.json";
  const std::string full = ReadFile(p);
  WriteFile(p, full.substr(0, full.size() / 2));
  nlohmann::json j = Gc();
  EXPECT_TRUE(j["sandboxes"][0]["state"].get<std::string>().starts_with("unreadable")) << j.dump();
  EXPECT_TRUE(w_.Leftovers().empty()) << w_.Leftovers().front();
  EXPECT_EQ(w_.AllSums(), w_.initial_sums());
}

TEST_F(GcTest, TornContainerStateFallsBackToASweep) {
  WriteFile(w_.root() + "/sbs/s1/c1/persist.json", "{\"State\": \"rea");
  Gc();
  EXPECT_TRUE(w_.Leftovers().empty()) << w_.Leftovers().front();
}

TEST_F(GcTest, MissingStateFallsBackToASweep) {
  fs::remove_all(w_.root() + "/sbs/s1");
  nlohmann::json j = Gc();
  ASSERT_EQ(j["sandboxes"].size(), 1u) << j.dump();
  EXPECT_EQ(j["sandboxes"][0]["state"], "missing");
  EXPECT_TRUE(w_.Leftovers().empty()) << w_.Leftovers().front();
  EXPECT_EQ(w_.AllSums(), w_.initial_sums());
}

TEST_F(GcTest, KillsARecordedProcessOnlyWhileItIsTheSameProcess) {
  sys::Env* env = sys::Env::Default();
  persist::StateStore store(env, w_.root() + "/sbs");
  auto same = SpawnSleeper();
  auto other = SpawnSleeper();
  ASSERT_OK(same.status());
  ASSERT_OK(other.status());
  ASSERT_OK(persist::RecordProcessStarted(store, env, "s1", "virtiofsd", same->pid));
  // "qemu" was recorded with another start time: its pid now names a
  // different process (as after pid reuse), which gc must not kill.
  auto ticks = persist::ProcessStartTicks(env, other->pid);
  ASSERT_OK(ticks.status());
  auto rec = store.LoadSandbox("s1");
  ASSERT_OK(rec.status());
  rec->sandbox.processes.push_back(RecordedProcess{"qemu", other->pid, *ticks + 1, "running"});
  ASSERT_OK(store.SaveSandbox("s1", rec->sandbox));

  nlohmann::json j = Gc({"--dry-run"});
  EXPECT_FALSE(Exited(*same));
  j = Gc();
  auto ev = env->PollOne(same->pidfd, POLLIN, std::chrono::milliseconds(5000));
  EXPECT_TRUE(ev.ok() && *ev != 0) << "the recorded process survived: " << j.dump();
  EXPECT_FALSE(Exited(*other)) << "a process with another start time was killed";
  for (auto* c : {&*same, &*other}) {
    env->Kill(*c, SIGKILL).IgnoreError();
    (void)env->Wait(*c);
  }
}

TEST_F(GcTest, NeverTouchesARecordedHostPathOutsideTheTree) {
  // A mount elsewhere, which a tampered state names as a share.
  const std::string victim = w_.path("victim");
  fs::create_directories(victim);
  ASSERT_EQ(::mount("tmpfs", victim.c_str(), "tmpfs", 0, nullptr), 0);
  WriteFile(victim + "/keep", "x");
  persist::StateStore store(sys::Env::Default(), w_.root() + "/sbs");
  auto c = store.LoadContainer("s1", "c1");
  ASSERT_OK(c.status());
  c->mounts.push_back(
      Mount{.source = "/x", .destination = "/evil", .host_path = victim, .mounted = true});
  ASSERT_OK(store.SaveContainer("s1", "c1", *c));

  nlohmann::json j = Gc();
  EXPECT_EQ(CountMountsUnder(victim), 1) << j.dump();
  EXPECT_EQ(ReadFile(victim + "/keep"), "x");
  bool noted = false;
  for (const auto& a : j["sandboxes"][0]["actions"])
    noted |= a["action"] == "ignore" && a["object"] == victim;
  EXPECT_TRUE(noted) << j.dump();
  ::umount2(victim.c_str(), MNT_DETACH);
}

TEST_F(GcTest, ASymlinkPlantedAtAMountPointIsRemovedNotFollowed) {
  // After a crash before a share was mounted, its mount point is replaced
  // with a symlink to a host mount: gc unlinks the symlink and leaves the
  // mount (and its files) alone.
  const std::string victim = w_.path("victim");
  fs::create_directories(victim);
  ASSERT_EQ(::mount("tmpfs", victim.c_str(), "tmpfs", 0, nullptr), 0);
  WriteFile(victim + "/keep", "x");
  // mounts/ is a mount of its own; its directory below is the tree's.
  ASSERT_EQ(::umount2((Tree() + "/shared").c_str(), MNT_DETACH), 0);
  ASSERT_EQ(::umount2((Tree() + "/mounts").c_str(), MNT_DETACH), 0);
  fs::create_symlink(victim, Tree() + "/mounts/planted");
  fs::remove(Tree() + "/shared");
  fs::create_symlink(victim, Tree() + "/shared");

  Gc();
  EXPECT_EQ(CountMountsUnder(victim), 1);
  EXPECT_EQ(ReadFile(victim + "/keep"), "x");
  EXPECT_TRUE(w_.Leftovers().empty()) << w_.Leftovers().front();
  ::umount2(victim.c_str(), MNT_DETACH);
}

TEST_F(GcTest, FindsAMountMovedByARenameAndRemovesNothingThroughIt) {
  // A bind of a source inside the tree whose directory was renamed, with a
  // symlink at the old name: gc finds it by the mount table (at the new
  // name), unmounts it there, and the source keeps every file.
  const std::string data = w_.path("data");
  const std::string inner = Tree() + "/private/inner";
  fs::create_directories(inner);
  // The bind sits on the tree's own filesystem: private/ is a mount of its
  // own only where Prepare took the mount(2) fallback, so detach it if so.
  ::umount2((Tree() + "/private").c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
  ASSERT_EQ(::mount(data.c_str(), inner.c_str(), nullptr, MS_BIND, nullptr), 0);
  fs::rename(Tree() + "/private", Tree() + "/p2");
  fs::create_symlink("p2", Tree() + "/private");
  Gc();
  EXPECT_TRUE(w_.Leftovers().empty()) << w_.Leftovers().front();
  EXPECT_EQ(w_.AllSums(), w_.initial_sums());
}

}  // namespace
}  // namespace vmshare::chaos
