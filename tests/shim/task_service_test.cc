// TaskService over the fake sandbox backend (fake_backend.h). Checks exit statuses (128 + signal),
// stdio through real FIFOs, CloseIO, exec, events and their order, and the errors containerd
// branches on.
#include "shim/task_service.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "fake_backend.h"
#include "support/test_util.h"

namespace vmshare::shim {
namespace {

using testing::FakeBackend;
using vmshare::testing::TempDir;
using vmshare::testing::WriteFile;

class RecordingSink : public EventSink {
 public:
  void Publish(EventPayload e) override {
    std::lock_guard<std::mutex> l(mu);
    if (on_publish) on_publish(e.topic);
    topics.push_back(e.topic);
  }
  std::vector<std::string> Topics() {
    std::lock_guard<std::mutex> l(mu);
    return topics;
  }
  std::mutex mu;
  std::vector<std::string> topics;
  // Called as each event is published, before Publish returns.
  std::function<void(const std::string& topic)> on_publish;
};

class TaskServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TaskServiceOptions o;
    o.env = sys::Env::Default();
    o.events = &events_;
    o.shim_pid = 7;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> l(log_mu_);
      log_.push_back(line);
    };
    o.make_backend = [this] {
      auto b = std::make_unique<FakeBackend>();
      backend_ = b.get();
      return b;
    };
    svc_ = std::make_unique<TaskService>(std::move(o));
  }
  void TearDown() override {
    if (backend_ != nullptr) backend_->Shutdown().IgnoreError();
    svc_.reset();
  }

  // A bundle whose config.json runs `args`, with optional annotations.
  std::string Bundle(const std::string& name, const std::string& args_json,
                     const std::string& annotations = "{}") {
    const std::string dir = tmp_ / name;
    ::mkdir(dir.c_str(), 0755);
    WriteFile(dir + "/config.json", R"({"process":{"args":)" + args_json +
                                        R"(,"cwd":"/"},"root":{"path":"rootfs"},"annotations":)" +
                                        annotations + "}");
    return dir;
  }
  std::string Fifo(const std::string& name) {
    const std::string p = tmp_ / name;
    EXPECT_EQ(::mkfifo(p.c_str(), 0600), 0);
    return p;
  }
  static std::string ReadAllFd(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

  // What a non-blocking reader of a FIFO can read now; *eof: the writers
  // are gone (a read returned 0), not merely nothing to read yet.
  static std::string ReadAvailable(int fd, bool* eof) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    *eof = n == 0;
    return out;
  }

  // What a FIFO's reader would get, without reading it: the bytes it holds,
  // and whether its writers are gone (POLLHUP; reliable for a reader opened
  // before the writer, as containerd's is).
  struct FifoState {
    int bytes = -1;
    bool writers_gone = false;
  };
  static FifoState Peek(int fd) {
    FifoState s;
    ::ioctl(fd, FIONREAD, &s.bytes);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) s.writers_gone = (p.revents & POLLHUP) != 0;
    return s;
  }

  // Starts `k`, whose stdout FIFO `reader` reads, and looks at the FIFO at
  // the moment TaskExit is published and when Wait answers (these two come
  // in either order); then reads it.
  struct OutputAtExit {
    FifoState at_event, at_wait;
    std::string out;
    bool eof = false;
    uint32_t status = 0;
  };
  OutputAtExit RunAndWatchExit(const ProcessKey& k, int reader) {
    OutputAtExit r;
    {
      std::lock_guard<std::mutex> l(events_.mu);
      events_.on_publish = [&](const std::string& topic) {
        if (topic == "/tasks/exit") r.at_event = Peek(reader);
      };
    }
    EXPECT_TRUE(svc_->Start(k).ok());
    auto exit = svc_->Wait(k, nullptr);
    EXPECT_TRUE(exit.ok());
    if (exit.ok()) r.status = exit->exit_status;
    r.at_wait = Peek(reader);
    // The event follows the recorded exit: wait for it before reading.
    for (int i = 0; i < 1000; ++i) {
      auto t = events_.Topics();
      if (std::find(t.begin(), t.end(), "/tasks/exit") != t.end()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    {
      std::lock_guard<std::mutex> l(events_.mu);
      events_.on_publish = nullptr;
    }
    r.out = ReadAvailable(reader, &r.eof);
    return r;
  }
  // `seq 5` exited 0, and when TaskExit went out and when Wait answered,
  // every byte was in the FIFO and the shim's end was closed.
  void ExpectAllRelayedAtExit(const OutputAtExit& r) {
    EXPECT_EQ(r.status, 0u);
    EXPECT_EQ(r.at_event.bytes, 10);
    EXPECT_TRUE(r.at_event.writers_gone);
    EXPECT_EQ(r.at_wait.bytes, 10);
    EXPECT_TRUE(r.at_wait.writers_gone);
    EXPECT_EQ(r.out, "1\n2\n3\n4\n5\n");
    EXPECT_EQ(backend_->WaitsWithOutputUnread(), 0);
  }

  bool Logged(const std::string& part) {
    std::lock_guard<std::mutex> l(log_mu_);
    for (const auto& line : log_)
      if (line.find(part) != std::string::npos) return true;
    return false;
  }

  TempDir tmp_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
  RecordingSink events_;
  FakeBackend* backend_ = nullptr;
  std::unique_ptr<TaskService> svc_;
};

TEST_F(TaskServiceTest, RunEchoRelaysOutputAndReportsExit) {
  CreateTask c;
  c.id = "c1";
  c.bundle = Bundle("b1", R"(["echo","hello","guest"])");
  c.stdio.stdout_path = Fifo("out");
  // containerd's reader is open before Create, as ctr's copier is.
  const int reader = ::open(c.stdio.stdout_path.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  auto pid = svc_->Create(c);
  ASSERT_TRUE(pid.ok()) << pid.status().message();
  EXPECT_EQ(*pid, 4242u);
  EXPECT_EQ(backend_->booted, "c1");
  ASSERT_TRUE(svc_->Start({"c1", ""}).ok());
  auto exit = svc_->Wait({"c1", ""}, nullptr);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_status, 0u);
  EXPECT_GT(exit->exited_at_ns, 0);
  ::fcntl(reader, F_SETFL, 0);
  EXPECT_EQ(ReadAllFd(reader), "hello guest\n");  // EOF came: the shim closed its end
  ::close(reader);
  auto st = svc_->State({"c1", ""});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->status, TaskStatus::kStopped);
  auto del = svc_->Delete({"c1", ""});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(backend_->removed, std::vector<std::string>{"c1"});
  EXPECT_EQ(backend_->shutdowns, 1);
  EXPECT_EQ(events_.Topics(), (std::vector<std::string>{"/tasks/create", "/tasks/start",
                                                        "/tasks/exit", "/tasks/delete"}));
  auto shut = svc_->Shutdown({"c1", false});
  ASSERT_TRUE(shut.ok());
  EXPECT_TRUE(*shut);
}

