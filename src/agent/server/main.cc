// vmshare-agent: the guest agent. See `vmshare-agent --help`.
//
// Exit status: 0 after DestroySandbox (or, as pid 1, the VM powers off), 2
// for bad flags, 1 when the channel cannot be set up.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "agent/server/agent_service.h"
#include "agent/server/init.h"
#include "agent/server/vmshare_service.h"
#include "agent/ttrpc_server.h"
#include "sys/env.h"
#include "sys/heap.h"

namespace vmshare::agent {
namespace {

// How long pid 1 waits for the host to hang up after DestroySandbox.
constexpr std::chrono::milliseconds kHangupWait{200};

constexpr char kUsage[] =
    "usage: vmshare-agent [--socket PATH | --device PATH | --channel NAME]\n"
    "                     [--shared-root DIR] [--run-dir DIR] [--modules FILE]\n"
    "                     [--cgroup-root DIR] [--init | --no-init]\n"
    "  --socket PATH       listen on a unix socket (tests) instead of a virtio-serial port\n"
    "  --device PATH       serve on this character device\n"
    "  --channel NAME      virtio-serial port name to look up in /sys/class/virtio-ports\n"
    "                      (default agent.channel.0)\n"
    "  --shared-root DIR   where /run/kata-containers/shared/containers is on disk\n"
    "  --run-dir DIR       container bundles (default /run/vmshare-agent)\n"
    "  --cgroup-root DIR   cgroup v2 directory the containers' cgroups go under\n"
    "                      (default /sys/fs/cgroup as init, else none)\n"
    "  --modules FILE      kernel modules to load at start, one absolute .ko path\n"
    "                      [params] per line (default /etc/vmshare/modules)\n"
    "  --init / --no-init  act as init (mount /proc /sys /sys/fs/cgroup /dev /run,\n"
    "                      load modules);\n"
    "                      default: only when pid 1. Only pid 1 powers off at the end\n"
    "                      (sync + reboot(RB_POWER_OFF)); otherwise the agent exits 0.\n";

struct Flags {
  std::string socket;
  std::string device;
  std::string channel = "agent.channel.0";
  std::string modules = "/etc/vmshare/modules";
  AgentPaths paths;
  int init = -1;  // -1: auto
  std::optional<std::string> cgroup_root;
};

void Log(const std::string& msg) { std::fprintf(stderr, "vmshare-agent: %s\n", msg.c_str()); }

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--socket")
      ok = value(&f->socket);
    else if (a == "--device")
      ok = value(&f->device);
    else if (a == "--channel")
      ok = value(&f->channel);
    else if (a == "--shared-root")
      ok = value(&f->paths.shared_root);
    else if (a == "--run-dir")
      ok = value(&f->paths.run_dir);
    else if (a == "--modules")
      ok = value(&f->modules);
    else if (a == "--cgroup-root")
      ok = value(&f->cgroup_root.emplace());
    else if (a == "--init")
      f->init = 1;
    else if (a == "--no-init")
      f->init = 0;
    else
      ok = false;
    if (!ok) {
      std::fprintf(stderr, "vmshare-agent: bad argument %s\n%s", argv[i], kUsage);
      return false;
    }
  }
  return true;
}

Status ServeSocket(sys::Env* env, TtrpcServer* server, const std::string& path) {
  ASSIGN_OR_RETURN(sys::Fd listener, env->UnixListen(path));
  Log("listening on " + path);
  while (!server->stopped()) {
    ASSIGN_OR_RETURN(short ready, env->PollOne(listener, POLLIN, std::chrono::milliseconds(100)));
    if (!ready) continue;
    auto conn = env->Accept(listener);
    if (!conn.ok()) continue;
    Status why = server->Serve(*conn);
    if (!server->stopped()) Log("connection ended: " + why.ToString());
  }
  return Status::Ok();
}

