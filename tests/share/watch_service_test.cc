// vmshare.VmshareService in the guest agent, called in-process: every path
// stays inside the shared root (".." and symlinked parents refused, final
// symlinks never followed, recursive removal neither leaves the tree nor
// crosses a mount), MountTmpfs is idempotent, ReadDir pages.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "agent/server/vmshare_service.h"
#include "core/types.h"
#include "support/test_util.h"

namespace vmshare::agent {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

class VmshareServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
    root_ = tmp_ / "shared";
    fs::create_directories(root_);
    outside_ = tmp_ / "outside";
    fs::create_directories(outside_);
    WriteFile(outside_ + "/precious", "keep me");
  }
  static std::string G(const std::string& rel) { return std::string(kGuestSharedDir) + "/" + rel; }

  TempDir tmp_;
  std::string root_, outside_;
  std::unique_ptr<VmshareService> svc_;
  VmshareService& svc() {
    svc_ = std::make_unique<VmshareService>(sys::Env::Default(), root_);
    return *svc_;
  }
};

TEST_F(VmshareServiceTest, RenameAndRemoveStayInTheRoot) {
  VmshareService& s = svc();
  fs::create_directories(root_ + "/vol");
  fs::create_symlink("target-a", root_ + "/vol/..data_tmp");
  ASSERT_OK(s.Rename({G("vol/..data_tmp"), G("vol/..data")}));
  EXPECT_EQ(fs::read_symlink(root_ + "/vol/..data"), "target-a");

  // A symlinked parent directory is refused, whichever way it points.
  fs::create_directory_symlink(outside_, root_ + "/escape");
  EXPECT_EQ(s.Remove({G("escape/precious"), false}).code(), Code::kPermissionDenied);
  EXPECT_EQ(s.Rename({G("escape/precious"), G("vol/stolen")}).code(), Code::kPermissionDenied);
  EXPECT_EQ(s.Remove({G("vol/../../outside/precious"), false}).code(), Code::kInvalidArgument);
  EXPECT_EQ(s.Remove({"/etc/passwd", false}).code(), Code::kInvalidArgument);
  EXPECT_EQ(s.Remove({std::string(kGuestSharedDir), true}).code(), Code::kInvalidArgument);
  // The final symlink is removed, not followed.
  ASSERT_OK(s.Remove({G("escape"), true}));
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ + "/escape")));
  EXPECT_EQ(ReadFile(outside_ + "/precious"), "keep me");

  // Recursive removal does not follow symlinks inside the tree.
  fs::create_directories(root_ + "/tree/a/b");
  WriteFile(root_ + "/tree/a/b/f", "x");
  fs::create_directory_symlink(outside_, root_ + "/tree/a/link");
  ASSERT_OK(s.Remove({G("tree"), true}));
  EXPECT_FALSE(fs::exists(root_ + "/tree"));
  EXPECT_EQ(ReadFile(outside_ + "/precious"), "keep me");
  // Missing entries are fine.
  EXPECT_OK(s.Remove({G("tree"), true}));
  EXPECT_OK(s.Remove({G("no/such/parent"), false}));
}

TEST_F(VmshareServiceTest, RecursiveRemoveNeverCrossesAMount) {
  VmshareService& s = svc();
  fs::create_directories(root_ + "/tree/mnt");
  ASSERT_EQ(::mount(outside_.c_str(), (root_ + "/tree/mnt").c_str(), nullptr, MS_BIND, nullptr), 0);
  Status st = s.Remove({G("tree"), true});
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(ReadFile(outside_ + "/precious"), "keep me");
  ::umount2((root_ + "/tree/mnt").c_str(), MNT_DETACH);
}

TEST_F(VmshareServiceTest, MountTmpfsIsIdempotentAndOwnedByRoot) {
  VmshareService& s = svc();
  ASSERT_OK(s.MountTmpfs({G("watchable"), 0755}));
  ASSERT_OK(s.MountTmpfs({G("watchable"), 0755}));
  EXPECT_EQ(testing::CountMountsUnder(root_ + "/watchable"), 1);
  ASSERT_EQ(::chown((root_ + "/watchable").c_str(), 1000, 1000), 0);
  ASSERT_OK(s.MountTmpfs({G("watchable"), 0755}));
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/watchable").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ::umount2((root_ + "/watchable").c_str(), MNT_DETACH);
}

TEST_F(VmshareServiceTest, ReadDirPagesInNameOrder) {
  VmshareService& s = svc();
  fs::create_directories(root_ + "/d");
  for (int i = 0; i < 1200; ++i) WriteFile(root_ + "/d/f" + std::to_string(10000 + i), "x");
  fs::create_symlink("..data/k", root_ + "/d/k");
  ReadDirRequest r{G("d"), "", 0};
  size_t total = 0;
  std::string last;
  bool link_seen = false;
  for (;;) {
    auto page = s.ReadDir(r);
    ASSERT_OK(page.status());
    EXPECT_LE(page->entries.size(), VmshareService::kMaxDirEntries);
    for (const auto& e : page->entries) {
      EXPECT_GT(e.name, last);
      last = e.name;
      if (e.name == "k") link_seen = S_ISLNK(e.mode) && e.link_target == "..data/k";
    }
    total += page->entries.size();
    if (!page->more) break;
    r.start_after = last;
  }
  EXPECT_EQ(total, 1201u);
  EXPECT_TRUE(link_seen);
}

}  // namespace
}  // namespace vmshare::agent
