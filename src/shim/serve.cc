#include "shim/serve.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "agent/ttrpc_server.h"
#include "core/ids.h"
#include "shim/address.h"
#include "shim/config.h"
#include "shim/events.h"
#include "shim/main_loop.h"
#include "shim/oci_spec.h"
#include "shim/rootfs_mount.h"
#include "shim/shim_log.h"
#include "shim/task_rpc.h"
#include "shim/task_service.h"

namespace vmshare::shim {
namespace {

void PrintError(const std::string& what, const Status& s) {
  std::fprintf(stderr, "containerd-shim-vmshare-v2 %s: %s\n", what.c_str(), s.message().c_str());
}

std::string EnvVar(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

Result<std::string> WorkingDir(sys::Env* env) {
  return env->ReadlinkAt(sys::Cwd(), "/proc/self/cwd");
}

Status MakeSocketDir(sys::Env* env, const std::string& dir) {
  // containerd made /run/containerd; s/ is shared with its own shims.
  for (const std::string& d : {dir.substr(0, dir.rfind('/')), dir}) {
    Status s = env->MkdirAt(sys::Cwd(), d, 0711);
    if (!s.ok() && s.code() != Code::kAlreadyExists) return s;
  }
  return Status::Ok();
}

// The sandbox the container in `bundle` belongs to, and whether it starts it.
// A bundle whose config cannot be read is taken as a sandbox of its own.
std::pair<std::string, bool> SandboxOf(sys::Env* env, const std::string& bundle,
                                       const std::string& id) {
  Result<OciSpec> spec = ReadSpec(env, bundle);
  if (!spec.ok()) return {id, true};
  return {SandboxIdOf(*spec, id), StartsSandbox(*spec, id)};
}

Status Start(sys::Env* env, const ShimArgs& a, const std::string& self, std::string* address) {
  ASSIGN_OR_RETURN(std::string bundle, WorkingDir(env));
  ASSIGN_OR_RETURN(OciSpec spec, ReadSpec(env, bundle));
  const std::string sid = SandboxIdOf(spec, a.id);
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  const std::string socket = ShimSocketPath(kDefaultSocketDir, a.ns, sid);
  *address = AddressOf(socket);
  if (!StartsSandbox(spec, a.id)) {
    if (!SocketAnswers(env, socket))
      return FailedPreconditionError("start " + Quote(a.id) + ": no shim serves its sandbox " +
                                     Quote(sid));
    return WriteAddressFile(env, bundle, *address);
  }
  if (SocketAnswers(env, socket))
    return AlreadyExistsError("start " + Quote(a.id) + ": a shim already serves sandbox " +
                              Quote(sid));
  RETURN_IF_ERROR(MakeSocketDir(env, kDefaultSocketDir));
  ASSIGN_OR_RETURN(sys::Fd listener, env->UnixListen(socket));
  sys::ChildOptions o;
  o.argv = {self,
            "-namespace",
            a.ns,
            "-address",
            a.address,
            "-publish-binary",
            a.publish_binary,
            "-id",
            a.id,
            "-socket-fd",
            std::to_string(listener.get())};
  if (a.debug) o.argv.push_back("-debug");
  o.argv.push_back("serve");
  // containerd reads start's stdout and stderr to their end: the daemon
  // must not hold them.
  o.stdout_path = "/dev/null";
  o.stderr_path = "/dev/null";
  o.new_session = true;
  o.keep_fds = {listener.get()};
  Result<sys::Child> child = env->Spawn(o);
  if (!child.ok()) {
    env->UnlinkAt(sys::Cwd(), socket, 0).IgnoreError();
    return child.status();
  }
  return WriteAddressFile(env, bundle, *address);
}

}  // namespace

int RunStart(sys::Env* env, const ShimArgs& a, const std::string& self) {
  std::string address;
  Status s = Start(env, a, self, &address);
  if (!s.ok()) {
    PrintError("start", s);
    return 1;
  }
  std::fputs(address.c_str(), stdout);
  std::fflush(stdout);
  return 0;
}

int RunDelete(sys::Env* env, const ShimArgs& a, const SandboxOps& ops) {
  std::string bundle = a.bundle;
  if (bundle.empty()) {
    Result<std::string> cwd = WorkingDir(env);
    if (cwd.ok()) bundle = *cwd;
  }
  Result<ShimConfig> config = LoadShimConfig(env, EnvVar(kConfigEnvVar));
  if (!config.ok()) {
    PrintError("delete", config.status());
    return 1;
  }
  auto [sid, starts] = SandboxOf(env, bundle, a.id);
  Status first;
  if (starts && ValidateId("sandbox", sid).ok()) {
    first = ops.collect(*config, sid);
    const std::string socket = ShimSocketPath(kDefaultSocketDir, a.ns, sid);
    if (!SocketAnswers(env, socket)) env->UnlinkAt(sys::Cwd(), socket, 0).IgnoreError();
  }
  if (!bundle.empty()) {
    Status s = UnmountRootfs(env, bundle + "/rootfs");
    if (first.ok()) first = s;
  }
  if (!first.ok()) {
    PrintError("delete", first);
    return 1;
  }
  // As containerd's own shims report a task whose shim died: killed.
  const std::string out = EncodeDeleteResponse(ExitInfo{0, 128 + SIGKILL, WallClockNanos()});
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return 0;
}

int RunServe(sys::Env* env, const ShimArgs& a, const SandboxOps& ops) {
  env->IgnoreSignal(SIGPIPE).IgnoreError();
  // Before any thread starts, so that every thread has them blocked.
  Result<sys::Fd> signals = env->SignalFd({SIGTERM, SIGINT});
  const std::string bundle = WorkingDir(env).ok() ? *WorkingDir(env) : std::string(".");
  auto log = std::make_unique<ShimLog>(env, bundle, a.id, a.debug);
  Result<ShimConfig> config = LoadShimConfig(env, EnvVar(kConfigEnvVar));
  if (!config.ok()) {
    log->Error(config.status().message());
    return 1;
  }
  if (config->debug) log = std::make_unique<ShimLog>(env, bundle, a.id, true);
  sys::Fd listener(a.socket_fd);
  MainLoop loop;
  EventPublisher events(env, EnvVar("TTRPC_ADDRESS"), a.ns,
                        [&log](const std::string& line) { log->Error(line); });
  TaskServiceOptions o;
  o.env = env;
  o.events = &events;
  o.shim_pid = static_cast<uint32_t>(env->GetPid());
  o.log = [&log](const std::string& line) { log->Error(line); };
  o.notice = [&log](const std::string& line) { log->Warning(line); };
  o.make_backend = [&ops, &config, &loop, &log] {
    return ops.make_backend(*config, &loop, log.get());
  };
  o.mount_rootfs = [env](const std::vector<RootfsMount>& m, const std::string& t) {
    return MountRootfs(env, m, t);
  };
  o.unmount_rootfs = [env](const std::string& t) { return UnmountRootfs(env, t); };
  TaskService svc(std::move(o));
  agent::TtrpcServer server(env);
  RegisterTaskService(&server, &svc, [&loop] { loop.Quit(); });

  // One thread per connection: containerd connects once per container of
  // the sandbox, and again after it restarts.
  std::thread([env, &listener, &server, &log] {
    for (;;) {
      Result<sys::Fd> conn = env->Accept(listener);
      if (!conn.ok()) {
        log->Error("accept: " + conn.status().message());
        env->SleepFor(std::chrono::milliseconds(100));
        continue;
      }
      auto fd = std::make_shared<sys::Fd>(std::move(conn).value());
      std::thread([fd, &server] { server.Serve(*fd).IgnoreError(); }).detach();
    }
  }).detach();
  if (signals.ok()) {
    std::thread([env, &signals, &svc, &loop, &log] {
      while (env->PollOne(*signals, POLLIN, std::chrono::milliseconds(-1)).ok()) {
        Result<int> sig = env->ReadSignal(*signals);
        if (!sig.ok() || *sig == 0) continue;
        log->Info("signal " + std::to_string(*sig) + ": shutting the sandbox down");
        svc.Shutdown(ShutdownTask{"", /*now=*/true}).status().IgnoreError();
        loop.Quit();
        return;
      }
    }).detach();
  }
  log->Info("serving sandbox of task " + a.id);
  loop.Run();
  events.Flush(std::chrono::seconds(5));
  // The daemon serves the sandbox its first container started, named by it.
  env->UnlinkAt(sys::Cwd(), ShimSocketPath(kDefaultSocketDir, a.ns, a.id), 0).IgnoreError();
  log->Info("shim exits");
  // Connection and accept threads are still blocked in reads: leave without
  // running destructors under them.
  std::_Exit(0);
}

int ShimMain(int argc, char** argv, const SandboxOps& ops) {
  std::vector<std::string> args(argv, argv + argc);
  Result<ShimArgs> a = ParseShimArgs(args);
  if (!a.ok()) {
    std::fprintf(stderr, "containerd-shim-vmshare-v2: %s\n", a.status().message().c_str());
    return 2;
  }
  sys::Env* env = sys::Env::Default();
  if (a->action == "version") {
    std::printf("containerd-shim-vmshare-v2 (vmshare)\n");
    return 0;
  }
  if (a->action == "start") {
    Result<std::string> self = env->ReadlinkAt(sys::Cwd(), "/proc/self/exe");
    if (!self.ok()) {
      PrintError("start", self.status());
      return 1;
    }
    return RunStart(env, *a, *self);
  }
  if (a->action == "delete") return RunDelete(env, *a, ops);
  return RunServe(env, *a, ops);
}

}  // namespace vmshare::shim
