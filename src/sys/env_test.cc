#include "sys/env.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include "support/test_util.h"
#include "sys/posix_env.h"
#include "sys/sys_error.h"

namespace vmshare::sys {
namespace {

using vmshare::testing::TempDir;

TEST(EnvTest, OpenMissingNamesPath) {
  TempDir dir;
  Result<Fd> fd = Env::Default()->OpenAt(Cwd(), dir / "missing", O_RDONLY);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), Code::kNotFound);
  EXPECT_EQ(fd.status().err(), ENOENT);
  EXPECT_NE(fd.status().message().find(dir / "missing"), std::string::npos);
}

TEST(EnvTest, InRootResolutionStaysInside) {
  TempDir dir;
  Env* env = Env::Default();
  ASSERT_OK(env->MkdirAt(Cwd(), dir / "root", 0755));
  ASSERT_OK(env->SymlinkAt("/etc", Cwd(), dir / "root/evil"));
  ASSERT_OK(env->MkdirAt(Cwd(), dir / "root/etc", 0755));
  auto root = env->OpenAt(Cwd(), dir / "root", O_PATH | O_DIRECTORY);
  ASSERT_OK(root);
  // "/etc" inside the root is root/etc, not the host's /etc.
  auto fd = env->OpenAt2(*root, "evil", O_PATH, 0, kResolveInRoot | kResolveNoMagiclinks);
  ASSERT_OK(fd);
  auto path = env->FdPath(*fd);
  ASSERT_OK(path);
  EXPECT_EQ(*path, dir / "root/etc");
}

TEST(EnvTest, BindByFdReadOnly) {
  REQUIRE_ROOT();
  TempDir dir;
  Env* env = Env::Default();
  ASSERT_OK(env->MkdirAt(Cwd(), dir / "src", 0755));
  ASSERT_OK(env->MkdirAt(Cwd(), dir / "dst", 0755));
  auto tree = env->CloneTree(Cwd(), dir / "src", false);
  ASSERT_OK(tree);
  ASSERT_OK(env->MountSetattr(*tree, {.read_only = true}));
  auto target = env->OpenAt(Cwd(), dir / "dst", O_PATH | O_DIRECTORY);
  ASSERT_OK(target);
  ASSERT_OK(env->MoveMount(*tree, *target));
  tree->Reset();  // an open fd on the mount would make the unmount EBUSY
  auto info = env->StatAt(Cwd(), dir / "dst", AT_SYMLINK_NOFOLLOW);
  ASSERT_OK(info);
  EXPECT_TRUE(info->mount_root);
  auto w = env->OpenAt(Cwd(), dir / "dst/x", O_WRONLY | O_CREAT, 0644);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().err(), EROFS);
  ASSERT_OK(env->Unmount(dir / "dst", 0));
}

TEST(EnvTest, SpawnAndWait) {
  Env* env = Env::Default();
  auto child = env->Spawn({.argv = {"sh", "-c", "exit 7"}});
  ASSERT_OK(child);
  auto st = env->Wait(*child);
  ASSERT_OK(st);
  EXPECT_TRUE(st->exited);
  EXPECT_EQ(st->code, 7);
  auto missing = env->Spawn({.argv = {"/nonexistent/prog"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().err(), ENOENT);
}

TEST(EnvTest, UnmountFdErrorNamesTheMount) {
  // Not a mount point: umount2 fails (EINVAL as root, EPERM otherwise), and
  // the message must name the directory, not the text of the expression.
  TempDir dir;
  Env* env = Env::Default();
  ASSERT_OK(env->MkdirAt(Cwd(), dir / "plain", 0755));
  auto fd = env->OpenAt(Cwd(), dir / "plain", O_PATH | O_DIRECTORY);
  ASSERT_OK(fd);
  Status s = PosixEnv().UnmountFd(*fd, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.err(), 0);
  EXPECT_EQ(s.message().rfind("unmount \"" + (dir / "plain") + "\": ", 0), 0u) << s.message();
}

TEST(EnvTest, StatfsErrorNamesTheFd) {
  Fd bad(1 << 20);  // never open
  auto magic = PosixEnv().FsMagic(bad);
  ASSERT_FALSE(magic.ok());
  EXPECT_EQ(magic.status().err(), EBADF);
  EXPECT_EQ(magic.status().message(), "statfs \"fd 1048576\": bad file descriptor (EBADF)");
  bad.release();
}

TEST(SysErrorTest, SavesErrnoAndQuotesTheObject) {
  errno = ENOENT;
  Status s = SysError("open", "a\"b\nc");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.err(), ENOENT);
  EXPECT_EQ(s.message(), "open \"a\\\"b\\x0ac\": no such file or directory (ENOENT)");
  errno = EBUSY;
  EXPECT_EQ(SysError("poll").message(), "poll: device or resource busy (EBUSY)");
  EXPECT_EQ(SysErrorCode(EROFS, "mount", "/x").message(),
            "mount \"/x\": read-only file system (EROFS)");
}

TEST(SysErrorTest, DescribesTheFileOnlyAfterSavingErrno) {
  // Describing an fd reads /proc/self/fd/N; for a closed fd that readlink
  // fails with ENOENT, which must not replace the error being reported.
  Fd bad(1 << 20);
  errno = EACCES;
  Status s = SysError("read", bad);
  EXPECT_EQ(s.err(), EACCES);
  EXPECT_EQ(s.message(), "read \"fd 1048576\": permission denied (EACCES)");
  bad.release();
}

}  // namespace
}  // namespace vmshare::sys
