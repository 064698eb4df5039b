// The agent's Batch (batch_apply.h) against the real vmshare-agent (a child
// process): a file copied into a directory the batch made is written in
// place with its mode and owner and no temp file; a directory kept open for
// later steps is forgotten once a step renames or replaces it, so later
// steps land where their paths say; a symlink made by an earlier step is
// never followed as a parent; files replace old files and empty
// directories; a recursive removal stays inside the tree.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <thread>

#include "agent/vmshare_client.h"
#include "share/watch_agent.h"

namespace vmshare::testing {
namespace {

using agent::BatchOp;
using agent::CopyFileRequest;
using agent::RemoveRequest;
using agent::RenameRequest;
using agent::SetFileAttrsRequest;

class WatchBatchApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
    fs::create_directories(tmp_ / "guest-shared/v");
    outside_ = tmp_ / "outside";
    fs::create_directories(outside_);
    WriteFile(outside_ + "/precious", "keep me");
    agent_ = std::make_unique<RunningAgent>(tmp_.path(), tmp_ / "guest-shared");
    ASSERT_TRUE(agent_->ok()) << "agent did not start:\n" << agent_->log();
  }
  static std::string G(const std::string& rel) {
    return std::string(kGuestSharedDir) + "/v/" + rel;
  }
  std::string H(const std::string& rel) const { return agent_->Host(G(rel)); }
  Status Batch(const std::vector<BatchOp>& ops) {
    return agent::VmshareClient(agent_->client()).Batch(ops);
  }
  static CopyFileRequest Dir(const std::string& rel, uint32_t mode = 0755, int uid = 0,
                             int gid = 0) {
    CopyFileRequest r;
    r.path = G(rel);
    r.file_mode = S_IFDIR | mode;
    r.dir_mode = 0755;
    r.uid = uid;
    r.gid = gid;
    return r;
  }
  static CopyFileRequest File(const std::string& rel, const std::string& data, uint32_t mode = 0644,
                              int uid = 0, int gid = 0) {
    CopyFileRequest r = Dir(rel, 0, uid, gid);
    r.file_mode = S_IFREG | mode;
    r.file_size = static_cast<int64_t>(data.size());
    r.data = data;
    return r;
  }
  static CopyFileRequest Link(const std::string& rel, const std::string& target) {
    CopyFileRequest r = Dir(rel);
    r.file_mode = S_IFLNK | 0777;
    r.data = target;
    return r;
  }
  std::vector<std::string> Names(const std::string& rel) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(H(rel))) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

  TempDir tmp_;
  std::string outside_;
  std::unique_ptr<RunningAgent> agent_;
};

