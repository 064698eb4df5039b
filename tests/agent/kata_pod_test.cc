// The sequence a Kata shim runs for a pod, against the real vmshare-agent
// (in a mount and network namespace of its own, listening on a unix socket,
// with a cgroup v2 directory of the test's as its cgroup root):
//   Check, Version, CreateSandbox, GetGuestDetails, the network calls;
//   Create+Start a sandbox container and an app container;
//   ExecProcess with a pty + TtyWinResize, WriteStdin, CloseStdin, ReadStdout
//   to the Kata-style EOF; a piped exec the same way;
//   SignalProcess SIGTERM -> WaitProcess 143;
//   StatsContainer, ListProcesses, UpdateContainer, Pause/Resume, GetOOMEvent;
//   RemoveContainer, DestroySandbox, and the agent exits 0 within a second.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include "agent/client.h"
#include "agent/translate.h"
#include "support/test_util.h"
#include "sys/env.h"

namespace vmshare::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::TempDir;

// How long the agent may take to exit, or a call to end, on a loaded machine.
constexpr milliseconds kExitBound{30000};

sys::Env* env() { return sys::Env::Default(); }

// A cgroup v2 directory this process may make children in: its own cgroup
// on the cgroup2 mount, or "" when there is none.
std::string OwnCgroup2() {
  std::ifstream mi("/proc/self/mountinfo");
  std::string line, mount_point;
  while (std::getline(mi, line)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream f(line);
    std::string id, parent, dev, root;
    f >> id >> parent >> dev >> root >> mount_point;
    break;
  }
  if (mount_point.empty()) return "";
  std::ifstream self("/proc/self/cgroup");
  while (std::getline(self, line)) {
    if (line.rfind("0::", 0) == 0) return mount_point + line.substr(3);
  }
  return "";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class KataPodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
    rootfs_ = tmp_ / "rootfs";
    fs::create_directories(rootfs_ + "/bin");
    fs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    fs::create_directories(tmp_ / "shared");
    if (std::string own = OwnCgroup2(); !own.empty()) {
      cgroup_root_ = own + "/vmshare-kata-pod-" + std::to_string(::getpid());
      std::error_code ec;
      fs::create_directory(cgroup_root_, ec);
      if (ec) cgroup_root_.clear();
    }
    sys::ChildOptions o;
    o.argv = {"unshare",       "--mount",         "--net",     "--propagation",
              "private",       VMSHARE_AGENT_BIN, "--socket",  tmp_ / "agent.sock",
              "--shared-root", tmp_ / "shared",   "--run-dir", tmp_ / "run",
              "--cgroup-root", cgroup_root_,      "--no-init"};
    o.stderr_path = tmp_ / "agent.log";
    o.die_with_parent = true;
    auto child = env()->Spawn(o);
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    agent_ = std::move(child).value();
    for (int i = 0; i < 500 && !client_; ++i) {
      auto c = AgentClient::Connect(env(), tmp_ / "agent.sock");
      if (c.ok())
        client_ = std::move(c).value();
      else
        env()->SleepFor(milliseconds(20));
    }
    ASSERT_TRUE(client_) << "agent did not listen; log:\n" << testing::ReadFile(tmp_ / "agent.log");
  }

  void TearDown() override {
    client_.reset();
    if (agent_.pid > 0 && !agent_exited_) {
      env()->Kill(agent_, SIGKILL).IgnoreError();
      env()->Wait(agent_).status().IgnoreError();
    }
    if (!cgroup_root_.empty()) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(cgroup_root_, ec)) {
        if (e.is_directory()) fs::remove(e.path(), ec);
      }
      fs::remove(cgroup_root_, ec);
    }
  }

  CreateContainerRequest Container(const std::string& id, std::vector<std::string> args) {
    CreateContainerRequest r;
    r.container_id = id;
    r.exec_id = id;
    r.spec.root_path = rootfs_;
    r.spec.args = std::move(args);
    r.spec.env = {"PATH=/bin"};
    r.spec.mounts = {{"proc", "/proc", "proc", {"nosuid", "noexec", "nodev"}}};
    return r;
  }

  // ReadStdout until the end of the stream (the client's "").
  std::string ReadToEof(const std::string& cid, const std::string& eid) {
    std::string out;
    for (;;) {
      auto chunk = client_->ReadStdout(cid, eid, 4096, std::chrono::seconds(30));
      EXPECT_TRUE(chunk.ok()) << chunk.status().ToString();
      if (!chunk.ok() || chunk->empty()) return out;
      out += *chunk;
    }
  }

  // Polls cgroup.events until `key` has `value` (30 s: a hang guard).
  bool CgroupEventIs(const std::string& cid, const std::string& key, const std::string& value) {
    for (int i = 0; i < 3000; ++i) {
      std::istringstream in(testing::ReadFile(cgroup_root_ + "/" + cid + "/cgroup.events"));
      std::string k, v;
      while (in >> k >> v) {
        if (k == key && v == value) return true;
      }
      env()->SleepFor(milliseconds(10));
    }
    return false;
  }

  TempDir tmp_;
  std::string rootfs_, cgroup_root_;
  sys::Child agent_;
  bool agent_exited_ = false;
  std::unique_ptr<AgentClient> client_;
};

