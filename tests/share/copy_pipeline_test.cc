// TreeCopier's pipelined calls against the agent's own CopyFile and
// VmshareService in process (over a socketpair, as the VM channel is one
// stream): many small files, a multi-chunk file, hard links, setuid/setgid/
// sticky modes, owners, xattrs and times all arrive as on the host while
// several calls are in flight; a failure in the middle stops the copy with
// the failing file's name and leaves no call in flight. Small entries go in
// vmshare Batch calls, bigger files as CopyFile chunks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/server/copy_file.h"
#include "agent/server/vmshare_service.h"
#include "agent/translate.h"
#include "agent/ttrpc_server.h"
#include "core/ids.h"
#include "share/copy_tree.h"
#include "share/watch_agent.h"
#include "sys/env_wrapper.h"

namespace vmshare::testing {
namespace {

// The agent's Env, failing the creation of one copy with ENOSPC: its temp
// file, or the file itself where a batch writes it in place (a new name in a
// directory the same batch made).
class FullEnv : public sys::EnvWrapper {
 public:
  using sys::EnvWrapper::EnvWrapper;
  Result<sys::Fd> OpenAt(const sys::Fd& dir, const std::string& path, int flags,
                         mode_t mode) override {
    if (!full_name.empty() && (path == std::string(agent::kCopyTempPrefix) + full_name ||
                               ((flags & O_CREAT) != 0 && path == full_name)))
      return ErrnoError(ENOSPC, "open " + Quote(path));
    return sys::EnvWrapper::OpenAt(dir, path, flags, mode);
  }
  std::string full_name;
};

class CopyPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    fs::create_directories(src_);
    fs::create_directories(guest_root_);
    sys::Fd client_end;
    ASSERT_OK(sys::Env::Default()->SocketPair(&client_end, &server_end_));
    vmshare_.RegisterOn(&server_);
    server_.Register(agent::kAgentService, "CopyFile",
                     [this](std::string_view p, const agent::CallContext&) -> Result<std::string> {
                       Entered();
                       auto r = agent::DecodeCopyFileRequest(p);
                       if (r.ok() && IsMiddleChunk(*r)) HoldForAnotherMiddleChunk();
                       Status s =
                           r.ok() ? agent::CopyFile(&agent_env_, guest_root_, *r) : r.status();
                       ++handled_;
                       --in_flight_;
                       if (!s.ok()) return s;
                       return std::string();
                     });
    // The service's own Batch, counted.
    server_.Register(agent::kVmshareService, "Batch",
                     [this](std::string_view p, const agent::CallContext&) -> Result<std::string> {
                       Entered();
                       auto ops = agent::DecodeBatchRequest(p);
                       Status s = ops.ok() ? vmshare_.Batch(*ops) : ops.status();
                       ++batches_;
                       --in_flight_;
                       if (!s.ok()) return s;
                       return std::string();
                     });
    thread_ = std::thread([this] { (void)server_.Serve(server_end_); });
    client_ =
        std::move(agent::AgentClient::Create(sys::Env::Default(), std::move(client_end)).value());
  }
  void TearDown() override {
    if (!thread_.joinable()) return;
    client_.reset();
    server_.Stop();
    thread_.join();
  }

  // A call starts: counted.
  void Entered() {
    const int now = ++in_flight_;
    for (int seen = max_in_flight_.load();
         now > seen && !max_in_flight_.compare_exchange_weak(seen, now);) {
    }
  }
  // Once a file's first chunk is done the copier sends its middle chunks
  // together, none waiting for another's reply. Holding each of them until
  // two have started makes them overlap for certain, whatever order the
  // server's threads run them in, rather than race this handler's speed.
  // Against a copier that waits for each reply the hold ends after 10 s,
  // and the test fails instead of hanging.
  static bool IsMiddleChunk(const agent::CopyFileRequest& r) {
    return r.offset != 0 && r.offset + static_cast<int64_t>(r.data.size()) < r.file_size;
  }
  void HoldForAnotherMiddleChunk() {
    std::unique_lock<std::mutex> lock(gate_mu_);
    ++middle_chunks_;
    gate_cv_.notify_all();
    gate_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return middle_chunks_ >= 2; });
  }

  Result<bool> Copy(const std::string& dir, const std::string& name, share::CopyStats* stats,
                    uint64_t* progress) {
    share::TreeCopier copier(sys::Env::Default(), client_.get(),
                             [progress](const std::string&, uint64_t b) { *progress = b; },
                             {.calls = 16, .bytes = 4 << 20});
    ASSIGN_OR_RETURN(sys::Fd fd,
                     sys::Env::Default()->OpenAt(sys::Cwd(), dir, O_PATH | O_DIRECTORY));
    auto r = copier.CopyEntry(fd, name, dir + "/" + name, Guest(name));
    *stats = copier.stats();
    return r;
  }
  static std::string Guest(const std::string& rel) {
    return std::string(kGuestSharedDir) + "/" + rel;
  }

  TempDir tmp_;
  std::string src_ = tmp_ / "src", guest_root_ = tmp_ / "guest";
  FullEnv agent_env_{sys::Env::Default()};
  agent::VmshareService vmshare_{&agent_env_, guest_root_};
  sys::Fd server_end_;
  agent::TtrpcServer server_{sys::Env::Default()};
  std::thread thread_;
  std::unique_ptr<agent::AgentClient> client_;
  std::atomic<int> in_flight_{0}, max_in_flight_{0}, handled_{0}, batches_{0};
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  int middle_chunks_ = 0;  // GUARDED_BY(gate_mu_)
};

