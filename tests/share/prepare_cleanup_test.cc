// Prepare / Cleanup: the share tree, its propagation, idempotency, and that
// Cleanup leaves nothing mounted or on disk.
#include <sys/mount.h>
#include <sys/stat.h>

#include "share/bind.h"
#include "share_fixture.h"

namespace vmshare::testing {
namespace {

class PrepareCleanupTest : public ShareFixture {};

bool IsMountRoot(const std::string& path) {
  auto r = share::IsMountRoot(sys::Env::Default(), path);
  return r.ok() && *r;
}

TEST_F(PrepareCleanupTest, PrepareBuildsTheTree) {
  ASSERT_OK(sharer_->Prepare());
  EXPECT_TRUE(IsMountRoot(Mounts()));
  EXPECT_TRUE(IsMountRoot(Shared()));
  EXPECT_TRUE(IsMountRoot(Paths().private_dir));
  EXPECT_EQ(CountMountsUnder(SandboxDir() + "/"), 3);
  // shared/ itself is read-only: nothing can be created at its top.
  EXPECT_EQ(TryWrite(Shared() + "/new"), EROFS);
  // mounts/ is not.
  EXPECT_EQ(TryWrite(Mounts() + "/probe"), 0);
  EXPECT_TRUE(Exists(Shared() + "/probe"));  // same directory, seen through the ro bind
  ::unlink((Mounts() + "/probe").c_str());
}

TEST_F(PrepareCleanupTest, PrepareTwiceStacksNothing) {
  ASSERT_OK(sharer_->Prepare());
  const int once = CountMountsUnder(SandboxDir() + "/");
  ASSERT_OK(sharer_->Prepare());
  ASSERT_OK(sharer_->Prepare());
  EXPECT_EQ(CountMountsUnder(SandboxDir() + "/"), once);
}

TEST_F(PrepareCleanupTest, CleanupTwiceAndWithoutPrepare) {
  ASSERT_OK(sharer_->Cleanup());  // never prepared
  ASSERT_OK(sharer_->Prepare());
  ASSERT_OK(sharer_->Cleanup());
  ASSERT_OK(sharer_->Cleanup());
  EXPECT_EQ(CountMountsUnder(SandboxDir()), 0);
  EXPECT_FALSE(Exists(SandboxDir()));
}

TEST_F(PrepareCleanupTest, PrepareAfterCleanupWorksAgain) {
  ASSERT_OK(sharer_->Prepare());
  ASSERT_OK(sharer_->Cleanup());
  ASSERT_OK(sharer_->Prepare());
  EXPECT_TRUE(IsMountRoot(Shared()));
}

TEST_F(PrepareCleanupTest, CleanupRemovesSharesNeverUnshared) {
  ASSERT_OK(sharer_->Prepare());
  Container c{"c1", {}};
  Mount rw = BindMount(MakeVolume("v1"), "/data");
  Mount ro = BindMount(MakeVolume("v2"), "/cfg", /*ro=*/true);
  ASSERT_TRUE(sharer_->ShareFile(c, rw).ok());
  ASSERT_TRUE(sharer_->ShareFile(c, ro).ok());
  c.state.rootfs.source = MakeVolume("rootfs");
  ASSERT_TRUE(sharer_->ShareRootFilesystem(c).ok());
  EXPECT_GT(CountMountsUnder(SandboxDir() + "/"), 3);
  ASSERT_OK(sharer_->Cleanup());
  EXPECT_EQ(CountMountsUnder(SandboxDir()), 0);
  EXPECT_FALSE(Exists(SandboxDir()));
  // The sources are untouched.
  EXPECT_EQ(ReadFile(src_ + "/v1/f"), "hello");
  EXPECT_EQ(ReadFile(src_ + "/rootfs/f"), "hello");
}

TEST_F(PrepareCleanupTest, CleanupRefusesToDeleteThroughAMount) {
  ASSERT_OK(sharer_->Prepare());
  // A mount Cleanup did not make and cannot detach through the tree mounts:
  // on the sandbox dir itself, below the tree mounts.
  const std::string foreign = SandboxDir() + "/foreign";
  std::filesystem::create_directories(foreign);
  MakeVolume("precious");
  ASSERT_OK(sys::Env::Default()->Mount(src_ + "/precious", foreign, "", MS_BIND, ""));
  Status s = sharer_->Cleanup();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find(foreign), std::string::npos) << s.message();
  EXPECT_EQ(ReadFile(src_ + "/precious/f"), "hello");
  ASSERT_OK(sys::Env::Default()->Unmount(foreign, 0));
  ASSERT_OK(sharer_->Cleanup());
  EXPECT_FALSE(Exists(SandboxDir()));
  EXPECT_EQ(ReadFile(src_ + "/precious/f"), "hello");
}

TEST_F(PrepareCleanupTest, SandboxBindMountsAreReadOnlyAndIdempotent) {
  auto c = Config();
  c.sandbox_bind_mounts = {MakeVolume("sbm1", "one"), MakeVolume("sbm2", "two")};
  sharer_ = MakeSharer(c);
  ASSERT_OK(sharer_->Prepare());
  const int once = CountMountsUnder(SandboxDir() + "/");
  EXPECT_EQ(once, 3 + 2 * 2);  // tree + each bind under mounts/ and shared/
  ASSERT_OK(sharer_->Prepare());
  EXPECT_EQ(CountMountsUnder(SandboxDir() + "/"), once);
  EXPECT_EQ(ReadFile(Shared() + "/sandbox-mounts/sbm1/f"), "one");
  EXPECT_EQ(ReadFile(Shared() + "/sandbox-mounts/sbm2/f"), "two");
  EXPECT_EQ(TryWrite(Mounts() + "/sandbox-mounts/sbm1/f"), EROFS);
  EXPECT_EQ(TryWrite(Shared() + "/sandbox-mounts/sbm2/f"), EROFS);
}

// Kata takes regular files as sandbox bind mounts too: a file appears as a
// read-only file under sandbox-mounts/.
TEST_F(PrepareCleanupTest, RegularFileSandboxBindMount) {
  const std::string file = src_ + "/resolv.conf";
  WriteFile(file, "nameserver 10.0.0.1\n");
  auto c = Config();
  c.sandbox_bind_mounts = {file, MakeVolume("dir1", "d")};
  sharer_ = MakeSharer(c);
  ASSERT_OK(sharer_->Prepare());
  EXPECT_EQ(ReadFile(Shared() + "/sandbox-mounts/resolv.conf"), "nameserver 10.0.0.1\n");
  EXPECT_EQ(ReadFile(Shared() + "/sandbox-mounts/dir1/f"), "d");
  EXPECT_EQ(TryWrite(Mounts() + "/sandbox-mounts/resolv.conf"), EROFS);
  ASSERT_OK(sharer_->Prepare());  // idempotent with a file too
  ASSERT_OK(sharer_->Cleanup());
  EXPECT_FALSE(Exists(SandboxDir()));
  EXPECT_EQ(ReadFile(file), "nameserver 10.0.0.1\n");
}

TEST_F(PrepareCleanupTest, BadSandboxBindMountsChangeNothing) {
  struct Case {
    const char* name;
    std::vector<std::string> binds;
    Code code;
  };
  const std::string a = MakeVolume("a");
  const std::string dup = MakeVolume("x/a");
  const std::string fifo = src_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const Case cases[] = {
      {"missing", {src_ + "/nope"}, Code::kNotFound},
      {"relative", {"rel/dir"}, Code::kInvalidArgument},
      {"duplicate base name", {a, dup}, Code::kInvalidArgument},
      {"neither a directory nor a regular file", {fifo}, Code::kInvalidArgument},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    auto c = Config();
    c.sandbox_bind_mounts = k.binds;
    auto sharer = MakeSharer(c);
    Status s = sharer->Prepare();
    EXPECT_EQ(s.code(), k.code) << s.ToString();
    EXPECT_FALSE(Exists(root_)) << "Prepare changed the filesystem";
  }
}

TEST(NewSharerTest, RejectsBadConfig) {
  share::SharerConfig c;
  c.sandbox_id = "sb1";
  c.root = "/tmp/x";
  auto unknown = share::NewSharer("nfs", c);
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("nfs"), std::string::npos);
  c.sandbox_id = "../evil";
  EXPECT_EQ(share::NewSharer("virtio-fs", c).status().code(), Code::kInvalidArgument);
  c.sandbox_id = "sb1";
  c.root = "relative";
  EXPECT_EQ(share::NewSharer("virtio-fs", c).status().code(), Code::kInvalidArgument);
  c.root = "/tmp/x";
  c.block_driver = "nvme";
  EXPECT_EQ(share::NewSharer("virtio-fs", c).status().code(), Code::kInvalidArgument);
  c.block_driver = "scsi";
  EXPECT_TRUE(share::NewSharer("virtio-fs", c).ok());
}

}  // namespace
}  // namespace vmshare::testing

namespace vmshare::testing {
namespace {

class PrepareRepairTest : public ShareFixture {};

// Someone detached mounts/ behind our back: Prepare rebuilds a tree in which
// shares reach shared/ again.
TEST_F(PrepareRepairTest, PrepareRepairsADetachedMountsDir) {
  ASSERT_OK(sharer_->Prepare());
  ASSERT_OK(sys::Env::Default()->Unmount(Mounts(), MNT_DETACH));
  ASSERT_OK(sharer_->Prepare());
  Container c{"c1", {}};
  Mount m = BindMount(MakeVolume("v"), "/v");
  ASSERT_TRUE(sharer_->ShareFile(c, m).ok());
  const std::string name = m.host_path.substr(Mounts().size() + 1);
  EXPECT_EQ(ReadFile(Shared() + "/" + name + "/f"), "hello");
  EXPECT_EQ(CountMountsUnder(SandboxDir() + "/"), 5);
}

}  // namespace
}  // namespace vmshare::testing