TEST_F(KataPodTest, ShimPodSequence) {
  // 1. Check, Version, CreateSandbox, GetGuestDetails; the network calls a
  //    runtime makes for a pod, against a guest with no network devices.
  auto health = client_->Check();
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  auto version = client_->Version();
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(version->grpc_version, "0.0.1");
  EXPECT_FALSE(version->agent_version.empty());
  Storage local;
  local.driver = "local";
  local.mount_point = tmp_ / "sandbox/local";
  ASSERT_OK(client_->CreateSandbox({local}, "pod1", "pod1-host"));
  auto details = client_->GetGuestDetails({true, true});
  ASSERT_TRUE(details.ok()) << details.status().ToString();
  EXPECT_EQ(details->agent_version, version->agent_version);
  EXPECT_FALSE(details->init_daemon);
  EXPECT_NE(
      std::find(details->storage_handlers.begin(), details->storage_handlers.end(), "virtio-fs"),
      details->storage_handlers.end());
  auto ifaces = client_->ListInterfaces();
  ASSERT_TRUE(ifaces.ok()) << ifaces.status().ToString();
  EXPECT_TRUE(ifaces->empty());
  auto routes = client_->ListRoutes();
  ASSERT_TRUE(routes.ok()) << routes.status().ToString();
  EXPECT_TRUE(routes->empty());
  NetInterface eth0;
  eth0.name = "eth0";
  eth0.addresses = {{false, "10.0.0.2", "24"}};
  auto updated = client_->UpdateInterface(eth0);
  EXPECT_EQ(updated.status().code(), Code::kNotFound) << updated.status().ToString();
  EXPECT_NE(updated.status().message().find("\"eth0\""), std::string::npos);
  auto no_routes = client_->UpdateRoutes({});
  ASSERT_TRUE(no_routes.ok()) << no_routes.status().ToString();
  EXPECT_TRUE(no_routes->empty());
  EXPECT_EQ(client_->UpdateRoutes({{"", "10.0.0.1", "eth0", "", 0, false}}).status().code(),
            Code::kNotFound);
  ASSERT_OK(client_->AddArpNeighbors({}));

  // 2. The sandbox ("pause") container and the app container.
  ASSERT_OK(client_->CreateContainer(Container("pause", {"/bin/busybox", "sleep", "1000"})));
  ASSERT_OK(client_->StartContainer("pause"));
  ASSERT_OK(client_->CreateContainer(Container("app", {"/bin/busybox", "sleep", "1000"})));
  ASSERT_OK(client_->StartContainer("app"));

  // 3 + 4. An exec on a pty, resized, fed through stdin, read to the end.
  ExecProcessRequest tty;
  tty.process = {"app", "tty1"};
  tty.spec.args = {"/bin/busybox", "sh", "-c", "read line; stty size; echo got:$line"};
  tty.spec.env = {"PATH=/bin"};
  tty.spec.terminal = true;
  tty.spec.console_height = 24;
  tty.spec.console_width = 80;
  ASSERT_OK(client_->ExecProcess(tty));
  EXPECT_EQ(client_->ExecProcess(tty).code(), Code::kAlreadyExists);
  ASSERT_OK(client_->TtyWinResize("app", "tty1", 40, 100));
  auto wrote = client_->WriteStdin("app", "tty1", "hello\n");
  ASSERT_TRUE(wrote.ok()) << wrote.status().ToString();
  EXPECT_EQ(*wrote, 6u);
  ASSERT_OK(client_->CloseStdin("app", "tty1"));
  const std::string tty_out = ReadToEof("app", "tty1");
  EXPECT_NE(tty_out.find("40 100\r\n"), std::string::npos) << tty_out;
  EXPECT_NE(tty_out.find("got:hello\r\n"), std::string::npos) << tty_out;
  // Kata's EOF on the wire: an INTERNAL error, every time it is asked.
  for (int i = 0; i < 2; ++i) {
    auto raw = client_->Call(kAgentService, "ReadStdout",
                             EncodeReadStreamRequest({{"app", "tty1"}, 4096}), std::nullopt);
    EXPECT_EQ(raw.status().code(), Code::kInternal);
    EXPECT_NE(raw.status().message().find("eof (INTERNAL)"), std::string::npos)
        << raw.status().ToString();
  }
  auto tty_exit = client_->WaitProcess("app", "tty1", std::chrono::seconds(30));
  ASSERT_TRUE(tty_exit.ok()) << tty_exit.status().ToString();
  EXPECT_EQ(*tty_exit, 0);
  // A waited-for exec is forgotten, as Kata's agent forgets it.
  EXPECT_EQ(client_->ReadStdout("app", "tty1", 10).status().code(), Code::kNotFound);
  EXPECT_EQ(client_->TtyWinResize("app", "nope", 1, 1).code(), Code::kNotFound);

  // A piped exec: stdin to stdout through cat, stderr apart.
  ExecProcessRequest cat;
  cat.process = {"app", "cat1"};
  cat.spec.args = {"/bin/busybox", "sh", "-c", "cat; echo done >&2"};
  cat.spec.env = {"PATH=/bin"};
  ASSERT_OK(client_->ExecProcess(cat));
  ASSERT_TRUE(client_->WriteStdin("app", "cat1", "piped\n").ok());
  ASSERT_OK(client_->CloseStdin("app", "cat1"));
  EXPECT_EQ(client_->WriteStdin("app", "cat1", "late").status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(ReadToEof("app", "cat1"), "piped\n");
  auto err = client_->ReadStderr("app", "cat1", 100, std::chrono::seconds(30));
  ASSERT_TRUE(err.ok()) << err.status().ToString();
  EXPECT_EQ(*err, "done\n");
  EXPECT_EQ(client_->TtyWinResize("app", "cat1", 1, 1).code(), Code::kFailedPrecondition);
  auto cat_exit = client_->WaitProcess("app", "cat1", std::chrono::seconds(30));
  ASSERT_TRUE(cat_exit.ok()) << cat_exit.status().ToString();
  EXPECT_EQ(*cat_exit, 0);

  // 5. SIGTERM to an exec: 128 + 15.
  ExecProcessRequest sleeper;
  sleeper.process = {"app", "sleep1"};
  sleeper.spec.args = {"/bin/busybox", "sleep", "1000"};
  ASSERT_OK(client_->ExecProcess(sleeper));
  ASSERT_OK(client_->SignalProcess("app", "sleep1", SIGTERM));
  auto term = client_->WaitProcess("app", "sleep1", std::chrono::seconds(30));
  ASSERT_TRUE(term.ok()) << term.status().ToString();
  EXPECT_EQ(*term, 143);
  EXPECT_EQ(client_->SignalProcess("app", "sleep1", SIGTERM).code(), Code::kNotFound);
  EXPECT_EQ(client_->SignalProcess("app", "", 99).code(), Code::kInvalidArgument);

  // 6. Stats, processes, resources, pause/resume, OOM events.
  auto json = client_->ListProcesses("app", "json");
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(json->front(), '[');
  EXPECT_EQ(json->back(), ']');
  EXPECT_NE(*json, "[]");
  auto table = client_->ListProcesses("app", "table");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_NE(table->find(" busybox\n"), std::string::npos) << *table;  // comm of sleep
  EXPECT_EQ(client_->ListProcesses("app", "yaml").status().code(), Code::kInvalidArgument);
  auto oom = client_->GetOomEvent(milliseconds(300));
  EXPECT_EQ(oom.status().code(), Code::kDeadlineExceeded) << oom.status().ToString();
  if (cgroup_root_.empty()) {
    EXPECT_EQ(client_->StatsContainer("app").status().code(), Code::kFailedPrecondition);
    EXPECT_EQ(client_->PauseContainer("app").code(), Code::kFailedPrecondition);
  } else {
    // The processes run in the container's cgroup.
    const std::string procs = testing::ReadFile(cgroup_root_ + "/app/cgroup.procs");
    EXPECT_NE(Trim(procs), "") << procs;
    EXPECT_EQ(*json, "[" + Trim(procs) + "]");
    auto stats = client_->StatsContainer("app");
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_GT(stats->cpu_total_ns, 0u);  // the execs above ran in it
    ASSERT_OK(client_->PauseContainer("app"));
    EXPECT_TRUE(CgroupEventIs("app", "frozen", "1"));
    EXPECT_NE(testing::ReadFile(cgroup_root_ + "/pause/cgroup.events").find("frozen 0"),
              std::string::npos);  // only the app is paused
    ASSERT_OK(client_->ResumeContainer("app"));
    EXPECT_TRUE(CgroupEventIs("app", "frozen", "0"));
    LinuxResources limits;
    limits.memory_limit = 64 << 20;
    Status update = client_->UpdateContainer("app", limits);
    if (fs::exists(cgroup_root_ + "/app/memory.max")) {
      ASSERT_OK(update);
      EXPECT_EQ(Trim(testing::ReadFile(cgroup_root_ + "/app/memory.max")),
                std::to_string(64 << 20));
    } else {  // memory controller not delegated here: the error names the file
      EXPECT_NE(update.message().find("memory.max"), std::string::npos) << update.ToString();
    }
  }
  ASSERT_OK(client_->UpdateContainer("app", {}));  // nothing to change
  EXPECT_EQ(client_->StatsContainer("nope").status().code(), Code::kNotFound);

  // 7. Remove both, destroy the sandbox; the agent exits 0 (the bound is a
  // hang guard: a loaded machine may take its time).
  ASSERT_OK(client_->RemoveContainer("app", 10));
  ASSERT_OK(client_->RemoveContainer("pause", 10));
  if (!cgroup_root_.empty()) {
    EXPECT_FALSE(fs::exists(cgroup_root_ + "/app"));
    EXPECT_FALSE(fs::exists(cgroup_root_ + "/pause"));
  }
  ASSERT_OK(client_->DestroySandbox());
  auto exit = env()->Wait(agent_, kExitBound);
  ASSERT_TRUE(exit.ok()) << exit.status().ToString();
  agent_exited_ = true;
  EXPECT_TRUE(exit->exited);
  EXPECT_EQ(exit->code, 0) << testing::ReadFile(tmp_ / "agent.log");
}

TEST_F(KataPodTest, InitProcessStreamsAndSignals) {
  // The init's output ends with Kata's EOF once it exits; SIGTERM to an init
  // that does not catch it is SIGKILL (Kata), one that does gets SIGTERM.
  ASSERT_OK(client_->CreateSandbox({}, "pod2"));
  ASSERT_OK(client_->CreateContainer(Container("c1", {"/bin/busybox", "sh", "-c", "echo hi"})));
  ASSERT_OK(client_->StartContainer("c1"));
  EXPECT_EQ(ReadToEof("c1", ""), "hi\n");
  auto code = client_->WaitProcess("c1", "", std::chrono::seconds(30));
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 0);
  // The init stays known after its exit: Kata's EOF again, not NotFound.
  auto again = client_->ReadStdout("c1", "c1", 10);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, "");

  ASSERT_OK(client_->CreateContainer(Container("c2", {"/bin/busybox", "sleep", "1000"})));
  ASSERT_OK(client_->StartContainer("c2"));
  ASSERT_OK(client_->SignalProcess("c2", "", SIGTERM));
  code = client_->WaitProcess("c2", "", std::chrono::seconds(30));
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 128 + SIGKILL);

  ASSERT_OK(client_->CreateContainer(Container(
      "c3",
      {"/bin/busybox", "sh", "-c", "trap 'exit 7' TERM; echo ready; while :; do sleep 1; done"})));
  ASSERT_OK(client_->StartContainer("c3"));
  auto ready = client_->ReadStdout("c3", "", 100, std::chrono::seconds(30));
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_EQ(*ready, "ready\n");
  ASSERT_OK(client_->SignalProcess("c3", "c3", SIGTERM));
  code = client_->WaitProcess("c3", "", std::chrono::seconds(30));
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 7);

  ExecProcessRequest bad;
  bad.process = {"c3", "e1"};
  bad.spec.args = {"/bin/busybox", "true"};
  EXPECT_EQ(client_->ExecProcess(bad).code(), Code::kFailedPrecondition);  // init exited
  bad.process = {"nope", "e1"};
  EXPECT_EQ(client_->ExecProcess(bad).code(), Code::kNotFound);
  bad.process = {"c3", "../x"};
  EXPECT_EQ(client_->ExecProcess(bad).code(), Code::kInvalidArgument);
  ASSERT_OK(client_->DestroySandbox());
}

