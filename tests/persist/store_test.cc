// StateStore on a real filesystem: layout and modes, round trips, Kata's
// files, NotFound / Corruption, ids refused before anything is created,
// O(1) container saves, stale temp cleanup, removal.
#include "persist/store.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>

#include "persist/atomic_file.h"
#include "persist/crash_state.h"
#include "support/test_util.h"

namespace vmshare::persist {
namespace {

namespace fs = std::filesystem;
using vmshare::testing::CrashState;
using vmshare::testing::ReadFile;
using vmshare::testing::TempDir;
using vmshare::testing::WriteFile;

class StoreTest : public ::testing::Test {
 protected:
  sys::Env* env_ = sys::Env::Default();
  TempDir tmp_;
  std::string root_ = tmp_ / "sbs";
  StateStore store_{env_, root_};
  SandboxState sandbox_{.state = "ready", .sandbox_container = "s1", .bind_mounts = {"/etc/x"}};
};

mode_t ModeOf(const std::string& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST_F(StoreTest, SavesInKataLayoutAndLoadsBack) {
  ASSERT_OK(store_.SaveSandbox("s1", sandbox_));
  ASSERT_OK(store_.SaveContainer("s1", "c1", CrashState(1)));
  ASSERT_OK(store_.SaveContainer("s1", "c2", CrashState(2)));
  EXPECT_TRUE(fs::is_regular_file(root_ + "/s1/persist.json"));
  EXPECT_TRUE(fs::is_regular_file(root_ + "/s1/c1/persist.json"));
  EXPECT_EQ(ModeOf(root_ + "/s1"), 0700u);
  EXPECT_EQ(ModeOf(root_ + "/s1/c1"), 0700u);
  EXPECT_EQ(ModeOf(root_ + "/s1/persist.json"), 0600u);
  EXPECT_EQ(ModeOf(root_ + "/s1/c2/persist.json"), 0600u);

  auto rec = store_.LoadSandbox("s1");
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->sandbox, sandbox_);
  ASSERT_EQ(rec->containers.size(), 2u);
  EXPECT_EQ(rec->containers["c1"], CrashState(1));
  EXPECT_EQ(rec->containers["c2"], CrashState(2));
  auto one = store_.LoadContainer("s1", "c2");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, CrashState(2));
}

TEST_F(StoreTest, KataWrittenDirectoryLoadsAndRewritingKeepsUnknownFields) {
  fs::create_directories(root_ + "/s1/c1");
  fs::create_directories(root_ + "/s1/no-state-yet");
  fs::copy_file(PERSIST_TESTDATA "/kata3_sandbox.json", root_ + "/s1/persist.json");
  fs::copy_file(PERSIST_TESTDATA "/kata3_container.json", root_ + "/s1/c1/persist.json");
  auto rec = store_.LoadSandbox("s1");
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->sandbox.state, "running");
  ASSERT_EQ(rec->containers.size(), 1u);  // a dir without persist.json is skipped, as Kata does
  ContainerState c = rec->containers["c1"];
  c.state = "stopped";
  ASSERT_OK(store_.SaveContainer("s1", "c1", c));
  ASSERT_OK(store_.SaveSandbox("s1", rec->sandbox));
  const std::string cjson = ReadFile(root_ + "/s1/c1/persist.json");
  EXPECT_NE(cjson.find("\"FutureTopLevel\":[1,2,{\"x\":null}]"), std::string::npos) << cjson;
  EXPECT_NE(cjson.find("\"Shared\":true"), std::string::npos) << cjson;
  EXPECT_NE(cjson.find("\"State\":\"stopped\""), std::string::npos) << cjson;
  const std::string sjson = ReadFile(root_ + "/s1/persist.json");
  EXPECT_NE(sjson.find("\"VirtiofsDaemonPid\":1240"), std::string::npos) << sjson;
  EXPECT_NE(sjson.find("\"GuestMemoryBlockSizeMB\":128"), std::string::npos) << sjson;
  auto again = store_.LoadContainer("s1", "c1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, c);
}

TEST_F(StoreTest, MissingSandboxAndContainerAreNotFound) {
  auto rec = store_.LoadSandbox("nope");
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), Code::kNotFound);
  EXPECT_EQ(rec.status().message(), "sandbox \"nope\" does not exist");

  ASSERT_OK(store_.SaveSandbox("s1", sandbox_));
  auto c = store_.LoadContainer("s1", "c9");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kNotFound);
  EXPECT_EQ(c.status().message(), "container \"c9\" does not exist in sandbox \"s1\"");
  EXPECT_EQ(store_.SaveContainer("nope", "c1", CrashState(1)).code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(root_ + "/nope"));

  // A locked but never saved sandbox has a directory and still does not exist.
  auto lock = store_.Lock("fresh", LockMode::kExclusive);
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(store_.LoadSandbox("fresh").status().code(), Code::kNotFound);
}

