// A mount source swapped for a symlink to "/" while it is being shared: a
// thread exchanges (renameat2 RENAME_EXCHANGE, atomic) the source's name
// between a directory and a symlink to "/" as fast as it can, while the main
// thread shares and unshares that source at least 10,000 times. Every share
// that succeeds must have mounted the directory (same device and inode, its
// marker file visible), never "/"; the refusals name the symlink; and
// nothing outside the sandbox tree is mounted or unmounted.
#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <thread>

#include "security/security_support.h"
#include "share/share_fixture.h"

namespace vmshare::security {
namespace {

constexpr int kIterations = 10000;

class SymlinkRaceTest : public testing::ShareFixture {};

TEST_F(SymlinkRaceTest, EverySuccessfulShareMountedTheDirectoryNeverRoot) {
  ASSERT_OK(sharer_->Prepare());
  const std::string vol = src_ + "/vol";
  const std::string alt = src_ + "/vol.alt";
  fs::create_directories(vol);
  WriteFile(vol + "/marker", "the directory");
  fs::create_symlink("/", alt);
  struct stat dir_st;
  ASSERT_EQ(::stat(vol.c_str(), &dir_st), 0);
  const auto outside = MountsOutside(SandboxDir());

  // Each iteration starts the flipper (1 to 3 exchanges, at once) and
  // ShareFile together, so every share races an exchange in flight, and
  // the iterations spread over both states rather than bunching up where
  // ShareFile is fastest (a refusal).
  std::atomic<bool> stop{false};
  std::atomic<int> go{-1};
  std::atomic<int> started{-1};
  std::atomic<long> swaps{0};
  std::thread flipper([&] {
    int last = -1;
    while (!stop.load(std::memory_order_relaxed)) {
      const int g = go.load();
      if (g == last) {
        std::this_thread::yield();
        continue;
      }
      last = g;
      started.store(g);
      for (int k = 0; k <= g % 3; ++k)
        if (::renameat2(AT_FDCWD, vol.c_str(), AT_FDCWD, alt.c_str(), RENAME_EXCHANGE) == 0)
          ++swaps;
    }
  });

  Container c{"c1", {}};
  int shared = 0, refused = 0, wrong = 0;
  std::map<std::string, int> reasons;
  std::string first_wrong, first_refusal;
  for (int i = 0; i < kIterations; ++i) {
    go.store(i);
    while (started.load() != i) std::this_thread::yield();
    Mount m = BindMount(vol, "/data");
    auto r = sharer_->ShareFile(c, m);
    if (!r.ok()) {
      ++refused;
      if (first_refusal.empty()) first_refusal = r.status().ToString();
      ++reasons[r.status().ToString().substr(0, 60)];
      continue;
    }
    ++shared;
    struct stat st;
    const bool same = ::stat(m.host_path.c_str(), &st) == 0 && st.st_dev == dir_st.st_dev &&
                      st.st_ino == dir_st.st_ino &&
                      ReadFile(m.host_path + "/marker") == "the directory";
    if (!same) {
      ++wrong;
      if (first_wrong.empty()) first_wrong = m.host_path;
    }
    Status u = sharer_->UnshareFile(c, m);
    ASSERT_TRUE(u.ok()) << u.ToString();
  }
  stop = true;
  flipper.join();

  std::printf("symlink race: %d iterations, %ld swaps, %d shared (all checked), %d refused\n",
              kIterations, swaps.load(), shared, refused);
  for (const auto& [why, n] : reasons) std::printf("  %d x %s\n", n, why.c_str());
  EXPECT_EQ(wrong, 0) << "a share mounted something else than the directory, e.g. at "
                      << first_wrong;
  EXPECT_GE(swaps.load(), kIterations / 2) << "the race did not run";
  EXPECT_GT(shared, 0);
  EXPECT_GT(refused, 0) << "never refused: the symlink was never seen";
  if (!first_refusal.empty()) {
    EXPECT_NE(first_refusal.find("symbolic link"), std::string::npos) << first_refusal;
  }
  EXPECT_EQ(MountsOutside(SandboxDir()), outside);
  EXPECT_EQ(testing::CountMountsUnder(Mounts() + "/c1-"), 0);
}

}  // namespace
}  // namespace vmshare::security