TEST_F(TaskServiceTest, KillReportsSignalExitStatus) {
  CreateTask c{"c1", Bundle("b1", R"(["sleep"])"), {}, {}, ""};
  ASSERT_TRUE(svc_->Create(c).ok());
  EXPECT_EQ(svc_->Kill({{"c1", ""}, 15, false}).code(), Code::kFailedPrecondition);  // not started
  ASSERT_TRUE(svc_->Start({"c1", ""}).ok());
  EXPECT_EQ(svc_->Delete({"c1", ""}).status().code(), Code::kFailedPrecondition);  // running
  ASSERT_TRUE(svc_->Kill({{"c1", ""}, 15, false}).ok());
  auto exit = svc_->Wait({"c1", ""}, nullptr);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_status, 143u);
  EXPECT_EQ(svc_->Kill({{"c1", ""}, 9, false}).code(), Code::kNotFound);  // already finished
  auto del = svc_->Delete({"c1", ""});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->exit_status, 143u);
}

TEST_F(TaskServiceTest, StdinReachesProcessAndCloseIoEndsIt) {
  CreateTask c;
  c.id = "c1";
  c.bundle = Bundle("b1", R"(["cat"])");
  c.stdio.stdin_path = Fifo("in");
  c.stdio.stdout_path = Fifo("out");
  const int reader = ::open(c.stdio.stdout_path.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_TRUE(svc_->Create(c).ok());
  ASSERT_TRUE(svc_->Start({"c1", ""}).ok());
  const int writer = ::open(c.stdio.stdin_path.c_str(), O_WRONLY);
  ASSERT_GE(writer, 0);
  ASSERT_EQ(::write(writer, "line one\nline two\n", 18), 18);
  // CloseIO while the writer is still open: what it wrote is in the FIFO and
  // must reach the process before its stdin closes.
  ASSERT_TRUE(svc_->CloseIO({{"c1", ""}, true}).ok());
  auto exit = svc_->Wait({"c1", ""}, nullptr);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_status, 0u);
  ::fcntl(reader, F_SETFL, 0);
  EXPECT_EQ(ReadAllFd(reader), "line one\nline two\n");
  ::close(reader);
  ::close(writer);
  ASSERT_TRUE(svc_->Delete({"c1", ""}).ok());
}