TEST_F(StoreTest, TornFilesAreCorruptionNamingTheFileAndAreNotReplaced) {
  ASSERT_OK(store_.SaveSandbox("s1", sandbox_));
  ASSERT_OK(store_.SaveContainer("s1", "c1", CrashState(3)));
  const std::string cfile = root_ + "/s1/c1/persist.json";
  const std::string full = ReadFile(cfile);
  const std::string torn = full.substr(0, full.size() / 2);
  WriteFile(cfile, torn);

  auto rec = store_.LoadSandbox("s1");
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), Code::kCorruption);
  EXPECT_NE(rec.status().message().find("parse \"" + cfile + "\""), std::string::npos)
      << rec.status().message();
  EXPECT_NE(rec.status().message().find("parse error"), std::string::npos)
      << rec.status().message();

  Status s = store_.SaveContainer("s1", "c1", CrashState(4));
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_EQ(ReadFile(cfile), torn);

  WriteFile(root_ + "/s1/persist.json", "{\"PersistVersion\":");
  auto sb = store_.LoadSandbox("s1");
  EXPECT_EQ(sb.status().code(), Code::kCorruption);
  EXPECT_NE(sb.status().message().find(root_ + "/s1/persist.json"), std::string::npos);
}

TEST_F(StoreTest, BadIdsAreRefusedAndNothingIsCreated) {
  static const char* kBad[] = {"", "..", ".", "a/b", "../x", "-x", "a b", "x\n"};
  for (const char* id : kBad) {
    EXPECT_EQ(store_.SaveSandbox(id, sandbox_).code(), Code::kInvalidArgument) << id;
    EXPECT_EQ(store_.SaveContainer("s1", id, CrashState(1)).code(), Code::kInvalidArgument) << id;
    EXPECT_EQ(store_.LoadSandbox(id).status().code(), Code::kInvalidArgument) << id;
    EXPECT_EQ(store_.LoadContainer(id, "c1").status().code(), Code::kInvalidArgument) << id;
    EXPECT_EQ(store_.RemoveContainer("s1", id).code(), Code::kInvalidArgument) << id;
    EXPECT_EQ(store_.DestroySandbox(id).code(), Code::kInvalidArgument) << id;
    EXPECT_EQ(store_.Lock(id, LockMode::kShared).status().code(), Code::kInvalidArgument) << id;
  }
  EXPECT_FALSE(fs::exists(root_));
  EXPECT_TRUE(fs::is_empty(tmp_.path()));
}

struct Stamp {
  ino_t ino;
  int64_t mtime_ns;
  bool operator==(const Stamp&) const = default;
};

Stamp StampOf(const std::string& p) {
  struct stat st;
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return {st.st_ino, st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec};
}

TEST_F(StoreTest, SavingOneContainerTouchesOnlyItsFile) {
  ASSERT_OK(store_.SaveSandbox("s1", sandbox_));
  for (int i = 0; i < 5; ++i)
    ASSERT_OK(store_.SaveContainer("s1", "c" + std::to_string(i), CrashState(i)));
  std::map<std::string, Stamp> before;
  for (const auto& p : {"", "c1", "persist.json", "c0/persist.json", "c1/persist.json",
                        "c3/persist.json", "c4/persist.json", "c2/persist.json"})
    before[p] = StampOf(root_ + "/s1/" + p);
  ASSERT_OK(store_.SaveContainer("s1", "c2", CrashState(20)));
  for (const auto& [p, st] : before) {
    if (p == "c2/persist.json")
      EXPECT_NE(StampOf(root_ + "/s1/" + p).ino, st.ino) << "c2 was replaced by rename";
    else
      EXPECT_EQ(StampOf(root_ + "/s1/" + p), st) << p;
  }
  EXPECT_EQ(*store_.LoadContainer("s1", "c2"), CrashState(20));
}