void SetMtime(const std::string& path, int64_t sec, long nsec) {
  timespec ts[2] = {{sec - 100, 5}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// Every entry below `host` has its copy below `guest`, with the same mtime.
void ExpectSameMtimes(const std::string& host, const std::string& guest) {
  for (const auto& e : fs::recursive_directory_iterator(host)) {
    const std::string rel = e.path().string().substr(host.size());
    struct stat a, b;
    ASSERT_EQ(::lstat(e.path().c_str(), &a), 0);
    ASSERT_EQ(::lstat((guest + rel).c_str(), &b), 0) << rel;
    EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec) << rel;
    EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec) << rel;
  }
}

TEST_F(CopyPipelineTest, TreeArrivesExactlyWithManyCallsInFlight) {
  const std::string v = src_ + "/vol";
  fs::create_directories(v + "/small");
  fs::create_directories(v + "/a/b/c");
  for (int i = 0; i < 300; ++i) {
    WriteFile(v + "/small/f" + std::to_string(i),
              std::string(static_cast<size_t>(i * 37 % 4097), static_cast<char>('a' + i % 26)));
    SetMtime(v + "/small/f" + std::to_string(i), 1600000000 + i, i * 1000);
  }
  std::string big(3 * (1 << 20) + 77, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 13 + i / 8191);
  WriteFile(v + "/a/big", big);
  WriteFile(v + "/a/b/linked", "one inode, three names\n");
  ASSERT_EQ(::link((v + "/a/b/linked").c_str(), (v + "/small/zz-link").c_str()), 0);
  ASSERT_EQ(::link((v + "/a/b/linked").c_str(), (v + "/a/b/c/link2").c_str()), 0);
  WriteFile(v + "/a/setuid", "#!/bin/sh\n");
  ASSERT_EQ(::chown((v + "/a/setuid").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::chmod((v + "/a/setuid").c_str(), 06755), 0);
  ASSERT_EQ(::chown((v + "/a/b").c_str(), 1000, 1001), 0);
  ASSERT_EQ(::chmod((v + "/a/b").c_str(), 02775), 0);
  ASSERT_EQ(::chmod((v + "/a/b/c").c_str(), 01777), 0);
  fs::create_symlink("../big", v + "/a/b/rel");
  ASSERT_EQ(::lsetxattr((v + "/a/big").c_str(), "user.k", "file", 4, 0), 0);
  ASSERT_EQ(::lsetxattr((v + "/a/b").c_str(), "user.k", "dir", 3, 0), 0);
  SetMtime(v + "/a/big", 1500000000, 7);
  SetMtime(v + "/a/b/rel", 1400000000, 9);
  for (const char* d : {"/a/b/c", "/a/b", "/a", "/small", ""}) SetMtime(v + d, 1300000000, 11);

  share::CopyStats stats;
  uint64_t progress = 0;
  auto copied = Copy(src_, "vol", &stats, &progress);
  ASSERT_OK(copied.status());
  EXPECT_TRUE(*copied);
  EXPECT_EQ(in_flight_.load(), 0);
  EXPECT_GT(max_in_flight_.load(), 1) << "calls were not pipelined";
  EXPECT_EQ(progress, stats.bytes);
  EXPECT_EQ(
      stats.bytes, big.size() + 23 + 10 + [] {
        uint64_t n = 0;
        for (int i = 0; i < 300; ++i) n += static_cast<uint64_t>(i * 37 % 4097);
        return n;
      }());

  const std::string g = guest_root_ + "/vol";
  // Times before Diff reads anything; every entry, directories last-written.
  ExpectSameMtimes(v, g);
  struct stat root_a, root_b;
  ASSERT_EQ(::lstat(v.c_str(), &root_a), 0);
  ASSERT_EQ(::lstat(g.c_str(), &root_b), 0);
  EXPECT_EQ(root_a.st_mtim.tv_sec, root_b.st_mtim.tv_sec);
  EXPECT_EQ(Diff(v, g), "");
  struct stat l1, l2, l3;
  ASSERT_EQ(::stat((g + "/a/b/linked").c_str(), &l1), 0);
  ASSERT_EQ(::stat((g + "/small/zz-link").c_str(), &l2), 0);
  ASSERT_EQ(::stat((g + "/a/b/c/link2").c_str(), &l3), 0);
  EXPECT_EQ(l1.st_ino, l2.st_ino);
  EXPECT_EQ(l1.st_ino, l3.st_ino);
  EXPECT_EQ(l1.st_nlink, 3u);
  char buf[16] = {};
  EXPECT_EQ(::lgetxattr((g + "/a/big").c_str(), "user.k", buf, sizeof buf), 4);
  EXPECT_STREQ(buf, "file");
  EXPECT_EQ(::lgetxattr((g + "/a/b").c_str(), "user.k", buf, sizeof buf), 3);
}

TEST_F(CopyPipelineTest, OutOfSpaceInTheMiddleStopsTheCopyNamingTheFile) {
  const std::string v = src_ + "/vol";
  fs::create_directories(v);
  for (int i = 0; i < 200; ++i) WriteFile(v + "/f" + std::to_string(1000 + i), "data");
  agent_env_.full_name = "f1100";
  share::CopyStats stats;
  uint64_t progress = 0;
  auto copied = Copy(src_, "vol", &stats, &progress);
  ASSERT_FALSE(copied.ok());
  const std::string msg = copied.status().message();
  EXPECT_NE(msg.find(Quote(Guest("vol/f1100"))), std::string::npos) << msg;
  EXPECT_NE(msg.find("ENOSPC"), std::string::npos) << msg;
  EXPECT_NE(msg.find("raise --memory"), std::string::npos) << msg;
  // Nothing in flight once Copy returned, and nothing arrives later.
  EXPECT_EQ(in_flight_.load(), 0);
  const int handled = handled_.load();
  sys::Env::Default()->SleepFor(std::chrono::milliseconds(200));
  EXPECT_EQ(handled_.load(), handled);
  // Everything before the failing file (in the order the copier reads the
  // directory) made it.
  auto dir = sys::Env::Default()->OpenAt(sys::Cwd(), v, O_RDONLY | O_DIRECTORY);
  ASSERT_OK(dir.status());
  auto names = sys::Env::Default()->ReadDir(*dir);
  ASSERT_OK(names.status());
  size_t at = 0;
  while (at < names->size() && (*names)[at].name != "f1100") ++at;
  ASSERT_LT(at, names->size());
  for (size_t i = 0; i < at; ++i) EXPECT_TRUE(fs::exists(guest_root_ + "/vol/" + (*names)[i].name));
  EXPECT_FALSE(fs::exists(guest_root_ + "/vol/f1100"));
}

TEST_F(CopyPipelineTest, SmallEntriesGoInBatchesBigFilesAsChunks) {
  const std::string v = src_ + "/vol";
  // 2.4 MiB of small files, in a directory owned by someone else than its
  // entries, so neither fits one batch.
  fs::create_directories(v + "/many/sub");
  for (int i = 0; i < 600; ++i) {
    const std::string f = v + "/many/f" + std::to_string(i);
    WriteFile(f, std::string(4096, static_cast<char>('a' + i % 26)));
    SetMtime(f, 1600000000 + i, i);
  }
  for (int i = 0; i < 50; ++i) {
    fs::create_symlink("../f" + std::to_string(i), v + "/many/sub/l" + std::to_string(i));
  }
  ASSERT_EQ(::chown((v + "/many").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::chown((v + "/many/sub").c_str(), 1001, 1001), 0);
  ASSERT_EQ(::lsetxattr((v + "/many/f7").c_str(), "user.k", "seven", 5, 0), 0);
  // The largest file a batch takes, one just over it, and one over a
  // batch's byte budget.
  WriteFile(v + "/edge", std::string(share::kBatchFileBytes, 'e'));
  WriteFile(v + "/over", std::string(share::kBatchFileBytes + 1, 'o'));
  std::string big(share::kBatchBytes + 4097, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 511);
  WriteFile(v + "/big", big);
  // A hard link between two small files: a call of its own, after its target.
  WriteFile(v + "/many/sub/hl", "linked");
  ASSERT_EQ(::link((v + "/many/sub/hl").c_str(), (v + "/hl2").c_str()), 0);
  for (const char* d : {"/many/sub", "/many", ""}) SetMtime(v + d, 1300000000, 11);

  share::CopyStats stats;
  uint64_t progress = 0;
  auto copied = Copy(src_, "vol", &stats, &progress);
  ASSERT_OK(copied.status());
  EXPECT_EQ(stats.entries, 3u + 600 + 50 + 3 + 2 + /*owners restored=*/3);
  EXPECT_EQ(stats.bytes, 600u * 4096 + 2 * share::kBatchFileBytes + 1 + big.size() + 6);
  EXPECT_EQ(progress, stats.bytes);
  // CopyFile calls: over (1 chunk), big (2) and the first name of hl (1).
  EXPECT_EQ(handled_.load(), 4);
  EXPECT_GE(batches_.load(), 3);
  EXPECT_LE(batches_.load(), 10);
  EXPECT_EQ(in_flight_.load(), 0);

  const std::string g = guest_root_ + "/vol";
  ExpectSameMtimes(v, g);
  EXPECT_EQ(Diff(v, g), "");
  struct stat l1, l2;
  ASSERT_EQ(::stat((g + "/many/sub/hl").c_str(), &l1), 0);
  ASSERT_EQ(::stat((g + "/hl2").c_str(), &l2), 0);
  EXPECT_EQ(l1.st_ino, l2.st_ino);
  char buf[16] = {};
  EXPECT_EQ(::lgetxattr((g + "/many/f7").c_str(), "user.k", buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "seven");
}

TEST_F(CopyPipelineTest, FailureInTheMiddleOfABatchNamesTheFileAndStopsThere) {
  const std::string v = src_ + "/vol";
  fs::create_directories(v + "/d");
  for (int i = 0; i < 100; ++i) WriteFile(v + "/d/f" + std::to_string(1000 + i), "data");
  ASSERT_EQ(::chown((v + "/d").c_str(), 1000, 1000), 0);
  agent_env_.full_name = "f1050";
  share::CopyStats stats;
  uint64_t progress = 0;
  auto copied = Copy(src_, "vol", &stats, &progress);
  ASSERT_FALSE(copied.ok());
  const std::string msg = copied.status().message();
  EXPECT_NE(msg.find(Quote(Guest("vol/d/f1050"))), std::string::npos) << msg;
  EXPECT_NE(msg.find("raise --memory"), std::string::npos) << msg;
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(batches_.load(), 1);
  // The one batch ran up to the failing file, and no further: the files
  // after it, the directory's owner and times are as they were.
  auto dir = sys::Env::Default()->OpenAt(sys::Cwd(), v + "/d", O_RDONLY | O_DIRECTORY);
  ASSERT_OK(dir.status());
  auto names = sys::Env::Default()->ReadDir(*dir);
  ASSERT_OK(names.status());
  bool after = false;
  for (const auto& e : *names) {
    if (e.name == "f1050") {
      after = true;
      continue;
    }
    EXPECT_EQ(fs::exists(guest_root_ + "/vol/d/" + e.name), !after) << e.name;
  }
  EXPECT_TRUE(after);
  EXPECT_FALSE(fs::exists(guest_root_ + "/vol/d/f1050"));
  EXPECT_FALSE(fs::exists(guest_root_ + "/vol/d/" + agent::kCopyTempPrefix + "f1050"));
}

TEST_F(CopyPipelineTest, ADirectoryEndingAFullBatchStaysWithinTheStepLimit) {
  // vol, d and 2047 empty files fill a batch to kMaxBatchOps steps exactly;
  // d (owned by someone else than its entries) then needs two more.
  const std::string v = src_ + "/vol";
  fs::create_directories(v + "/d");
  for (int i = 0; i < 2047; ++i) WriteFile(v + "/d/e" + std::to_string(i), "");
  ASSERT_EQ(::chown((v + "/d").c_str(), 1000, 1000), 0);
  SetMtime(v + "/d", 1300000000, 11);
  share::CopyStats stats;
  uint64_t progress = 0;
  auto copied = Copy(src_, "vol", &stats, &progress);
  ASSERT_OK(copied.status());
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_GE(batches_.load(), 2);
  EXPECT_EQ(Diff(v, guest_root_ + "/vol"), "");
  struct stat a, b;
  ASSERT_EQ(::lstat((v + "/d").c_str(), &a), 0);
  ASSERT_EQ(::lstat((guest_root_ + "/vol/d").c_str(), &b), 0);
  EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
}

}  // namespace
}  // namespace vmshare::testing
