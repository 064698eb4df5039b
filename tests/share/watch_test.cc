// The volume watcher end to end against the real vmshare-agent, in both
// sharing modes: a watched volume written by a kubelet-style atomic writer
// reaches the guest copy (under the agent's tmpfs), and every update
// (changed, added, deleted, nested keys, modes, fsGroup owner) arrives, in
// the kubelet's order (a guest inotify watch sees the ..data move each
// time); a restarted watcher converges from persisted state; unsharing
// removes the copy.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "share/share_tree.h"
#include "share/sharer.h"
#include "share/watch_agent.h"

namespace vmshare::testing {
namespace {

constexpr char kPodUid[] = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

class WatchTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
    kubelet_ = tmp_ / "kubelet";
    volume_ = kubelet_ + "/pods/" + kPodUid + "/volumes/kubernetes.io~configmap/cfg";
    writer_ = std::make_unique<KubeletWriter>(volume_);
    sharer_ = Make();
    ASSERT_NE(sharer_, nullptr);
    ASSERT_OK(sharer_->Prepare());
    // virtio-fs: the agent's shared root is the sandbox's export (read-only
    // shared/), as virtiofsd would serve it; none: a plain directory.
    const std::string shared_root = GetParam() == "virtio-fs"
                                        ? share::ShareTreePaths::For(tmp_ / "root", "sb1").shared
                                        : tmp_ / "guest-shared";
    agent_ = std::make_unique<RunningAgent>(tmp_.path(), shared_root);
    ASSERT_TRUE(agent_->ok()) << "agent did not start:\n" << agent_->log();
  }
  void TearDown() override {
    if (sharer_) {
      sharer_->StopFileEventWatcher();
      EXPECT_OK(sharer_->Cleanup());
    }
  }

  std::unique_ptr<share::FilesystemSharer> Make() {
    share::SharerConfig c;
    c.root = tmp_ / "root";
    c.sandbox_id = "sb1";
    c.kubelet_root = kubelet_;
    c.agent = [this]() -> agent::AgentClient* { return agent_ ? agent_->client() : nullptr; };
    c.containers = [this]() -> Result<std::vector<Container>> { return persisted_; };
    c.watch_report = [this](const std::string&, const Status& s) {
      std::lock_guard lock(mu_);
      if (!s.ok()) errors_.push_back(s.ToString());
    };
    auto s = share::NewSharer(GetParam(), c);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // Shares the volume for container c1 and returns the copy's host-visible
  // path (through the agent's mount namespace).
  std::string ShareVolume(Container& c, Mount& m) {
    m.source = volume_;
    m.destination = "/etc/cfg";
    m.type = "bind";
    m.read_only = true;
    auto shared = sharer_->ShareFile(c, m);
    EXPECT_TRUE(shared.ok()) << shared.status().ToString();
    if (!shared.ok() || !shared->has_value()) return "";
    EXPECT_EQ((*shared)->guest_path, m.host_path);
    EXPECT_NE(m.host_path.find(std::string(kGuestSharedDir) + "/watchable/c1-"), std::string::npos);
    return agent_->Host((*shared)->guest_path);
  }

  std::vector<std::string> Errors() {
    std::lock_guard lock(mu_);
    return errors_;
  }

  TempDir tmp_;
  std::string kubelet_, volume_;
  std::unique_ptr<KubeletWriter> writer_;
  std::unique_ptr<RunningAgent> agent_;
  std::unique_ptr<share::FilesystemSharer> sharer_;
  std::vector<Container> persisted_;
  std::mutex mu_;
  std::vector<std::string> errors_;
};

// Counts IN_MOVED_TO "..data" in a directory (the guest copy, seen through
// the agent's namespace: same inodes, so the same events).
class DataMoves {
 public:
  explicit DataMoves(const std::string& dir) {
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    EXPECT_GE(::inotify_add_watch(fd_, dir.c_str(), IN_MOVED_TO | IN_MOVED_FROM), 0);
  }
  ~DataMoves() { ::close(fd_); }
  // Reads what is pending; returns the ..data moves seen so far.
  int Count() {
    alignas(inotify_event) char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        if ((ev->mask & IN_MOVED_TO) && ev->len > 0 && std::strcmp(ev->name, "..data") == 0)
          ++moves_;
        if ((ev->mask & IN_MOVED_FROM) && ev->len > 0 && std::strcmp(ev->name, "..data_tmp") == 0)
          ++from_tmp_;
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
    return moves_;
  }
  int from_tmp() const { return from_tmp_; }

