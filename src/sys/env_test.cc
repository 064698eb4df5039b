#include "sys/env.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include "support/test_util.h"

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

}  // namespace
}  // namespace vmshare::sys
