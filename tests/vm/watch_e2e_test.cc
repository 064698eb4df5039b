// Watched volumes end to end in a real guest (TCG), both sharing modes:
// `vmshare --kubelet-root K run --shared-fs MODE` runs guest-watch
// (watch_e2e_guest.cc) in the container on the bundle's configmap while the
// test updates the configmap the kubelet's way. After each update the guest
// must show exactly the host's snapshot (..data target, top-level keys,
// files with contents, modes and group) and have seen one more ..data move
// with inotify; a reader resolving ..data once never finds two versions.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "share/watch_agent.h"
#include "support/test_util.h"
#include "sys/env.h"
#include "testing_vm.h"

namespace vmshare::vm {
namespace {

using std::chrono::milliseconds;
using vmshare::testing::KubeletWriter;
using vmshare::testing::Payload;
using vmshare::testing::ReadFile;
using vmshare::testing::TempDir;
namespace fs = std::filesystem;

constexpr char kUid[] = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

// The last line of `text` starting with `prefix`, without the prefix.
std::string LastLine(const std::string& text, const std::string& prefix) {
  std::string found;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) break;  // an unfinished line
    if (text.compare(pos, prefix.size(), prefix) == 0)
      found = text.substr(pos + prefix.size(), end - pos - prefix.size());
    pos = end + 1;
  }
  return found;
}

class WatchE2eTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    if (!HaveQemu()) GTEST_SKIP() << "qemu-system-x86_64 or virtiofsd not installed";
    root_ = tmp_ / "root";
    bundle_ = tmp_ / "bundle";
    const std::string gen =
        std::string(VMSHARE_SOURCE_DIR) + "/scripts/guest/make-example-bundle.sh";
    ASSERT_EQ(std::system((gen + " --out " + bundle_ + " >/dev/null").c_str()), 0);
    fs::copy_file(GUEST_WATCH_BIN, bundle_ + "/rootfs/bin/guest-watch");
    // The bundle's configmap, emptied and rewritten by our kubelet writer.
    volume_ =
        bundle_ + "/kubelet/pods/" + FindUid() + "/volumes/kubernetes.io~configmap/app-config";
    for (const auto& e : fs::directory_iterator(volume_)) fs::remove_all(e.path());
  }

  std::string FindUid() {
    for (const auto& e : fs::directory_iterator(bundle_ + "/kubelet/pods"))
      return e.path().filename();
    return kUid;
  }

  std::string HostSnapshot() {
    const std::string out = tmp_ / "host-snap";
    std::system((std::string(GUEST_WATCH_BIN) + " --snapshot " + volume_ + " > " + out).c_str());
    std::string s = ReadFile(out);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  // Waits until the guest's latest snapshot equals the host's.
  ::testing::AssertionResult GuestShows(const std::string& want) {
    std::string got;
    for (int i = 0; i < 6000; ++i) {
      got = LastLine(ReadFile(tmp_ / "out"), "SNAP ");
      if (got == want) return ::testing::AssertionSuccess();
      if (!vm::ProcessAlive(child_.pid)) break;
      env_->SleepFor(milliseconds(50));
    }
    return ::testing::AssertionFailure()
           << "guest shows\n  " << got << "\nhost has\n  " << want << "\nstderr:\n"
           << ReadFile(tmp_ / "err");
  }

  int Moves() {
    const std::string m = LastLine(ReadFile(tmp_ / "out"), "MOVE ");
    return m.empty() ? 0 : std::stoi(m);
  }
  // The guest may print a snapshot before the event that led to it.
  int MovesOnceAt(int want) {
    for (int i = 0; i < 200 && Moves() < want; ++i) env_->SleepFor(milliseconds(50));
    return Moves();
  }

  sys::Env* env_ = sys::Env::Default();
  TempDir tmp_;
  std::string root_, bundle_, volume_;
  sys::Child child_;
};