TEST_F(TaskServiceTest, StdinWritersCloseIsEof) {
  CreateTask c;
  c.id = "c1";
  c.bundle = Bundle("b1", R"(["cat"])");
  c.stdio.stdin_path = Fifo("in");
  ASSERT_TRUE(svc_->Create(c).ok());
  ASSERT_TRUE(svc_->Start({"c1", ""}).ok());
  const int writer = ::open(c.stdio.stdin_path.c_str(), O_WRONLY);
  ASSERT_EQ(::write(writer, "x", 1), 1);
  ::close(writer);
  auto exit = svc_->Wait({"c1", ""}, nullptr);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_status, 0u);
  ASSERT_TRUE(svc_->Delete({"c1", ""}).ok());
}

TEST_F(TaskServiceTest, ExecRunsBesideInitAndHasItsOwnExit) {
  CreateTask c{"c1", Bundle("b1", R"(["sleep"])"), {}, {}, ""};
  ASSERT_TRUE(svc_->Create(c).ok());
  ExecTask e{"c1",
             "e1",
             {},
             "types.containerd.io/opencontainers/runtime-spec/1/Process",
             R"({"args":["exit","3"],"cwd":"/"})"};
  EXPECT_EQ(svc_->Exec(e).code(), Code::kFailedPrecondition);  // init not running
  ASSERT_TRUE(svc_->Start({"c1", ""}).ok());
  ASSERT_TRUE(svc_->Exec(e).ok());
  EXPECT_EQ(svc_->Exec(e).code(), Code::kAlreadyExists);
  ASSERT_TRUE(svc_->Start({"c1", "e1"}).ok());
  auto exit = svc_->Wait({"c1", "e1"}, nullptr);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_status, 3u);
  ASSERT_TRUE(svc_->Delete({"c1", "e1"}).ok());
  EXPECT_EQ(svc_->State({"c1", "e1"}).status().code(), Code::kNotFound);
  ASSERT_TRUE(svc_->Kill({{"c1", ""}, 9, false}).ok());
  ASSERT_TRUE(svc_->Wait({"c1", ""}, nullptr).ok());
  ASSERT_TRUE(svc_->Delete({"c1", ""}).ok());
  auto t = events_.Topics();
  EXPECT_NE(std::find(t.begin(), t.end(), "/tasks/exec-added"), t.end());
  EXPECT_NE(std::find(t.begin(), t.end(), "/tasks/exec-started"), t.end());
}