// After DestroySandbox's reply: the host hangs up once it has read it
// (virtio-console reports POLLHUP when the host side closes), so the guest
// can power off then; a host that keeps the channel open gets `most`.
void AwaitHostHangup(sys::Env* env, const sys::Fd& fd, std::chrono::milliseconds most) {
  const int64_t deadline = env->NowNanos() + most.count() * 1'000'000;
  for (;;) {
    const int64_t left_ms = (deadline - env->NowNanos()) / 1'000'000;
    if (left_ms <= 0) return;
    auto ready = env->PollMany({&fd}, POLLIN, std::chrono::milliseconds(left_ms));
    if (!ready.ok() || ready->empty()) return;
    if ((*ready)[0] & (POLLHUP | POLLERR | POLLNVAL)) return;
    if ((*ready)[0] & POLLIN) {
      // Bytes after the reply (a late call) are dropped: the sandbox is gone.
      auto r = env->Read(fd, 64 << 10);
      if (!r.ok() || r->empty()) return;
    }
  }
}

Status ServeDevice(sys::Env* env, TtrpcServer* server, const std::string& path, bool await_hangup) {
  sys::Fd fd;
  // The node can trail its sysfs entry by a moment.
  for (int i = 0;; ++i) {
    auto opened = env->OpenAt(sys::Cwd(), path, O_RDWR | O_NOCTTY);
    if (opened.ok()) {
      fd = std::move(opened).value();
      break;
    }
    if (i == 100) return opened.status();
    env->SleepFor(std::chrono::milliseconds(50));
  }
  Log("serving on " + path);
  while (!server->stopped()) {
    // Returns when the host side is not connected (POLLHUP): try again.
    server->Serve(fd).IgnoreError();
    if (!server->stopped()) env->SleepFor(std::chrono::milliseconds(100));
  }
  if (await_hangup) {
    env->SyncAll();
    AwaitHostHangup(env, fd, kHangupWait);
  }
  return Status::Ok();
}

int Main(int argc, char** argv) {
  // CopyFile's 1 MiB chunks come from the heap rather than a fresh mmap each;
  // what stays mapped is bounded (the guest's memory also holds the copies).
  sys::TuneHeapForBulkCopies();
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  sys::Env* env = sys::Env::Default();
  const bool init = flags.init == 1 || (flags.init == -1 && env->GetPid() == 1);
  env->IgnoreSignal(SIGPIPE).IgnoreError();
  if (init) {
    if (Status s = MountEarlyFilesystems(env); !s.ok()) Log(s.ToString());
    if (Status s = LoadModules(env, flags.modules); !s.ok()) Log(s.ToString());
  }
  // Outside a guest (tests) the host's cgroups are not ours to use.
  flags.paths.cgroup_root = flags.cgroup_root.value_or(init ? "/sys/fs/cgroup" : "");
  AgentService service(env, flags.paths);
  TtrpcServer server(env);
  service.RegisterOn(&server);
  VmshareService vmshare_service(env, flags.paths.shared_root);
  vmshare_service.RegisterOn(&server);
  Status s;
  if (!flags.socket.empty()) {
    s = ServeSocket(env, &server, flags.socket);
  } else {
    std::string device = flags.device;
    if (device.empty()) {
      auto found = FindVirtioPort(env, flags.channel);
      if (found.ok()) device = *found;
      s = found.status();
    }
    if (s.ok()) s = ServeDevice(env, &server, device, init && env->GetPid() == 1);
  }
  if (!s.ok()) Log(s.ToString());
  if (init && env->GetPid() == 1) {
    // pid 1 must never exit (the kernel would panic): power the VM off,
    // once the host has DestroySandbox's reply (ServeDevice waited for it).
    Log(service.destroyed() ? "sandbox destroyed, powering off" : "powering off");
    env->SyncAll();
    Status off = env->PowerOff();
    Log(off.ToString());
    for (;;) env->SleepFor(std::chrono::seconds(60));
  }
  return s.ok() ? 0 : 1;
}

}  // namespace
}  // namespace vmshare::agent

int main(int argc, char** argv) { return vmshare::agent::Main(argc, argv); }