TEST_F(KataPodTest, GetOomEventBlocksUntilTheSandboxEnds) {
  // Kata's runtime keeps one GetOOMEvent call open for the pod's life; it
  // must neither fail at once nor keep the agent from exiting.
  ASSERT_OK(client_->CreateSandbox({}, "pod3"));
  // StartCall returns once the frame is written, and the agent reads one
  // connection's frames in order: the GetOOMEvent is in flight before the
  // destroy, whatever the scheduler does.
  // Shared with the callback, which may outlive this test body if it fails.
  struct Reply {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<std::string>> result;
  };
  auto reply = std::make_shared<Reply>();
  auto id = client_->StartCall(kAgentService, "GetOOMEvent", "", std::nullopt,
                               [reply](Result<std::string> r) {
                                 std::lock_guard<std::mutex> lock(reply->mu);
                                 reply->result = std::move(r);
                                 reply->cv.notify_all();
                               });
  ASSERT_OK(id.status());
  auto answered = [&](milliseconds within) {
    std::unique_lock<std::mutex> lock(reply->mu);
    return reply->cv.wait_for(lock, within, [&] { return reply->result.has_value(); });
  };
  EXPECT_FALSE(answered(milliseconds(200))) << "answered while the sandbox lives";
  ASSERT_OK(client_->DestroySandbox());
  ASSERT_TRUE(answered(kExitBound));
  const Result<std::string>& oom = *reply->result;
  EXPECT_EQ(oom.status().code(), Code::kUnavailable) << oom.status().ToString();
  auto exit = env()->Wait(agent_, kExitBound);
  ASSERT_TRUE(exit.ok()) << exit.status().ToString();
  agent_exited_ = true;
  EXPECT_EQ(exit->code, 0);
}

}  // namespace
}  // namespace vmshare::agent