TEST_F(WatchBatchApplyTest, FilesInANewDirectoryAreWrittenInPlaceWithModeAndOwner) {
  ASSERT_OK(Batch({Dir("..ts1", 0750, 0, 1234), File("..ts1/a", "one", 0640, 0, 1234),
                   File("..ts1/b", "", 0600), File("..ts1/a", "again", 0604),
                   SetFileAttrsRequest{G("..ts1/b"), 1'000'000'000, 2'000'000'000, {}}}));
  EXPECT_EQ(Names("..ts1"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ReadFile(H("..ts1/a")), "again");
  struct stat st;
  ASSERT_EQ(::stat(H("..ts1/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  ASSERT_EQ(::stat(H("..ts1/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 2);
  ASSERT_EQ(::stat(H("..ts1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  // The later files were root's: the parent went back to root:root.
  EXPECT_EQ(st.st_gid, 0u);
}

TEST_F(WatchBatchApplyTest, KeptDirectoriesAreForgottenWhenRenamedOrReplaced) {
  // d is made and kept, renamed to e, made again: later steps under d land
  // in the new d, and steps under e in the moved one.
  ASSERT_OK(Batch({Dir("d"), File("d/f", "first"), RenameRequest{G("d"), G("e")}, Dir("d"),
                   File("d/g", "second"), File("e/h", "third")}));
  EXPECT_EQ(Names("d"), (std::vector<std::string>{"g"}));
  EXPECT_EQ(Names("e"), (std::vector<std::string>{"f", "h"}));
  // A directory removed and made again is a new one, filled in place.
  ASSERT_OK(
      Batch({File("e/f", "replaced"), RemoveRequest{G("e"), true}, Dir("e"), File("e/x", "new")}));
  EXPECT_EQ(Names("e"), (std::vector<std::string>{"x"}));
  // An empty directory is replaced by a file; an existing file atomically.
  ASSERT_OK(Batch({Dir("d/empty"), File("d/empty", "now a file"), File("d/g", "updated")}));
  EXPECT_EQ(ReadFile(H("d/empty")), "now a file");
  EXPECT_EQ(ReadFile(H("d/g")), "updated");
  EXPECT_EQ(Names("d"), (std::vector<std::string>{"empty", "g"}));
}

TEST_F(WatchBatchApplyTest, ASymlinkMadeByAnEarlierStepIsNeverAParent) {
  // The symlink replaces a directory the batch kept open: the next step
  // must not write through the old fd, nor follow the link.
  Status s = Batch({Dir("p"), File("p/one", "1"), RemoveRequest{G("p"), true}, Link("p", outside_),
                    File("p/precious", "stolen")});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
  EXPECT_NE(s.message().find("batch step 5 of 5"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find(G("p/precious")), std::string::npos) << s.ToString();
  EXPECT_EQ(ReadFile(outside_ + "/precious"), "keep me");
  EXPECT_EQ(fs::read_symlink(H("p")), outside_);
}

TEST_F(WatchBatchApplyTest, RecursiveRemovalStaysInTheTree) {
  ASSERT_OK(Batch({Dir("t"), Dir("t/a"), Dir("t/a/b"), File("t/a/b/f", "x"), File("t/g", "y"),
                   Link("t/a/out", outside_), Link("t/a/file", outside_ + "/precious")}));
  ASSERT_OK(Batch({RemoveRequest{G("t"), true}, RemoveRequest{G("t"), true},
                   RemoveRequest{G("no/such/parent"), false}}));
  EXPECT_FALSE(fs::exists(fs::symlink_status(H("t"))));
  EXPECT_EQ(ReadFile(outside_ + "/precious"), "keep me");
}

TEST_F(WatchBatchApplyTest, ErrorsNameTheStepAndPath) {
  Status s = Batch({Dir("ok"), File("ok/.vmshare-tmp.x", "no")});
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("batch step 2 of 2"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("reserved"), std::string::npos) << s.ToString();
  s = Batch({RenameRequest{G("missing"), G("elsewhere")}});
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find(G("missing")), std::string::npos) << s.ToString();
}

TEST_F(WatchBatchApplyTest, LaterBatchesFillADirectoryAnEarlierOneMade) {
  // The copier's tree of several batches: the directory comes in the
  // first, more of its files in the next ones. A new name lands in place,
  // an existing one is replaced whole; each file's times are set on it.
  ASSERT_OK(Batch({Dir("big"), File("big/a", "1", 0640, 0, 1234),
                   SetFileAttrsRequest{G("big/a"), 1'000'000'000, 3'000'000'000, {}}}));
  ASSERT_OK(Batch(
      {File("big/b", "22", 0600), SetFileAttrsRequest{G("big/b"), 1'000'000'000, 4'000'000'000, {}},
       File("big/a", "replaced", 0604),
       SetFileAttrsRequest{G("big/a"), 1'000'000'000, 5'000'000'000, {}}, File("big/c", "x"),
       SetFileAttrsRequest{G("big/c"), 0, 6'000'000'000, {{"user.k", "v"}}}}));
  EXPECT_EQ(Names("big"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ReadFile(H("big/a")), "replaced");
  EXPECT_EQ(ReadFile(H("big/b")), "22");
  struct stat st;
  ASSERT_EQ(::stat(H("big/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  EXPECT_EQ(st.st_gid, 0u);
  EXPECT_EQ(st.st_mtim.tv_sec, 5);
  ASSERT_EQ(::stat(H("big/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_mtim.tv_sec, 4);
  ASSERT_EQ(::stat(H("big/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 6);
  char value[8] = {};
  const ssize_t n = ::getxattr(H("big/c").c_str(), "user.k", value, sizeof value);
  if (n >= 0 || errno != ENOTSUP) {  // a filesystem without user xattrs skips them
    EXPECT_EQ(std::string(value, std::max<ssize_t>(n, 0)), "v");
  }
  // A step after the file's own that sets its times still finds it by name.
  ASSERT_OK(Batch({File("big/d", "y"), File("big/e", "z"),
                   SetFileAttrsRequest{G("big/d"), 0, 7'000'000'000, {}}}));
  ASSERT_EQ(::stat(H("big/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 7);
}

TEST_F(WatchBatchApplyTest, BatchesSentAtOnceAllLand) {
  // The copier keeps several batches in flight: whatever order the agent
  // runs them in (one at a time), none blocks another and each lands whole.
  // That they do not overlap is not observable from here.
  ASSERT_OK(Batch({Dir("many")}));
  constexpr int kBatches = 6, kFiles = 40;
  std::vector<Status> results(kBatches);
  std::vector<std::thread> senders;
  for (int b = 0; b < kBatches; ++b) {
    senders.emplace_back([&, b] {
      std::vector<BatchOp> ops;
      for (int f = 0; f < kFiles; ++f) {
        const std::string name = "many/" + std::to_string(b) + "-" + std::to_string(f);
        ops.emplace_back(File(name, name));
      }
      results[b] = Batch(ops);
    });
  }
  for (auto& t : senders) t.join();
  for (const Status& s : results) EXPECT_OK(s);
  EXPECT_EQ(Names("many").size(), static_cast<size_t>(kBatches * kFiles));
  EXPECT_EQ(ReadFile(H("many/5-39")), "many/5-39");
}

}  // namespace
}  // namespace vmshare::testing
