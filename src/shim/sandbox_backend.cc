#include "shim/sandbox_backend.h"

#include <mutex>

#include "agent/client.h"
#include "core/ids.h"
#include "sandbox/collect.h"
#include "sandbox/guest.h"
#include "sandbox/sandbox.h"
#include "sandbox/spec.h"

namespace vmshare::shim {
namespace {

// How long a guest gets to power off before QEMU is killed.
constexpr std::chrono::milliseconds kShutdownDeadline{10000};
// RemoveContainer's wait for the container's processes to die in the guest.
constexpr uint32_t kRemoveTimeoutSeconds = 10;

// Like `vmshare run`: the spec's guest part as the reader made it, then the
// process and the mounts.
sandbox::ContainerRequest RequestFor(const ContainerSpecIn& c) {
  sandbox::ContainerRequest r;
  r.id = c.id;
  r.bundle_path = c.bundle;
  r.rootfs.source = c.rootfs;
  r.rootfs.destination = "/";
  r.rootfs.type = "bind";
  r.rootfs.read_only = c.spec.root_readonly;
  for (const Mount& m : c.spec.mounts) {
    const bool host = IsHostBind(m);
    Mount mount = m;
    mount.read_only = host && m.read_only;
    r.mounts.push_back({std::move(mount), host});
  }
  r.spec = c.spec.guest;
  const SpecProcess& p = c.spec.process;
  r.spec.args = p.args;
  r.spec.env = p.env;
  r.spec.cwd = p.cwd;
  r.spec.uid = p.uid;
  r.spec.gid = p.gid;
  r.spec.additional_gids = p.additional_gids;
  r.spec.root_readonly = c.spec.root_readonly;
  r.spec.terminal = p.terminal;
  return r;
}

class Backend : public SandboxBackend {
 public:
  Backend(sys::Env* env, const ShimConfig& config, MainLoop* loop, ShimLog* log)
      : env_(env), config_(config), loop_(loop), log_(log) {}

  ~Backend() override {
    // Destruction kills what still runs; it must happen where the guest's
    // processes were started.
    loop_
        ->RunOnMain([this] {
          guest_.reset();
          sandbox_.reset();
          return Status::Ok();
        })
        .IgnoreError();
  }

  Status Boot(const std::string& sid, const OciSpec& first) override {
    return loop_->RunOnMain([&] { return BootOnMain(sid, first); });
  }

  Status CreateContainer(const ContainerSpecIn& c) override {
    std::lock_guard<std::mutex> phase(phase_mu_);
    RETURN_IF_ERROR(Booted());
    RETURN_IF_ERROR(guest_->CreateContainer(RequestFor(c)).status());
    // Watched volumes (configmaps, secrets) of this container follow the
    // host from now on; idempotent.
    Status w = sandbox_->StartWatcher();
    if (!w.ok()) log_->Error("start volume watcher: " + w.message());
    return Status::Ok();
  }

  Status StartContainer(const std::string& cid) override {
    std::lock_guard<std::mutex> phase(phase_mu_);
    RETURN_IF_ERROR(Booted());
    return guest_->StartContainer(cid);
  }

  Status ExecProcess(const std::string& cid, const std::string& exec_id,
                     const SpecProcess& p) override {
    agent::ExecProcessRequest r;
    r.process = agent::ProcessRef{cid, exec_id};
    r.spec.args = p.args;
    r.spec.env = p.env;
    r.spec.cwd = p.cwd;
    r.spec.uid = p.uid;
    r.spec.gid = p.gid;
    r.spec.additional_gids = p.additional_gids;
    r.spec.terminal = p.terminal;
    ASSIGN_OR_RETURN(agent::AgentClient * a, Agent());
    return a->ExecProcess(r);
  }

  Result<int32_t> WaitProcess(const std::string& cid, const std::string& exec_id) override {
    ASSIGN_OR_RETURN(agent::AgentClient * a, Agent());
    return a->WaitProcess(cid, exec_id);
  }

  Status SignalProcess(const std::string& cid, const std::string& exec_id, int sig) override {
    ASSIGN_OR_RETURN(agent::AgentClient * a, Agent());
    return a->SignalProcess(cid, exec_id, static_cast<uint32_t>(sig));
  }

  Result<std::string> ReadOutput(const std::string& cid, const std::string& exec_id, int stream,
                                 uint32_t max) override {
    ASSIGN_OR_RETURN(agent::AgentClient * a, Agent());
    return stream == 1 ? a->ReadStdout(cid, exec_id, max) : a->ReadStderr(cid, exec_id, max);
  }

  Status WriteStdin(const std::string& cid, const std::string& exec_id,
                    std::string_view data) override {
    ASSIGN_OR_RETURN(agent::AgentClient * a, Agent());
    std::string rest(data);
    while (!rest.empty()) {
      ASSIGN_OR_RETURN(uint32_t n, a->WriteStdin(cid, exec_id, rest));
      if (n == 0)
        return UnavailableError("write stdin of " + Quote(cid) + ": the process closed it");
      rest.erase(0, std::min<size_t>(n, rest.size()));
    }
    return Status::Ok();
  }

