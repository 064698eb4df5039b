// Sandbox locks: exclusion between processes (a child probes the lock) and
// between threads of one process, shared/shared compatibility.
#include "persist/lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "persist/store.h"
#include "support/test_util.h"

namespace vmshare::persist {
namespace {

using vmshare::testing::TempDir;

class LockTest : public ::testing::Test {
 protected:
  // Runs the helper's `trylock` in a child: 0 granted, 3 busy.
  int ChildTryLock(const char* mode) {
    auto child = env_->Spawn({.argv = {PERSIST_TEST_HELPER, "trylock", root_, "s1", mode}});
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    if (!child.ok()) return -1;
    auto st = env_->Wait(*child);
    EXPECT_TRUE(st.ok() && st->exited);
    return st.ok() ? st->code : -1;
  }

  sys::Env* env_ = sys::Env::Default();
  TempDir tmp_;
  std::string root_ = tmp_ / "sbs";
  StateStore store_{env_, root_};
};

TEST_F(LockTest, ExclusiveExcludesAnotherProcess) {
  {
    auto lock = store_.Lock("s1", LockMode::kExclusive);
    ASSERT_TRUE(lock.ok()) << lock.status().ToString();
    EXPECT_EQ(ChildTryLock("exclusive"), 3);
    EXPECT_EQ(ChildTryLock("shared"), 3);
  }
  EXPECT_EQ(ChildTryLock("exclusive"), 0);
}

TEST_F(LockTest, SharedAdmitsSharedButNotExclusive) {
  auto lock = store_.Lock("s1", LockMode::kShared);
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(ChildTryLock("shared"), 0);
  EXPECT_EQ(ChildTryLock("exclusive"), 3);
  lock->Release();
  EXPECT_FALSE(lock->held());
  EXPECT_EQ(ChildTryLock("exclusive"), 0);
}

TEST_F(LockTest, ThreadsOfOneProcessExcludeEachOther) {
  auto a = store_.Lock("s1", LockMode::kExclusive);
  ASSERT_TRUE(a.ok());
  // flock alone would grant this (or deadlock); the process table refuses it.
  auto b = store_.Lock("s1", LockMode::kExclusive, /*nonblocking=*/true);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kBusy);
  EXPECT_NE(b.status().message().find("sandbox \"s1\""), std::string::npos);
  EXPECT_EQ(store_.Lock("s1", LockMode::kShared, true).status().code(), Code::kBusy);

  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto c = store_.Lock("s1", LockMode::kExclusive);
    got = c.ok();
  });
  // The waiter cannot finish while `a` is held; releasing lets it in. (No
  // timing is asserted: join() would hang, and the test time out, if the
  // release did not wake it.)
  SandboxLock moved = std::move(*a);
  EXPECT_TRUE(moved.held());
  moved.Release();
  waiter.join();
  EXPECT_TRUE(got);
}

TEST_F(LockTest, SharedLocksInOneProcessCoexist) {
  auto a = store_.Lock("s1", LockMode::kShared);
  auto b = store_.Lock("s1", LockMode::kShared, /*nonblocking=*/true);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(store_.Lock("s1", LockMode::kExclusive, true).status().code(), Code::kBusy);
  a->Release();
  EXPECT_EQ(store_.Lock("s1", LockMode::kExclusive, true).status().code(), Code::kBusy);
  b->Release();
  EXPECT_TRUE(store_.Lock("s1", LockMode::kExclusive, true).ok());
}

TEST_F(LockTest, OtherSandboxesAreIndependent) {
  auto a = store_.Lock("s1", LockMode::kExclusive);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(store_.Lock("s2", LockMode::kExclusive, true).ok());
}

}  // namespace
}  // namespace vmshare::persist
