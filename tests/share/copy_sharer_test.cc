// CopySharer (shared_fs "none") against the real vmshare-agent: files reach
// the agent's shared root through CopyFile, with modes, owners and
// symlinks as links; special files are skipped; writable directories are
// copied once per sandbox; rootfs copies and block storages; refusals.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "share/sharer.h"
#include "share/watch_agent.h"

namespace vmshare::testing {
namespace {

class CopySharerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
    src_ = tmp_ / "src";
    fs::create_directories(src_);
    agent_ = std::make_unique<RunningAgent>(tmp_.path(), tmp_ / "guest-shared");
    ASSERT_TRUE(agent_->ok()) << "agent did not start:\n" << agent_->log();
    sharer_ = Make(/*with_agent=*/true);
    ASSERT_NE(sharer_, nullptr);
    ASSERT_OK(sharer_->Prepare());
  }

  std::unique_ptr<share::FilesystemSharer> Make(bool with_agent) {
    share::SharerConfig c;
    c.root = tmp_ / "root";
    c.sandbox_id = "sb1";
    c.kubelet_root = tmp_ / "kubelet";
    if (with_agent) c.agent = [this] { return agent_->client(); };
    c.copy_progress = [this](const std::string&, uint64_t bytes) { last_progress_ = bytes; };
    auto s = share::NewSharer("none", c);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  static Mount Bind(const std::string& source, const std::string& dest, bool ro = false) {
    Mount m;
    m.source = source;
    m.destination = dest;
    m.type = "bind";
    m.read_only = ro;
    return m;
  }

  TempDir tmp_;
  std::string src_;
  std::unique_ptr<RunningAgent> agent_;
  std::unique_ptr<share::FilesystemSharer> sharer_;
  uint64_t last_progress_ = 0;
};

TEST_F(CopySharerTest, TreeWithBigFileSymlinksAndSpecialFiles) {
  const std::string vol = src_ + "/vol";
  fs::create_directories(vol + "/sub/deeper");
  // Bigger than the 4 MiB frame, and not a multiple of the chunk.
  std::string big(5 * 1024 * 1024 + 123, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
  WriteFile(vol + "/big", big);
  WriteFile(vol + "/sub/small", "small\n");
  WriteFile(vol + "/empty", "");
  ASSERT_EQ(::chmod((vol + "/sub/small").c_str(), 0600), 0);
  ASSERT_EQ(::chown((vol + "/sub/small").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::chmod((vol + "/sub/deeper").c_str(), 0711), 0);
  ASSERT_EQ(::chown((vol + "/sub").c_str(), 42, 43), 0);
  fs::create_symlink("/etc/passwd", vol + "/outside");
  fs::create_symlink("../big", vol + "/sub/rel");
  ASSERT_EQ(::mkfifo((vol + "/fifo").c_str(), 0644), 0);
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = vol + "/sock";
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);

  Container c{"c1", {}};
  Mount m = Bind(vol, "/data");
  auto shared = sharer_->ShareFile(c, m);
  ::close(sock);
  ASSERT_OK(shared.status());
  ASSERT_TRUE(shared->has_value());
  const std::string guest_path = (*shared)->guest_path;
  EXPECT_EQ(m.host_path, guest_path);
  EXPECT_FALSE(m.mounted);
  const std::string g = agent_->Host(guest_path);
  EXPECT_EQ(ReadFile(g + "/big"), big);
  EXPECT_EQ(ReadFile(g + "/sub/small"), "small\n");
  EXPECT_TRUE(fs::exists(g + "/empty"));
  EXPECT_EQ(fs::read_symlink(g + "/outside"), "/etc/passwd");
  EXPECT_EQ(fs::read_symlink(g + "/sub/rel"), "../big");
  EXPECT_FALSE(fs::exists(fs::symlink_status(g + "/fifo")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(g + "/sock")));
  // Everything else identical, modes and owners included (the special files
  // aside).
  fs::remove(vol + "/fifo");
  fs::remove(vol + "/sock");
  EXPECT_EQ(Diff(vol, g), "");
  EXPECT_GE(last_progress_, big.size());

  ASSERT_OK(sharer_->UnshareFile(c, m));
  EXPECT_FALSE(fs::exists(g));
}

// Offsets past 2 GiB (int64 on the wire; the file is streamed, never held
// whole). The source is sparse; the copy is written out in full.
TEST_F(CopySharerTest, FileLargerThan2GiB) {
  const std::string dir = src_ + "/huge";
  fs::create_directories(dir);
  const off_t size = (off_t{2} << 30) + 4096 + 3;
  {
    int fd = ::open((dir + "/f").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "head", 4, 0), 4);
    ASSERT_EQ(::pwrite(fd, "mid", 3, (off_t{2} << 30) - 1), 3);
    ASSERT_EQ(::pwrite(fd, "end", 3, size - 3), 3);
    ::close(fd);
  }
  Container c{"c1", {}};
  Mount m = Bind(dir, "/huge", /*ro=*/true);
  auto shared = sharer_->ShareFile(c, m);
  ASSERT_OK(shared.status());
  const std::string g = agent_->Host((*shared)->guest_path) + "/f";
  struct stat st;
  ASSERT_EQ(::stat(g.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, size);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  int fd = ::open(g.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  char buf[4] = {};
  EXPECT_EQ(::pread(fd, buf, 4, 0), 4);
  EXPECT_EQ(std::string(buf, 4), "head");
  EXPECT_EQ(::pread(fd, buf, 3, (off_t{2} << 30) - 1), 3);
  EXPECT_EQ(std::string(buf, 3), "mid");
  EXPECT_EQ(::pread(fd, buf, 3, size - 3), 3);
  EXPECT_EQ(std::string(buf, 3), "end");
  ::close(fd);
  ASSERT_OK(sharer_->UnshareFile(c, m));
}

TEST_F(CopySharerTest, SpecialSourceIsNotShared) {
  ASSERT_EQ(::mkfifo((src_ + "/fifo").c_str(), 0644), 0);
  Container c{"c1", {}};
  Mount m = Bind(src_ + "/fifo", "/fifo");
  auto shared = sharer_->ShareFile(c, m);
  ASSERT_OK(shared.status());
  EXPECT_FALSE(shared->has_value());
  EXPECT_TRUE(m.host_path.empty());
}

TEST_F(CopySharerTest, SingleFileAndReadOnlyVolumesArePerContainer) {
  WriteFile(src_ + "/file", "one file");
  Container c{"c1", {}};
  Mount m = Bind(src_ + "/file", "/etc/file", /*ro=*/true);
  auto shared = sharer_->ShareFile(c, m);
  ASSERT_OK(shared.status());
  EXPECT_NE((*shared)->guest_path.find("/c1-"), std::string::npos);
  EXPECT_EQ(ReadFile(agent_->Host((*shared)->guest_path)), "one file");
}

TEST_F(CopySharerTest, WritableDirectoryIsCopiedOncePerSandbox) {
  fs::create_directories(src_ + "/shared");
  WriteFile(src_ + "/shared/f", "x");
  Container a{"ca", {}}, b{"cb", {}};
  Mount ma = Bind(src_ + "/shared", "/w"), mb = Bind(src_ + "/shared", "/w2");
  auto sa = sharer_->ShareFile(a, ma);
  auto sb = sharer_->ShareFile(b, mb);
  ASSERT_OK(sa.status());
  ASSERT_OK(sb.status());
  EXPECT_EQ((*sa)->guest_path, (*sb)->guest_path);
  EXPECT_NE((*sa)->guest_path.find("/sandbox-"), std::string::npos);
  const std::string g = agent_->Host((*sa)->guest_path);
  ASSERT_OK(sharer_->UnshareFile(a, ma));
  EXPECT_TRUE(fs::exists(g + "/f")) << "still used by cb";
  ASSERT_OK(sharer_->UnshareFile(b, mb));
  EXPECT_FALSE(fs::exists(g));
}

TEST_F(CopySharerTest, RootFilesystems) {
  fs::create_directories(src_ + "/rootfs/bin");
  WriteFile(src_ + "/rootfs/bin/sh", "#!");
  ASSERT_EQ(::chmod((src_ + "/rootfs/bin/sh").c_str(), 0755), 0);
  Container c{"c1", {}};
  c.state.rootfs.source = src_ + "/rootfs";
  auto shared = sharer_->ShareRootFilesystem(c);
  ASSERT_OK(shared.status());
  EXPECT_EQ(shared->guest_path, std::string(kGuestSharedDir) + "/c1/rootfs");
  EXPECT_EQ(Diff(src_ + "/rootfs", agent_->Host(shared->guest_path)), "");
  ASSERT_OK(sharer_->UnshareRootFilesystem(c));
  EXPECT_FALSE(fs::exists(agent_->Host(std::string(kGuestSharedDir) + "/c1")));

  Container blk{"c2", {}};
  blk.state.rootfs.block_device_id = "/dev/vdb";
  blk.state.rootfs.type = "xfs";
  auto storage = sharer_->ShareRootFilesystem(blk);
  ASSERT_OK(storage.status());
  ASSERT_EQ(storage->container_storages.size(), 1u);
  EXPECT_EQ(storage->container_storages[0].source, "/dev/vdb");
  EXPECT_EQ(storage->container_storages[0].mount_point,
            std::string(kGuestSharedDir) + "/c2/rootfs");
}

TEST_F(CopySharerTest, RefusalsChangeNothing) {
  auto no_agent = Make(/*with_agent=*/false);
  fs::create_directories(src_ + "/d");
  Container c{"c1", {}};
  Mount m = Bind(src_ + "/d", "/d");
  auto r = no_agent->ShareFile(c, m);
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  EXPECT_TRUE(m.host_path.empty());

  Mount missing = Bind(src_ + "/nope", "/nope");
  EXPECT_EQ(sharer_->ShareFile(c, missing).status().code(), Code::kNotFound);
  fs::create_symlink(src_ + "/d", src_ + "/link");
  Mount link = Bind(src_ + "/link", "/link");
  EXPECT_EQ(sharer_->ShareFile(c, link).status().code(), Code::kInvalidArgument);
  Container bad{"../x", {}};
  EXPECT_EQ(sharer_->ShareFile(bad, m).status().code(), Code::kInvalidArgument);

  // A persisted host_path outside this container's shares is refused.
  Mount forged = Bind(src_ + "/d", "/d");
  forged.host_path = std::string(kGuestSharedDir) + "/other-0123456789abcdef-d";
  EXPECT_EQ(sharer_->UnshareFile(c, forged).code(), Code::kInvalidArgument);
  EXPECT_TRUE(!fs::exists(tmp_ / "guest-shared") || fs::is_empty(tmp_ / "guest-shared"));
}

}  // namespace
}  // namespace vmshare::testing