  Status CloseStdin(const std::string& cid, const std::string& exec_id) override {
    ASSIGN_OR_RETURN(agent::AgentClient * a, Agent());
    return a->CloseStdin(cid, exec_id);
  }

  Status ResizeTerminal(const std::string& cid, const std::string& exec_id, uint32_t width,
                        uint32_t height) override {
    ASSIGN_OR_RETURN(agent::AgentClient * a, Agent());
    return a->TtyWinResize(cid, exec_id, /*rows=*/height, /*columns=*/width);
  }

  Status RemoveContainer(const std::string& cid) override {
    std::lock_guard<std::mutex> phase(phase_mu_);
    RETURN_IF_ERROR(Booted());
    return guest_->RemoveContainer(cid, /*ask_guest=*/guest_->Alive());
  }

  Status Shutdown() override {
    return loop_->RunOnMain([this] { return ShutdownOnMain(); });
  }

  // sandbox::Guest does not name QEMU's pid; the task service reports the
  // shim's own instead.
  uint32_t pid() override { return 0; }

 private:
  Status Booted() {
    std::lock_guard<std::mutex> lock(mu_);
    if (guest_ == nullptr || down_) return UnavailableError("sandbox guest is not running");
    return Status::Ok();
  }

  // The agent client lives as long as the guest object (until the
  // backend's destruction); after Shutdown its calls fail kUnavailable.
  Result<agent::AgentClient*> Agent() {
    RETURN_IF_ERROR(Booted());
    return &guest_->agent();
  }

  Status BootOnMain(const std::string& sid, const OciSpec& first) {
    sandbox::SandboxOptions so;
    so.env = env_;
    so.root = config_.root;
    so.sandbox_id = sid;
    so.kubelet_root = config_.kubelet_root;
    SandboxState settings;
    settings.state = "running";
    settings.shared_fs = config_.shared_fs;
    so.settings = settings;
    so.watch_report = [this](const std::string& volume, const Status& s) {
      if (!s.ok()) log_->Error("watch " + volume + ": " + s.message());
    };
    ASSIGN_OR_RETURN(std::unique_ptr<sandbox::Sandbox> sb, sandbox::Sandbox::Open(std::move(so)));
    // Held for the sandbox's life: gc leaves a sandbox alone while its
    // lock is held, and takes it over once the shim is gone.
    RETURN_IF_ERROR(sb->Hold());
    RETURN_IF_ERROR(sb->Prepare());
    sandbox::GuestOptions go;
    go.accel = config_.accel;
    go.guest_dir = config_.guest_dir;
    go.memory_mb = config_.memory_mb;
    if (!first.guest.hostname.empty()) go.hostname = first.guest.hostname;
    Result<std::unique_ptr<sandbox::Guest>> g = sandbox::Guest::New(*sb, go);
    Status booted = g.ok() ? (*g)->Boot() : g.status();
    if (!booted.ok()) {
      g = Result<std::unique_ptr<sandbox::Guest>>(booted);
      sb->Cleanup(/*force=*/true).IgnoreError();
      return booted;
    }
    std::lock_guard<std::mutex> lock(mu_);
    sandbox_ = std::move(sb);
    guest_ = std::move(g).value();
    log_->Info("sandbox " + Quote(sid) + " booted (accel " + guest_->accel() + ")");
    return Status::Ok();
  }

  Status ShutdownOnMain() {
    std::lock_guard<std::mutex> phase(phase_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (guest_ == nullptr || down_) return Status::Ok();
      down_ = true;
    }
    // Calls blocked on the agent (waits, reads) fail once the guest is gone.
    Status first;
    for (const std::string& cid : guest_->Containers()) {
      Status s = guest_->RemoveContainer(cid, /*ask_guest=*/guest_->Alive());
      if (first.ok()) first = s;
    }
    Status s = guest_->Shutdown(kShutdownDeadline);
    if (first.ok()) first = s;
    s = sandbox_->Cleanup(/*force=*/true);
    if (first.ok()) first = s;
    sandbox_->Release();
    return first;
  }

  sys::Env* env_;
  ShimConfig config_;
  MainLoop* loop_;
  ShimLog* log_;
  // Serializes the Sandbox/Guest phase calls (one thread at a time, as
  // they require); held across their guest round trips, but never taken by
  // process calls (waits, reads, signals), which go to the thread-safe agent.
  std::mutex phase_mu_;
  std::mutex mu_;  // guards the fields below; never held across a guest call
  std::unique_ptr<sandbox::Sandbox> sandbox_;  // set once by Boot
  std::unique_ptr<sandbox::Guest> guest_;      // set once by Boot
  bool down_ = false;
};

}  // namespace

std::unique_ptr<SandboxBackend> MakeSandboxBackend(sys::Env* env, const ShimConfig& config,
                                                   MainLoop* loop, ShimLog* log) {
  return std::make_unique<Backend>(env, config, loop, log);
}

Status CollectSandbox(sys::Env* env, const ShimConfig& config, const std::string& sandbox_id) {
  sandbox::GcReport r = sandbox::CollectSandbox(env, config.root, sandbox_id, /*dry_run=*/false);
  // Skipped means a live process (a shim that is not dead after all) holds
  // the sandbox: it is not ours to collect, and not an error of this delete.
  return r.status;
}

}  // namespace vmshare::shim