TEST_P(WatchE2eTest, KubeletUpdatesReachTheGuestAtomically) {
  KubeletWriter writer(volume_);
  // Every file of version N starts with "vN:" (the guest checks no mix).
  writer.Write({{"greeting", {"v0:hello"}}, {"other", {"v0:x"}}});

  sys::ChildOptions o;
  o.argv = {VMSHARE_BIN,
            "--kubelet-root",
            bundle_ + "/kubelet",
            "run",
            "--root",
            root_,
            "--shared-fs",
            GetParam(),
            "--guest-local-copies",
            "--bundle",
            bundle_,
            "--accel",
            "tcg",
            "--",
            "/bin/guest-watch",
            "/etc/app-config",
            "stop"};
  o.stdout_path = tmp_ / "out";
  o.stderr_path = tmp_ / "err";
  auto c = env_->Spawn(o);
  ASSERT_OK(c);
  child_ = std::move(*c);
  ASSERT_TRUE(GuestShows(HostSnapshot())) << "initial copy";

  const std::vector<std::pair<const char*, Payload>> steps = {
      {"change a key", {{"greeting", {"v1:hello again"}}, {"other", {"v1:x"}}}},
      {"add a key", {{"greeting", {"v2:hello again"}}, {"other", {"v2:x"}}, {"added", {"v2:new"}}}},
      {"delete a key", {{"greeting", {"v3:hello again"}}, {"added", {"v3:new"}}}},
      {"add a nested key",
       {{"greeting", {"v4:h"}}, {"added", {"v4:new"}}, {"k8s/labels", {"v4:app=x"}}}},
      {"change modes",
       {{"greeting", {"v5:h", 0400}},
        {"added", {"v5:new", 0440}},
        {"k8s/labels", {"v5:app=x", 0600}}}},
  };
  int n = 0;
  for (const auto& [what, payload] : steps) {
    ASSERT_TRUE(writer.Write(payload)) << what;
    ++n;
    EXPECT_TRUE(GuestShows(HostSnapshot())) << what;
    EXPECT_EQ(MovesOnceAt(n), n) << what << ": the guest saw one ..data move per update";
  }
  ASSERT_TRUE(
      writer.Write({{"greeting", {"v6:g", 0440}}, {"n/e/s/t", {"v6:deep", 0440}}}, /*gid=*/2345));
  ++n;
  EXPECT_TRUE(GuestShows(HostSnapshot())) << "fsGroup owner";
  // The stop key ends the guest program.
  ASSERT_TRUE(writer.Write({{"greeting", {"v7:bye"}}, {"stop", {"v7:"}}}));
  ++n;
  auto st = env_->Wait(child_, milliseconds(300000));
  ASSERT_OK(st);
  EXPECT_TRUE(st->exited && st->code == 0) << ReadFile(tmp_ / "err");
  const std::string out = ReadFile(tmp_ / "out");
  EXPECT_NE(out.find("END moves=" + std::to_string(n) + " mixes=0"), std::string::npos) << out;
  EXPECT_EQ(out.find("MIX "), std::string::npos) << out;
  EXPECT_EQ(vmshare::testing::CountMountsUnder(root_ + "/"), 0);
}

// shared_fs none in a real guest: a tree with a file bigger than the 4 MiB
// frame, a fifo and a socket (skipped), and a symlink pointing outside the
// source (copied as a link, not followed) reaches the container.
TEST_F(WatchE2eTest, CopyModeTreeReachesTheGuest) {
  const std::string vol = bundle_ + "/volumes/readonly";
  std::string big(5 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 31 + i / 977) % 26);
  vmshare::testing::WriteFile(vol + "/big", big);
  fs::create_directories(vol + "/sub");
  vmshare::testing::WriteFile(vol + "/sub/small", "small\n");
  fs::create_symlink("/etc/vmshare-host-only", vol + "/outside");
  ASSERT_EQ(::mkfifo((vol + "/fifo").c_str(), 0644), 0);
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", (vol + "/sock").c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  sys::ChildOptions o;
  // The bundle's read-write /data stays a guest-local copy (opted in).
  o.argv = {VMSHARE_BIN,
            "run",
            "--root",
            root_,
            "--shared-fs",
            "none",
            "--guest-local-copies",
            "--bundle",
            bundle_,
            "--accel",
            "tcg",
            "--",
            "/bin/sh",
            "-c",
            "cd /readonly; wc -c < big; md5sum big; cat sub/small; readlink outside; "
            "for f in fifo sock; do [ -e $f ] && echo $f-present; done; echo done"};
  o.stdout_path = tmp_ / "out";
  o.stderr_path = tmp_ / "err";
  auto c = env_->Spawn(o);
  ASSERT_OK(c);
  auto st = env_->Wait(*c, milliseconds(300000));
  ::close(sock);
  ASSERT_OK(st);
  EXPECT_TRUE(st->exited && st->code == 0) << ReadFile(tmp_ / "err");
  const std::string md5_out = tmp_ / "md5";
  ASSERT_EQ(std::system(("cd " + vol + " && md5sum big > " + md5_out).c_str()), 0);
  EXPECT_EQ(ReadFile(tmp_ / "out"), std::to_string(big.size()) + "\n" + ReadFile(md5_out) +
                                        "small\n/etc/vmshare-host-only\ndone\n")
      << ReadFile(tmp_ / "err");
}

INSTANTIATE_TEST_SUITE_P(Modes, WatchE2eTest, ::testing::Values("virtio-fs", "none"),
                         [](const auto& p) { return p.param == "none" ? "none" : "virtiofs"; });

}  // namespace
}  // namespace vmshare::vm
