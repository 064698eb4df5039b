// The write sequence under injected faults and simulated crashes (FaultEnv):
// a failing step returns its error and leaves the old document and no temp
// file; a crash after any step leaves exactly the old or the new document.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "fault_env.h"
#include "persist/crash_state.h"
#include "persist/store.h"
#include "support/test_util.h"

namespace vmshare::persist {
namespace {

namespace fs = std::filesystem;
using vmshare::testing::CrashState;
using vmshare::testing::FaultEnv;
using vmshare::testing::ReadFile;
using vmshare::testing::TempDir;
using Op = FaultEnv::Op;

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(plain_.SaveSandbox("s1", {.state = "ready"}));
    ASSERT_OK(plain_.SaveContainer("s1", "c1", CrashState(1)));
  }
  bool NoTempFiles() {
    for (const auto& e : fs::recursive_directory_iterator(root_))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) return false;
    return true;
  }

  sys::Env* env_ = sys::Env::Default();
  TempDir tmp_;
  std::string root_ = tmp_ / "sbs";
  StateStore plain_{env_, root_};
};

struct FailCase {
  const char* step;
  Op op;
  int nth;  // counted from the start of SaveContainer
};

TEST_F(FaultTest, EachFailingStepReturnsItsErrorAndChangesNothing) {
  // SaveContainer: open sandbox dir, open container dir, open+read the old
  // document, then the write sequence.
  static const FailCase kCases[] = {
      {"create temp", Op::kOpenAt, 4},        {"write", Op::kWriteAll, 1},
      {"fsync file", Op::kFsync, 1},          {"rename", Op::kRenameAt, 1},
      {"read old document", Op::kReadAll, 1},
  };
  for (const auto& c : kCases) {
    FaultEnv fenv(env_);
    StateStore store(&fenv, root_);
    fenv.FailNth(c.op, c.nth, ENOSPC);
    Status s = store.SaveContainer("s1", "c1", CrashState(2));
    EXPECT_EQ(s.err(), ENOSPC) << c.step << ": " << s.ToString();
    EXPECT_NE(s.message().find("injected fault"), std::string::npos)
        << c.step << ": " << s.ToString();
    EXPECT_EQ(*plain_.LoadContainer("s1", "c1"), CrashState(1)) << c.step;
    EXPECT_TRUE(NoTempFiles()) << c.step;
  }
}

TEST_F(FaultTest, FailedDirectorySyncIsReportedAfterTheRename) {
  FaultEnv fenv(env_);
  StateStore store(&fenv, root_);
  fenv.FailNth(Op::kFsync, 2, EIO);
  Status s = store.SaveContainer("s1", "c1", CrashState(2));
  EXPECT_EQ(s.err(), EIO) << s.ToString();
  // The rename happened but is not known durable: a crash now reverts it.
  fenv.DropUnsyncedData();
  EXPECT_EQ(*plain_.LoadContainer("s1", "c1"), CrashState(1));
}

// Crash after k calls for every k through a whole save: the state after the
// crash is exactly v1 or v2, and v2 whenever the save had reported success.
void CrashEverywhere(const std::string& root, const std::string& cid, bool existed) {
  for (int k = 0;; ++k) {
    FaultEnv fenv(sys::Env::Default());
    StateStore store(&fenv, root);
    fenv.CrashAfter(k);
    Status s = store.SaveContainer("s1", cid, CrashState(2));
    const bool reached_end = fenv.total_calls() <= k;
    fenv.DropUnsyncedData();
    StateStore plain(sys::Env::Default(), root);
    auto got = plain.LoadContainer("s1", cid);
    if (got.ok()) {
      EXPECT_TRUE(*got == CrashState(2) || (existed && *got == CrashState(1)))
          << "crash after " << k;
    } else {
      EXPECT_FALSE(existed) << "crash after " << k << ": " << got.status().ToString();
      EXPECT_EQ(got.status().code(), Code::kNotFound) << "crash after " << k;
    }
    if (s.ok()) {
      EXPECT_TRUE(got.ok() && *got == CrashState(2))
          << "crash after " << k << " lost an acknowledged save";
    }
    // Put the old state back for the next round.
    if (existed)
      ASSERT_OK(plain.SaveContainer("s1", cid, CrashState(1)));
    else
      ASSERT_OK(plain.RemoveContainer("s1", cid));
    if (reached_end) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      EXPECT_GE(k, 8);  // the sequence has at least this many calls
      return;
    }
  }
}

TEST_F(FaultTest, CrashAfterEachStepLeavesOldOrNewDocument) {
  CrashEverywhere(root_, "c1", /*existed=*/true);
}

TEST_F(FaultTest, CrashAfterEachStepOfAFirstSaveLeavesNothingOrNewDocument) {
  CrashEverywhere(root_, "c2", /*existed=*/false);
}

// The simulator itself: an unsynced write is lost and an unsynced rename
// undone, so a writer that skipped a step would be caught by the tests above.
TEST_F(FaultTest, SimulatorLosesUnsyncedWritesAndRenames) {
  FaultEnv fenv(env_);
  auto dir = fenv.OpenAt(sys::Cwd(), root_ + "/s1/c1", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_TRUE(dir.ok());
  const std::string before = ReadFile(root_ + "/s1/c1/persist.json");
  {
    auto fd = fenv.OpenAt(*dir, "x.tmp.1", O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_TRUE(fd.ok());
    ASSERT_OK(fenv.WriteAll(*fd, "{}", std::nullopt));
  }
  ASSERT_OK(fenv.RenameAt(*dir, "x.tmp.1", *dir, "persist.json", 0));
  ASSERT_OK(fenv.Fsync(*dir));  // the rename is durable, the bytes are not
  fenv.DropUnsyncedData();
  EXPECT_EQ(ReadFile(root_ + "/s1/c1/persist.json"), "");

  {
    auto fd = fenv.OpenAt(*dir, "y.tmp.1", O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_TRUE(fd.ok());
    ASSERT_OK(fenv.WriteAll(*fd, before, std::nullopt));
    ASSERT_OK(fenv.Fsync(*fd));
  }
  ASSERT_OK(fenv.RenameAt(*dir, "y.tmp.1", *dir, "persist.json", 0));
  fenv.DropUnsyncedData();  // the rename was never made durable
  EXPECT_EQ(ReadFile(root_ + "/s1/c1/persist.json"), "");
  EXPECT_FALSE(fs::exists(root_ + "/s1/c1/y.tmp.1"));
}

}  // namespace
}  // namespace vmshare::persist
