// `vmshare run`'s stdin and exit codes end to end (issue 12, items 8 and 9):
// a real guest (TCG) and the example bundle. Our stdin reaches the
// container's process up to EOF, in both sharing modes; a stdin that stays
// open (a pipe nobody closes) or that the process stops reading never holds
// the run up; a closed stdin is EOF at once. A run stopped by SIGINT exits
// 130, by SIGTERM 143 (run_e2e_test), by --timeout 124, by a stdout nobody
// reads 141, each after the whole teardown: TearDown checks that no QEMU or
// virtiofsd process, mount or sandbox directory is left.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_util.h"
#include "sys/env.h"
#include "testing_vm.h"

namespace vmshare::vm {
namespace {

using std::chrono::milliseconds;
using vmshare::testing::CountMountsUnder;
using vmshare::testing::ReadFile;
using vmshare::testing::TempDir;
using vmshare::testing::WriteFile;
namespace fs = std::filesystem;

// Generous: TCG on a loaded machine. A run that does not end in it is a hang.
constexpr milliseconds kRunLimit{300000};

std::string WithoutSpaces(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

class RunIoE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    if (!HaveQemu()) GTEST_SKIP() << "qemu-system-x86_64 or virtiofsd not installed";
    root_ = tmp_ / "root";
    bundle_ = tmp_ / "bundle";
    const std::string gen =
        std::string(VMSHARE_SOURCE_DIR) + "/scripts/guest/make-example-bundle.sh";
    ASSERT_EQ(std::system((gen + " --out " + bundle_).c_str()), 0);
  }

  void TearDown() override {
    if (root_.empty()) return;
    // A test that failed half-way: end its run as a user would.
    if (running_.pid > 0) {
      env_->Kill(running_, SIGTERM).IgnoreError();
      env_->Wait(running_, kRunLimit).status().IgnoreError();
    }
    EXPECT_EQ(ProcessesLeft(root_ + "/").size(), 0u) << "a qemu or virtiofsd process is left";
    EXPECT_EQ(CountMountsUnder(root_ + "/"), 0) << "a mount is left under " << root_;
    for (const std::string& e : EntriesUnder(root_)) {
      const std::string rel = e.substr(root_.size());
      EXPECT_TRUE(rel == "/sandboxes" || rel == "/vm" || rel == "/kvm-probe" || rel == "/sbs")
          << "left behind: " << e;
    }
  }

  // `vmshare run` with `stdin_path` as its stdin (std::nullopt: closed).
  sys::Child Start(const std::vector<std::string>& command, const std::vector<std::string>& flags,
                   std::optional<std::string> stdin_path) {
    sys::ChildOptions o;
    if (!stdin_path) o.argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 0<&-"};
    const std::vector<std::string> run = {VMSHARE_BIN, "run",   "--root",  root_,
                                          "--bundle",  bundle_, "--accel", "tcg"};
    o.argv.insert(o.argv.end(), run.begin(), run.end());
    o.argv.insert(o.argv.end(), flags.begin(), flags.end());
    o.argv.push_back("--");
    o.argv.insert(o.argv.end(), command.begin(), command.end());
    o.stdin_path = stdin_path.value_or("/dev/null");
    o.stdout_path = stdout_path_.empty() ? tmp_ / "out" : stdout_path_;
    o.stderr_path = tmp_ / "err";
    Result<sys::Child> c = env_->Spawn(o);
    EXPECT_OK(c);
    return c.ok() ? std::move(*c) : sys::Child{};
  }

  // Waits for the run to end; kills it (and fails) when it does not.
  sys::ExitStatus Finish(sys::Child& c) {
    Result<sys::ExitStatus> st = env_->Wait(c, kRunLimit);
    if (st.ok()) {
      c = sys::Child{};
      return *st;
    }
    env_->Kill(c, SIGKILL).IgnoreError();
    env_->Wait(c).status().IgnoreError();
    c = sys::Child{};
    ADD_FAILURE() << "vmshare run did not end: " << st.status().ToString() << "\n" << Err();
    return {};
  }

  // Waits until the process in the guest printed `marker`: everything is up.
  bool WaitForOutput(const std::string& marker) {
    for (int i = 0; i < 3000; ++i) {
      if (ReadFile(tmp_ / "out").find(marker) != std::string::npos) return true;
      env_->SleepFor(milliseconds(100));
    }
    return false;
  }