TEST_F(StoreTest, StaleTempFilesAreRemovedByTheNextWriterButLiveOnesAreKept) {
  ASSERT_OK(store_.SaveSandbox("s1", sandbox_));
  ASSERT_OK(store_.SaveContainer("s1", "c1", CrashState(1)));
  // pid 2^22+1 is above the default pid_max... unless raised; a dead pid is
  // what matters, so use one that kill(2) reports missing.
  int dead = 4194303;
  while (::kill(dead, 0) == 0 || errno != ESRCH) --dead;
  const std::string stale1 = root_ + "/s1/persist.json" + TempSuffix(dead);
  const std::string stale2 = root_ + "/s1/c1/persist.json" + TempSuffix(dead);
  const std::string junk = root_ + "/s1/c1/persist.json.tmp.notapid";
  const std::string live = root_ + "/s1/persist.json" + TempSuffix(::getpid());
  for (const auto& p : {stale1, stale2, junk, live}) WriteFile(p, "{\"half");
  // A load reads around them and removes nothing (it may hold no lock).
  auto rec = store_.LoadSandbox("s1");
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->containers.at("c1"), CrashState(1));
  for (const auto& p : {stale1, stale2, junk, live}) EXPECT_TRUE(fs::exists(p)) << p;
  // A shared lock neither; the exclusive lock of the next writer does.
  { ASSERT_TRUE(store_.Lock("s1", LockMode::kShared).ok()); }
  EXPECT_TRUE(fs::exists(stale1));
  { ASSERT_TRUE(store_.Lock("s1", LockMode::kExclusive).ok()); }
  EXPECT_FALSE(fs::exists(stale1));
  EXPECT_FALSE(fs::exists(stale2));
  EXPECT_FALSE(fs::exists(junk));
  EXPECT_TRUE(fs::exists(live));
  // Our own leftover (same pid) does not block a save: it is replaced.
  ASSERT_OK(store_.SaveSandbox("s1", sandbox_));
  EXPECT_FALSE(fs::exists(live));
}

TEST_F(StoreTest, RemoveContainerDestroySandboxAndList) {
  ASSERT_OK(store_.SaveSandbox("s1", sandbox_));
  ASSERT_OK(store_.SaveSandbox("s2", sandbox_));
  ASSERT_OK(store_.SaveContainer("s1", "c1", CrashState(1)));
  ASSERT_OK(store_.SaveContainer("s1", "c2", CrashState(2)));
  fs::create_directories(root_ + "/not an id");
  auto list = store_.ListSandboxes();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"s1", "s2"}));

  ASSERT_OK(store_.RemoveContainer("s1", "c1"));
  EXPECT_FALSE(fs::exists(root_ + "/s1/c1"));
  ASSERT_OK(store_.RemoveContainer("s1", "c1"));
  auto rec = store_.LoadSandbox("s1");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->containers.size(), 1u);

  ASSERT_OK(store_.DestroySandbox("s1"));
  EXPECT_FALSE(fs::exists(root_ + "/s1"));
  ASSERT_OK(store_.DestroySandbox("s1"));
  EXPECT_EQ(*store_.ListSandboxes(), (std::vector<std::string>{"s2"}));
  EXPECT_TRUE(StateStore(env_, tmp_ / "absent").ListSandboxes()->empty());
}

TEST_F(StoreTest, DestroyNeverCrossesAMount) {
  REQUIRE_ROOT();
  ASSERT_OK(store_.SaveSandbox("s1", sandbox_));
  ASSERT_OK(store_.SaveContainer("s1", "c1", CrashState(1)));
  const std::string outside = tmp_ / "outside";
  fs::create_directories(outside);
  WriteFile(outside + "/precious", "keep me");
  fs::create_directories(root_ + "/s1/c1/mnt");
  ASSERT_OK(env_->Mount(outside, root_ + "/s1/c1/mnt", "", MS_BIND, ""));
  Status s = store_.DestroySandbox("s1");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find(root_ + "/s1/c1/mnt"), std::string::npos) << s.message();
  EXPECT_EQ(ReadFile(outside + "/precious"), "keep me");
  ASSERT_OK(env_->Unmount(root_ + "/s1/c1/mnt", 0));
  ASSERT_OK(store_.DestroySandbox("s1"));
  EXPECT_EQ(ReadFile(outside + "/precious"), "keep me");
}

}  // namespace
}  // namespace vmshare::persist
