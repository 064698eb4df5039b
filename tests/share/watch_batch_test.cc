// VolumeSync against the real vmshare-agent (a child process): a kubelet
// update small enough for one Batch call arrives whole in that one call, a
// payload too big for one goes step by step and arrives the same, and a
// batch that fails half-way is reported, naming the step, and the next
// sync finishes what it left half done.
#include <sys/stat.h>

#include "share/watch_agent.h"
#include "share/watcher_sync.h"

namespace vmshare::testing {
namespace {

class WatchBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
    volume_ = tmp_ / "kubelet/volumes/kubernetes.io~configmap/cfg";
    writer_ = std::make_unique<KubeletWriter>(volume_);
    // The parent of the copy's tmpfs, as the copy sharer leaves it.
    fs::create_directories(tmp_ / "guest-shared/watched");
    agent_ = std::make_unique<RunningAgent>(tmp_.path(), tmp_ / "guest-shared");
    ASSERT_TRUE(agent_->ok()) << "agent did not start:\n" << agent_->log();
  }

  std::string Guest() const { return agent_->Host(kGuestDir); }

  static constexpr char kGuestDir[] =
      "/run/kata-containers/shared/containers/watched/c1-0123456789abcdef-cfg/cfg";
  TempDir tmp_;
  std::string volume_;
  std::unique_ptr<KubeletWriter> writer_;
  std::unique_ptr<RunningAgent> agent_;
};

TEST_F(WatchBatchTest, SmallUpdateIsOneBatchAndArrivesWhole) {
  ASSERT_TRUE(writer_->Write({{"a", {"one"}}, {"dir/b", {"two", 0600}}}));
  share::VolumeSync sync(sys::Env::Default(), volume_, kGuestDir);
  ASSERT_OK(sync.Sync(agent_->client(), /*rescan=*/true));
  EXPECT_EQ(Diff(volume_, Guest()), "");
  const uint64_t before = sync.stats().batched;

  ASSERT_TRUE(writer_->Write({{"a", {"three"}}, {"c", {"four", 0640}}}));
  ASSERT_OK(sync.Sync(agent_->client(), /*rescan=*/false));
  EXPECT_EQ(Diff(volume_, Guest()), "");
  EXPECT_EQ(sync.stats().batched, before + 1);
  EXPECT_EQ(sync.stats().switches, 2u);
}

TEST_F(WatchBatchTest, PayloadTooBigForOneBatchGoesStepByStep) {
  ASSERT_TRUE(writer_->Write({{"a", {"one"}}}));
  share::VolumeSync sync(sys::Env::Default(), volume_, kGuestDir);
  ASSERT_OK(sync.Sync(agent_->client(), /*rescan=*/true));
  const uint64_t before = sync.stats().batched;
  ASSERT_TRUE(writer_->Write({{"big", {std::string(3 << 20, 'x')}}, {"a", {"two"}}}));
  ASSERT_OK(sync.Sync(agent_->client(), /*rescan=*/false));
  EXPECT_EQ(Diff(volume_, Guest()), "");
  EXPECT_EQ(sync.stats().batched, before);
}

TEST_F(WatchBatchTest, FailedBatchIsReportedAndTheNextSyncRepairs) {
  ASSERT_TRUE(writer_->Write({{"a", {"one"}}}));
  share::VolumeSync sync(sys::Env::Default(), volume_, kGuestDir);
  ASSERT_OK(sync.Sync(agent_->client(), /*rescan=*/true));
  // A directory where the update's ..data_tmp symlink must go: the batch
  // fails at that step, after the new payload was written.
  ASSERT_EQ(::mkdir((Guest() + "/..data_tmp").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((Guest() + "/..data_tmp/x").c_str(), 0755), 0);
  ASSERT_TRUE(writer_->Write({{"a", {"two"}}}));
  Status failed = sync.Sync(agent_->client(), /*rescan=*/false);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("batch step"), std::string::npos) << failed.ToString();
  EXPECT_NE(failed.message().find(volume_), std::string::npos) << failed.ToString();
  // Once the obstacle is gone, the next sync lists the guest again (the
  // failed batch left it half done) and finishes the update.
  fs::remove_all(Guest() + "/..data_tmp");
  ASSERT_OK(sync.Sync(agent_->client(), /*rescan=*/false));
  EXPECT_EQ(Diff(volume_, Guest()), "");
}

}  // namespace
}  // namespace vmshare::testing
