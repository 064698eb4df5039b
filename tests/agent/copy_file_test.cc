// CopyFile in the guest, in process: Kata's semantics and confinement to the
// shared directory (escape attempts are refused and write nothing outside).
#include "agent/server/copy_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/types.h"
#include "support/test_util.h"

namespace vmshare::agent {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kShared = std::string(kGuestSharedDir) + "/";

class CopyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_ / "shared";
    outside_ = tmp_ / "outside";
    fs::create_directories(root_);
    fs::create_directories(outside_);
  }
  Status Copy(const std::string& rel, uint32_t mode, const std::string& data, int64_t size = -1,
              int64_t offset = 0) {
    CopyFileRequest r;
    r.path = kShared + rel;
    r.file_mode = mode;
    r.dir_mode = 0750;
    r.uid = 0;
    r.gid = 0;
    r.data = data;
    r.offset = offset;
    r.file_size = size < 0 ? static_cast<int64_t>(data.size()) : size;
    return CopyFile(sys::Env::Default(), root_, r);
  }
  bool OutsideEmpty() { return fs::is_empty(outside_); }

  TempDir tmp_;
  std::string root_, outside_;
};

TEST_F(CopyFileTest, RegularFileWithParentsAndMode) {
  ASSERT_OK(Copy("c1-abc-cfg/sub/file.conf", S_IFREG | 0640, "hello"));
  EXPECT_EQ(testing::ReadFile(root_ + "/c1-abc-cfg/sub/file.conf"), "hello");
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/c1-abc-cfg/sub/file.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(::stat((root_ + "/c1-abc-cfg/sub").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  // No temp file left behind.
  EXPECT_FALSE(fs::exists(root_ + "/c1-abc-cfg/sub/.vmshare-tmp.file.conf"));
}

TEST_F(CopyFileTest, ChunkedFileAppearsOnlyWhenComplete) {
  ASSERT_OK(Copy("f", S_IFREG | 0644, "old"));
  ASSERT_OK(Copy("f", S_IFREG | 0644, "abc", /*size=*/6, /*offset=*/0));
  // Until the last chunk, the old content stays visible.
  EXPECT_EQ(testing::ReadFile(root_ + "/f"), "old");
  ASSERT_OK(Copy("f", S_IFREG | 0644, "def", /*size=*/6, /*offset=*/3));
  EXPECT_EQ(testing::ReadFile(root_ + "/f"), "abcdef");
}

TEST_F(CopyFileTest, TempNamesOfSiblingsDoNotCollide) {
  // Kata's "<stem>.tmp" would give both a.conf and a.yaml the temp a.tmp.
  ASSERT_OK(Copy("a.conf", S_IFREG | 0644, "AB", 4, 0));
  ASSERT_OK(Copy("a.yaml", S_IFREG | 0644, "xy", 4, 0));
  ASSERT_OK(Copy("a.conf", S_IFREG | 0644, "CD", 4, 2));
  ASSERT_OK(Copy("a.yaml", S_IFREG | 0644, "zw", 4, 2));
  EXPECT_EQ(testing::ReadFile(root_ + "/a.conf"), "ABCD");
  EXPECT_EQ(testing::ReadFile(root_ + "/a.yaml"), "xyzw");
  Status s = Copy(".vmshare-tmp.a.conf", S_IFREG | 0644, "x");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
}

TEST_F(CopyFileTest, EmptyFileDirectoryAndSymlink) {
  ASSERT_OK(Copy("empty", S_IFREG | 0600, ""));
  EXPECT_TRUE(fs::is_regular_file(root_ + "/empty"));
  EXPECT_EQ(fs::file_size(root_ + "/empty"), 0u);
  ASSERT_OK(Copy("dir", S_IFDIR | 0711, "ignored"));
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  ASSERT_OK(Copy("dir/..data", S_IFLNK | 0777, "..2026_01_01"));
  EXPECT_EQ(fs::read_symlink(root_ + "/dir/..data"), "..2026_01_01");
  // Replacing a symlink with a new target.
  ASSERT_OK(Copy("dir/..data", S_IFLNK | 0777, "..2026_02_02"));
  EXPECT_EQ(fs::read_symlink(root_ + "/dir/..data"), "..2026_02_02");
  // A directory replaces a file at its path.
  ASSERT_OK(Copy("empty", S_IFDIR | 0755, ""));
  EXPECT_TRUE(fs::is_directory(root_ + "/empty"));
}

TEST_F(CopyFileTest, DotDotIsRefused) {
  Status s = Copy("../outside/x", S_IFREG | 0644, "x");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("\"..\""), std::string::npos) << s.message();
  s = Copy("a/../../outside/x", S_IFREG | 0644, "x");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_TRUE(OutsideEmpty());
  EXPECT_FALSE(fs::exists(root_ + "/a"));
}

TEST_F(CopyFileTest, PathOutsideTheSharedDirIsRefused) {
  for (const std::string& p :
       {std::string("/etc/passwd"), std::string(kGuestSharedDir),
        std::string(kGuestSharedDir) + "-evil/x", std::string("/run/kata-containers/shared/x")}) {
    CopyFileRequest r;
    r.path = p;
    r.file_mode = S_IFREG | 0644;
    Status s = CopyFile(sys::Env::Default(), root_, r);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << p;
  }
}

TEST_F(CopyFileTest, AbsoluteSymlinkPlantedEarlierIsNotFollowed) {
  // An earlier CopyFile plants link -> <outside> (absolute, pointing out).
  ASSERT_OK(Copy("link", S_IFLNK | 0777, outside_));
  Status s = Copy("link/pwn", S_IFREG | 0644, "x");
  EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
  s = Copy("link/sub/pwn", S_IFDIR | 0755, "");
  EXPECT_FALSE(s.ok());
  // Writing at the link's own path replaces the link, never writes through it.
  ASSERT_OK(Copy("link", S_IFREG | 0644, "data"));
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root_ + "/link")));
  EXPECT_TRUE(OutsideEmpty());
}

TEST_F(CopyFileTest, SymlinkedParentIsRefused) {
  fs::create_directories(root_ + "/real");
  ASSERT_OK(Copy("rel", S_IFLNK | 0777, "../outside"));
  ASSERT_OK(Copy("inner", S_IFLNK | 0777, "real"));
  EXPECT_EQ(Copy("rel/pwn", S_IFREG | 0644, "x").code(), Code::kPermissionDenied);
  EXPECT_EQ(Copy("rel/a/b", S_IFREG | 0644, "x").code(), Code::kPermissionDenied);
  // Even a symlink that stays inside is not walked through.
  EXPECT_EQ(Copy("inner/pwn", S_IFREG | 0644, "x").code(), Code::kPermissionDenied);
  EXPECT_TRUE(OutsideEmpty());
  EXPECT_TRUE(fs::is_empty(root_ + "/real"));
}

TEST_F(CopyFileTest, ChunkPastFileSizeIsRefused) {
  Status s = Copy("f", S_IFREG | 0644, "toolong", /*size=*/3);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(root_ + "/f"));
}

}  // namespace
}  // namespace vmshare::agent