  // A FIFO this test holds open for writing (and reading, so that opening it
  // never blocks): whoever reads it never sees EOF while the test lives.
  sys::Fd OpenFifo(const std::string& path) {
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
    Result<sys::Fd> fd = env_->OpenAt(sys::Cwd(), path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    EXPECT_OK(fd);
    return fd.ok() ? std::move(*fd) : sys::Fd{};
  }

  std::string Out() { return ReadFile(tmp_ / "out"); }
  std::string Err() { return ReadFile(tmp_ / "err"); }

  sys::Env* env_ = sys::Env::Default();
  sys::Child running_;       // a run not waited for yet (Finish waits)
  std::string stdout_path_;  // empty: tmp_/out
  TempDir tmp_;
  std::string root_;
  std::string bundle_;
};

class RunStdinModesTest : public RunIoE2eTest, public ::testing::WithParamInterface<std::string> {};

// `echo hi | vmshare run -- sh -c 'read x; echo $x'`, and the rest of the
// input up to EOF: wc ends only when it reads EOF.
TEST_P(RunStdinModesTest, StdinIsForwardedUpToEof) {
  WriteFile(tmp_ / "in", "hi\na\nb\n");
  std::vector<std::string> flags = {"--shared-fs", GetParam()};
  if (GetParam() == "none") flags.push_back("--guest-local-copies");
  sys::Child c = Start({"/bin/sh", "-c", "read x; echo got=$x; wc -l"}, flags, tmp_ / "in");
  sys::ExitStatus st = Finish(c);
  EXPECT_TRUE(st.exited && st.code == 0) << st.code << Err();
  EXPECT_EQ(WithoutSpaces(Out()), "got=hi\n2\n") << Err();
}

INSTANTIATE_TEST_SUITE_P(Modes, RunStdinModesTest, ::testing::Values("virtio-fs", "none"));

// A stdin nobody closes, which the process reads a line of and then closes
// itself while more input waits: the run ends when the process does, and a
// process that stopped reading is no failure.
TEST_F(RunIoE2eTest, OpenStdinThatTheProcessClosesDoesNotHoldUpTheEnd) {
  sys::Fd fifo = OpenFifo(tmp_ / "fifo");
  ASSERT_OK(env_->WriteAll(fifo, "hi\n" + std::string(32 * 1024, 'y')));
  sys::Child c =
      Start({"/bin/sh", "-c", "read x; echo got=$x; exec 0<&-; echo closed"}, {}, tmp_ / "fifo");
  sys::ExitStatus st = Finish(c);
  EXPECT_TRUE(st.exited && st.code == 0) << st.code << Err();
  EXPECT_EQ(Out(), "got=hi\nclosed\n") << Err();
  EXPECT_TRUE(fifo.valid()) << "stdin stayed open throughout";
}

// A closed stdin is EOF at once (cat ends); SIGINT then stops the run: 130
// after the teardown, with one line saying why.
TEST_F(RunIoE2eTest, ClosedStdinIsEofAndSigintExits130) {
  running_ = Start({"/bin/sh", "-c", "cat; echo eof; sleep 100"}, {}, std::nullopt);
  ASSERT_TRUE(WaitForOutput("eof")) << Err();
  EXPECT_EQ(Out(), "eof\n");
  EXPECT_GT(ProcessesMentioning(root_ + "/").size(), 0u);
  ASSERT_OK(env_->Kill(running_, SIGINT));
  sys::ExitStatus st = Finish(running_);
  EXPECT_TRUE(st.exited);
  EXPECT_EQ(st.code, 130) << Err();
  EXPECT_NE(Err().find("vmshare: run: interrupted by SIGINT\n"), std::string::npos) << Err();
}

// --timeout: 124 as timeout(1), after the teardown, also with a stdin that
// stays open (the forwarder is waiting on it when the run is stopped).
TEST_F(RunIoE2eTest, TimeoutExits124WithStdinOpen) {
  sys::Fd fifo = OpenFifo(tmp_ / "fifo");
  sys::Child c =
      Start({"/bin/sh", "-c", "echo started; sleep 100"}, {"--timeout", "20"}, tmp_ / "fifo");
  sys::ExitStatus st = Finish(c);
  EXPECT_TRUE(st.exited);
  EXPECT_EQ(st.code, 124) << Err();
  EXPECT_NE(Err().find("vmshare: run: timed out after 20 s\n"), std::string::npos) << Err();
}

// A stdout whose reader goes away (`vmshare run -- yes | head -1`): the run
// is stopped as SIGPIPE would stop a pipeline's writer, 141, after the
// teardown, instead of being killed by SIGPIPE with everything left behind.
TEST_F(RunIoE2eTest, StdoutWithoutReaderStopsTheRunWith141) {
  sys::Fd out = OpenFifo(tmp_ / "out-fifo");
  stdout_path_ = tmp_ / "out-fifo";
  running_ = Start({"/bin/sh", "-c", "echo started; while :; do echo y; done"}, {}, "/dev/null");
  std::string seen;
  for (int i = 0; i < 3000 && seen.find("started") == std::string::npos; ++i) {
    Result<short> ev = env_->PollOne(out, POLLIN, milliseconds(100));
    if (!ev.ok() || *ev == 0) continue;
    Result<std::string> data = env_->Read(out, 4096);
    if (data.ok()) seen += *data;
  }
  ASSERT_NE(seen.find("started"), std::string::npos) << Err();
  out.Reset();  // its only reader: vmshare's next write fails with EPIPE
  sys::ExitStatus st = Finish(running_);
  EXPECT_TRUE(st.exited) << "killed by signal " << st.code;
  EXPECT_EQ(st.code, 128 + SIGPIPE) << Err();
  EXPECT_NE(Err().find("vmshare: run: the reader of stdout went away\n"), std::string::npos)
      << Err();
}

// What the agent would refuse in the process spec is refused before any
// guest boots: exit 1, one line naming the field, nothing made.
TEST_F(RunIoE2eTest, ProcessSpecErrorIsReportedBeforeTheBoot) {
  std::string config = ReadFile(bundle_ + "/config.json");
  const size_t pid = config.find(R"({"type": "pid"})");
  ASSERT_NE(pid, std::string::npos) << config;
  config.insert(pid, R"({"type": "user"}, )");
  WriteFile(bundle_ + "/config.json", config);
  sys::Child c = Start({"/bin/true"}, {}, "/dev/null");
  sys::ExitStatus st = Finish(c);
  EXPECT_TRUE(st.exited);
  EXPECT_EQ(st.code, 1) << Err();
  const std::string err = Err();
  EXPECT_NE(err.find("linux.namespaces: a user namespace is not supported"), std::string::npos)
      << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(fs::exists(root_)) << "the run made something before refusing";
}

}  // namespace
}  // namespace vmshare::vm