 private:
  int fd_ = -1;
  int moves_ = 0;
  int from_tmp_ = 0;
};

TEST_P(WatchTest, EveryKubeletUpdateReachesTheGuestInOrder) {
  writer_->Write({{"a", {"1"}}, {"b", {"2"}}});
  Container c{"c1", {}};
  Mount m;
  const std::string guest = ShareVolume(c, m);
  ASSERT_FALSE(guest.empty());
  ASSERT_EQ(Diff(volume_, guest), "") << "initial copy";
  c.state.mounts = {m};
  persisted_ = {c};
  ASSERT_OK(sharer_->StartFileEventWatcher());
  ASSERT_OK(sharer_->StartFileEventWatcher());  // idempotent
  DataMoves moves(guest);

  const std::vector<std::pair<const char*, Payload>> steps = {
      {"change a key", {{"a", {"1 changed"}}, {"b", {"2"}}}},
      {"add a key", {{"a", {"1 changed"}}, {"b", {"2"}}, {"c", {"3"}}}},
      {"delete a key", {{"a", {"1 changed"}}, {"c", {"3"}}}},
      {"add a nested key", {{"a", {"1 changed"}}, {"c", {"3"}}, {"k8s/labels", {"x=y"}}}},
      {"change modes",
       {{"a", {"1 changed", 0400}}, {"c", {"3", 0440}}, {"k8s/labels", {"x=y", 0600}}}},
      {"delete the nested key", {{"a", {"1 changed", 0400}}}},
  };
  int expected_moves = 0;
  for (const auto& [what, payload] : steps) {
    ASSERT_TRUE(writer_->Write(payload)) << what;
    ++expected_moves;
    EXPECT_EQ(WaitEqual(volume_, guest), "") << what;
    for (int i = 0; i < 500 && moves.Count() < expected_moves; ++i)
      sys::Env::Default()->SleepFor(std::chrono::milliseconds(10));
    EXPECT_EQ(moves.Count(), expected_moves) << what << ": one ..data rename in the guest";
  }
  EXPECT_EQ(moves.from_tmp(), expected_moves);
  // fsGroup: owners change too.
  ASSERT_TRUE(writer_->Write({{"a", {"g", 0440}}, {"n/e/s/t", {"deep", 0440}}}, /*gid=*/2345));
  EXPECT_EQ(WaitEqual(volume_, guest), "") << "fsGroup owner";
  struct stat st;
  ASSERT_EQ(::stat((guest + "/..data/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 2345u);
  EXPECT_EQ(Errors(), std::vector<std::string>{});

  sharer_->StopFileEventWatcher();
  ASSERT_OK(sharer_->UnshareFile(c, m));
  EXPECT_FALSE(fs::exists(guest));
}

TEST_P(WatchTest, RestartedWatcherConvergesFromPersistedState) {
  writer_->Write({{"a", {"1"}}, {"gone", {"x"}}});
  Container c{"c1", {}};
  Mount m;
  const std::string guest = ShareVolume(c, m);
  ASSERT_FALSE(guest.empty());
  c.state.mounts = {m};
  persisted_ = {c};
  // vmshare is down while the kubelet updates twice.
  sharer_.reset();
  writer_->Write({{"a", {"2"}}, {"new", {"y"}}});
  writer_->Write({{"a", {"3"}}, {"new", {"y"}}, {"d/e", {"z"}}});
  sharer_ = Make();
  ASSERT_OK(sharer_->StartFileEventWatcher());
  EXPECT_EQ(WaitEqual(volume_, guest), "");
  // And it keeps watching.
  writer_->Write({{"a", {"4"}}});
  EXPECT_EQ(WaitEqual(volume_, guest), "");
}

TEST_P(WatchTest, VolumeWithoutAgentIsCopiedWhenTheWatcherStarts) {
  writer_->Write({{"a", {"1"}}});
  auto agent = std::move(agent_);
  Container c{"c1", {}};
  Mount m;
  m.source = volume_ + "/a";  // below the volume: still watched
  m.destination = "/etc/a";
  auto shared = sharer_->ShareFile(c, m);
  ASSERT_OK(shared.status());
  ASSERT_TRUE(shared->has_value());
  EXPECT_EQ((*shared)->guest_path, m.host_path + "/a");
  agent_ = std::move(agent);
  ASSERT_OK(sharer_->StartFileEventWatcher());
  EXPECT_EQ(WaitEqual(volume_, agent_->Host(m.host_path)), "");
  EXPECT_EQ(ReadFile(agent_->Host((*shared)->guest_path)), "1");
}

TEST_P(WatchTest, StopIsPromptAndStartAgainResumes) {
  writer_->Write({{"a", {"1"}}});
  Container c{"c1", {}};
  Mount m;
  const std::string guest = ShareVolume(c, m);
  ASSERT_OK(sharer_->StartFileEventWatcher());
  sharer_->StopFileEventWatcher();
  sharer_->StopFileEventWatcher();
  writer_->Write({{"a", {"2"}}});
  ASSERT_OK(sharer_->StartFileEventWatcher());
  EXPECT_EQ(WaitEqual(volume_, guest), "");
}

TEST_P(WatchTest, UnwatchedMountsGoToTheInnerSharer) {
  const std::string plain = tmp_ / "plain";
  fs::create_directories(plain);
  WriteFile(plain + "/f", "x");
  // A pod volume of another kind is not watched.
  const std::string empty_dir =
      kubelet_ + "/pods/" + kPodUid + "/volumes/kubernetes.io~empty-dir/e";
  fs::create_directories(empty_dir);
  Container c{"c1", {}};
  for (const std::string& src : {plain, empty_dir}) {
    Mount m;
    m.source = src;
    m.destination = "/x";
    m.type = "bind";
    auto shared = sharer_->ShareFile(c, m);
    ASSERT_OK(shared.status());
    EXPECT_EQ(m.host_path.find("/watchable/"), std::string::npos) << src;
    ASSERT_OK(sharer_->UnshareFile(c, m));
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, WatchTest, ::testing::Values("virtio-fs", "none"),
                         [](const auto& p) { return p.param == "none" ? "none" : "virtiofs"; });

}  // namespace
}  // namespace vmshare::testing