// An e2e `ctr task exec` printed a shell's first lines and not the rest,
// with exit code 0: the shim collected the exit while its relay was behind
// the process, and the agent forgets an exec once WaitProcess answered, so
// the relay's next read failed and it closed the FIFO (ctr's EOF) early. A
// real guest loses that race now and then; the fake backend (which forgets
// waited execs as the agent does) makes the relay lag for certain: every
// read takes 20 ms and returns 1 byte, and the process exits at once.
TEST_F(TaskServiceTest, ExecOutputIsAllRelayedBeforeItsExitIsReported) {
  CreateTask c{"c1", Bundle("b1", R"(["sleep"])"), {}, {}, ""};
  ASSERT_TRUE(svc_->Create(c).ok());
  ASSERT_TRUE(svc_->Start({"c1", ""}).ok());
  backend_->read_lag = std::chrono::milliseconds(20);
  backend_->read_chunk = 1;
  ExecTask e{"c1",
             "e1",
             {},
             "types.containerd.io/opencontainers/runtime-spec/1/Process",
             R"({"args":["seq","5"],"cwd":"/"})"};
  e.stdio.stdout_path = Fifo("out");
  e.stdio.stderr_path = Fifo("err");
  const int reader = ::open(e.stdio.stdout_path.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  ASSERT_TRUE(svc_->Exec(e).ok());
  const OutputAtExit r = RunAndWatchExit({"c1", "e1"}, reader);
  ::close(reader);
  ExpectAllRelayedAtExit(r);
  EXPECT_TRUE(r.eof);
  ASSERT_TRUE(svc_->Delete({"c1", "e1"}).ok());
  ASSERT_TRUE(svc_->Kill({{"c1", ""}, 9, false}).ok());
  ASSERT_TRUE(svc_->Wait({"c1", ""}, nullptr).ok());
  ASSERT_TRUE(svc_->Delete({"c1", ""}).ok());
}

// The init too: its exit was reported after at most 2 s of relaying, with
// output still to come on a loaded host. Here relaying takes 2.5 s after the
// exit (10 reads of 250 ms), longer than that grace was.
TEST_F(TaskServiceTest, InitOutputIsAllRelayedBeforeItsExitIsReported) {
  CreateTask c{"c1", Bundle("b1", R"(["seq","5"])"), {}, {}, ""};
  c.stdio.stdout_path = Fifo("out");
  const int reader = ::open(c.stdio.stdout_path.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  ASSERT_TRUE(svc_->Create(c).ok());
  backend_->read_lag = std::chrono::milliseconds(250);
  backend_->read_chunk = 1;
  const OutputAtExit r = RunAndWatchExit({"c1", ""}, reader);
  ::close(reader);
  ExpectAllRelayedAtExit(r);
  ASSERT_TRUE(svc_->Delete({"c1", ""}).ok());
}

// A relay whose FIFO nobody reads (full) holds its exit until the container
// is deleted or the sandbox shut down, which stops it.
TEST_F(TaskServiceTest, ShutdownStopsARelayStuckOnAFullFifo) {
  CreateTask c{"c1", Bundle("b1", R"(["cat"])"), {}, {}, ""};
  c.stdio.stdin_path = Fifo("in");
  c.stdio.stdout_path = Fifo("out");
  const int out_reader = ::open(c.stdio.stdout_path.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(out_reader, 0);
  ASSERT_TRUE(svc_->Create(c).ok());
  const int in = ::open(c.stdio.stdin_path.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(in, 0);
  ASSERT_TRUE(svc_->Start({"c1", ""}).ok());
  // Four times what a FIFO holds goes through cat; nobody reads its output.
  const std::string data(256 * 1024, 'x');
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(in, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ::close(in);  // EOF: the fake's cat exits, its output stuck in the relay
  auto r = svc_->Shutdown({"c1", true});
  ASSERT_TRUE(r.ok());
  auto exit = svc_->Wait({"c1", ""}, nullptr);
  ASSERT_TRUE(exit.ok());
  ::close(out_reader);
  ASSERT_TRUE(svc_->Delete({"c1", ""}).ok());
}

// The spec's privileges and linux fields reach the backend; what CRI writes
// and the guest does not apply is a line in the shim log; what the agent
// would refuse fails the Create before any guest boots.
TEST_F(TaskServiceTest, CreatePassesTheGuestSpecAndLogsNotices) {
  const std::string bad = tmp_ / "bad";
  ::mkdir(bad.c_str(), 0755);
  WriteFile(bad + "/config.json", R"({"process":{"args":["sh"]},"root":{"path":"rootfs"},
      "linux":{"namespaces":[{"type":"user"}]}})");
  auto refused = svc_->Create({"u1", bad, {}, {}, ""});
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("user namespace"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(backend_, nullptr) << "a guest was booted for a spec the agent refuses";

  const std::string dir = tmp_ / "b1";
  ::mkdir(dir.c_str(), 0755);
  WriteFile(dir + "/config.json", R"({"process":{"args":["sleep"],
      "capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]},
      "rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"noNewPrivileges":true,
      "apparmorProfile":"cri-containerd.apparmor.d"},
      "root":{"path":"rootfs"},
      "linux":{"namespaces":[{"type":"pid"},{"type":"mount"}],"maskedPaths":["/proc/kcore"],
               "seccomp":{"defaultAction":"SCMP_ACT_ERRNO"}}})");
  ASSERT_TRUE(svc_->Create({"c1", dir, {}, {}, ""}).ok());
  ASSERT_EQ(backend_->specs.size(), 1u);
  const agent::ContainerSpec& g = backend_->specs[0].guest;
  ASSERT_TRUE(g.capabilities.has_value());
  EXPECT_EQ(g.capabilities->effective, std::vector<std::string>{"CAP_KILL"});
  EXPECT_EQ(g.rlimits.size(), 1u);
  EXPECT_TRUE(g.no_new_privileges);
  EXPECT_EQ(g.masked_paths, std::vector<std::string>{"/proc/kcore"});
  EXPECT_TRUE(Logged("create task \"c1\": linux.seccomp is not applied"));
  EXPECT_TRUE(Logged("create task \"c1\": process.apparmorProfile is not applied"));

  // An exec asking for other privileges than its container's gets the
  // container's (the agent's rule), and the log says so.
  ASSERT_TRUE(svc_->Start({"c1", ""}).ok());
  ExecTask same{"c1", "e1", {}, "", R"({"args":["true"],"noNewPrivileges":true,
      "capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]},
      "rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}]})"};
  ASSERT_TRUE(svc_->Exec(same).ok());
  EXPECT_FALSE(Logged("differ from the container's"));
  ExecTask other{"c1", "e2", {}, "", R"({"args":["true"],"noNewPrivileges":true,
      "capabilities":{"effective":["CAP_SYS_ADMIN"]}})"};
  ASSERT_TRUE(svc_->Exec(other).ok());
  EXPECT_TRUE(Logged("exec \"e2\" of task \"c1\": process.capabilities differ"));
  EXPECT_TRUE(Logged("exec \"e2\" of task \"c1\": process.rlimits differ"));
  ASSERT_TRUE(svc_->Kill({{"c1", ""}, 9, false}).ok());
  ASSERT_TRUE(svc_->Wait({"c1", ""}, nullptr).ok());
  ASSERT_TRUE(svc_->Delete({"c1", ""}).ok());
}

TEST_F(TaskServiceTest, PodContainersShareOneBackendAndSandboxDeleteEndsIt) {
  const std::string pod =
      R"({"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-id":"pod1"})";
  CreateTask early{"app", Bundle("b0", R"(["sleep"])", pod), {}, {}, ""};
  EXPECT_EQ(svc_->Create(early).status().code(), Code::kFailedPrecondition);  // no sandbox yet
  CreateTask sb{
      "pod1",
      Bundle(
          "b1", R"(["sleep"])",
          R"({"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-id":"pod1"})"),
      {},
      {},
      ""};
  ASSERT_TRUE(svc_->Create(sb).ok());
  CreateTask app{"app", Bundle("b2", R"(["sleep"])", pod), {}, {}, ""};
  ASSERT_TRUE(svc_->Create(app).ok());
  EXPECT_EQ(backend_->created, (std::vector<std::string>{"pod1", "app"}));
  CreateTask other{
      "x",
      Bundle(
          "b3", R"(["sleep"])",
          R"({"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-id":"pod2"})"),
      {},
      {},
      ""};
  EXPECT_EQ(svc_->Create(other).status().code(), Code::kInvalidArgument);  // another sandbox
  ASSERT_TRUE(svc_->Delete({"app", ""}).ok());
  EXPECT_EQ(backend_->shutdowns, 0);
  auto shut = svc_->Shutdown({"app", false});
  ASSERT_TRUE(shut.ok());
  EXPECT_FALSE(*shut);  // the sandbox container is still there
  ASSERT_TRUE(svc_->Delete({"pod1", ""}).ok());
  EXPECT_EQ(backend_->shutdowns, 1);
}

TEST_F(TaskServiceTest, GuestLossEndsEveryProcessWithErrorStatus) {
  CreateTask c{"c1", Bundle("b1", R"(["sleep"])"), {}, {}, ""};
  ASSERT_TRUE(svc_->Create(c).ok());
  ASSERT_TRUE(svc_->Start({"c1", ""}).ok());
  backend_->Crash();
  auto exit = svc_->Wait({"c1", ""}, nullptr);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->exit_status, kGuestLostStatus);
  ASSERT_TRUE(svc_->Delete({"c1", ""}).ok());
}

TEST_F(TaskServiceTest, UnknownIdsAndBadInputAreRefused) {
  EXPECT_EQ(svc_->State({"nope", ""}).status().code(), Code::kNotFound);
  EXPECT_EQ(svc_->Wait({"nope", ""}, nullptr).status().code(), Code::kNotFound);
  EXPECT_EQ(svc_->Delete({"nope", ""}).status().code(), Code::kNotFound);
  EXPECT_EQ(svc_->Create({"../x", tmp_.path(), {}, {}, ""}).status().code(),
            Code::kInvalidArgument);
  auto missing = svc_->Create({"c1", tmp_ / "no-bundle", {}, {}, ""});
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("config.json"), std::string::npos);
  WriteFile(tmp_ / "bad.json", "");
  const std::string bad = tmp_ / "badb";
  ::mkdir(bad.c_str(), 0755);
  WriteFile(bad + "/config.json", "{not json");
  EXPECT_EQ(svc_->Create({"c1", bad, {}, {}, ""}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(backend_, nullptr);  // nothing booted for any of them
}

TEST_F(TaskServiceTest, WaitReturnsWhenItsConnectionCloses) {
  CreateTask c{"c1", Bundle("b1", R"(["sleep"])"), {}, {}, ""};
  ASSERT_TRUE(svc_->Create(c).ok());
  ASSERT_TRUE(svc_->Start({"c1", ""}).ok());
  std::atomic<bool> cancelled{false};
  std::thread t([&] { cancelled = true; });
  auto r = svc_->Wait({"c1", ""}, &cancelled);
  t.join();
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  ASSERT_TRUE(svc_->Kill({{"c1", ""}, 9, false}).ok());
  EXPECT_EQ(svc_->Wait({"c1", ""}, nullptr)->exit_status, 137u);
  ASSERT_TRUE(svc_->Delete({"c1", ""}).ok());
}

}  // namespace
}  // namespace vmshare::shim
