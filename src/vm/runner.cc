#include "vm/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/client.h"
#include "share/sharer.h"
#include "vm/accel.h"
#include "vm/guest.h"
#include "vm/guest_image.h"

namespace vmshare::vm {
namespace {

using std::chrono::milliseconds;

constexpr uint32_t kReadChunk = 64 * 1024;
constexpr milliseconds kShutdownDeadline{10000};
constexpr uint32_t kRemoveTimeoutSeconds = 10;

// Ends a run early: a signal or the timeout. Watches from its own thread and
// kills the guest, which makes whatever the run is blocked on fail.
class Stopper {
 public:
  Stopper(sys::Env* env, const sys::Fd* signal_fd, std::chrono::seconds timeout)
      : env_(env), signal_fd_(signal_fd) {
    if (timeout.count() > 0) deadline_ = env->NowNanos() + timeout.count() * 1'000'000'000;
    if (signal_fd_ != nullptr || deadline_ != 0) thread_ = std::thread([this] { Watch(); });
  }
  ~Stopper() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // The guest to interrupt (nullptr to forget it before it is destroyed).
  void SetGuest(Guest* g) {
    std::lock_guard<std::mutex> lock(mu_);
    guest_ = g;
    if (guest_ != nullptr && !reason_.ok()) guest_->Interrupt();
  }
  // Non-OK once the run must stop.
  Status reason() {
    std::lock_guard<std::mutex> lock(mu_);
    return reason_;
  }

 private:
  void Stop(Status why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (reason_.ok()) reason_ = std::move(why);
    if (guest_ != nullptr) guest_->Interrupt();
  }
  void Watch() {
    while (!done_) {
      if (deadline_ != 0 && env_->NowNanos() >= deadline_) {
        Stop(DeadlineExceededError("run: timed out"));
        return;
      }
      if (signal_fd_ == nullptr) {
        env_->SleepFor(milliseconds(100));
        continue;
      }
      Result<short> ev = env_->PollOne(*signal_fd_, POLLIN, milliseconds(100));
      if (!ev.ok() || *ev == 0) continue;
      Result<int> sig = env_->ReadSignal(*signal_fd_);
      if (sig.ok() && *sig > 0) {
        const char* name = sigabbrev_np(*sig);
        Stop(UnavailableError(std::string("run: interrupted by SIG") + (name ? name : "?")));
      }
    }
  }

  sys::Env* env_;
  const sys::Fd* signal_fd_;
  int64_t deadline_ = 0;
  std::atomic<bool> done_{false};
  std::mutex mu_;
  Guest* guest_ = nullptr;  // GUARDED_BY(mu_)
  Status reason_;           // GUARDED_BY(mu_)
  std::thread thread_;
};

bool HasOption(const std::vector<std::string>& options, std::string_view want) {
  return std::find(options.begin(), options.end(), want) != options.end();
}

// The guest-side spec mount for a host mount the sharer placed at guest_path.
agent::SpecMount GuestBind(const Mount& m, const std::string& guest_path) {
  agent::SpecMount s{guest_path, m.destination, "bind", {}};
  for (const std::string& o : m.options)
    if (o != "rw" && o != "ro") s.options.push_back(o);
  if (!HasOption(s.options, "bind") && !HasOption(s.options, "rbind")) s.options.push_back("rbind");
  s.options.push_back(m.read_only || HasOption(m.options, "ro") ? "ro" : "rw");
  return s;
}

Status StopIfAsked(Stopper& stopper) { return stopper.reason(); }

}  // namespace

std::string NewRunSandboxId(sys::Env* env) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "run-%d-%llx", static_cast<int>(env->GetPid()),
                static_cast<unsigned long long>(env->NowNanos() & 0xffffffffffULL));
  return buf;
}

Result<RunOutcome> RunContainer(sys::Env* env, const RunRequest& req) {
  RunOutcome out;
  RunTimings& t = out.timings;
  const int64_t t0 = env->NowNanos();
  int64_t mark = t0;
  auto lap = [&](int64_t* into) {
    const int64_t now = env->NowNanos();
    *into = now - mark;
    mark = now;
  };
  auto progress = [&](std::string_view what) {
    if (req.on_progress) req.on_progress(what);
  };
  if (req.args.empty()) return InvalidArgumentError("run: the process has no args");

  Stopper stopper(env, req.signal_fd, req.timeout);
  const std::string sid = req.sandbox_id.empty() ? NewRunSandboxId(env) : req.sandbox_id;
  const std::string cid = sid;

  // The guest exists only once booted; the sharer asks for its agent when it
  // copies (shared_fs none, watched volumes) and from the volume watcher.
  std::unique_ptr<Guest> guest;
  std::atomic<bool> booted{false};
  share::SharerConfig sc;
  sc.env = env;
  sc.root = req.root;
  sc.sandbox_id = sid;
  sc.kubelet_root = req.kubelet_root;
  sc.agent = [&guest, &booted]() -> agent::AgentClient* { return booted ? &guest->agent() : nullptr; };
  // Copies (shared_fs none) report every few MiB.
  sc.copy_progress = [&progress](const std::string& path, uint64_t bytes) {
    progress("copied " + std::to_string(bytes >> 20) + " MiB of " + path);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<share::FilesystemSharer> sharer, share::NewSharer(req.shared_fs, sc));

  // Everything below ends in the teardown at the bottom; `failure` is the
  // first error, and later steps are skipped once it is set.
  Status failure;
  auto step = [&](Status s) {
    if (failure.ok() && !s.ok()) failure = std::move(s);
    if (failure.ok()) failure = StopIfAsked(stopper);
    return failure.ok();
  };

  progress("preparing sandbox " + sid);
  step(sharer->Prepare());
  lap(&t.prepare);

  // shared_fs none: the launcher always starts virtiofsd, so it gets an empty
  // directory of its own, which the guest never mounts.
  const bool copy_mode = req.shared_fs == "none";
  const std::string empty_export = req.root + "/vm/" + sid + ".no-share";
  if (failure.ok()) {
    Result<GuestImage> image = FindGuestImage(env, req.guest_dir);
    AccelProbe probe;
    if (image.ok()) probe.kernel = image->kernel;
    probe.cache_file = req.root + "/kvm-probe";
    Result<std::string> accel =
        image.ok() ? ResolveAccel(env, req.accel, probe) : Result<std::string>(image.status());
    if (step(accel.status())) {
      t.accel = *accel;
      // The run dir's parent; shared by runs, so it stays.
      Status made = env->MkdirAt(sys::Cwd(), req.root + "/vm", 0700);
      if (!made.ok() && made.err() != EEXIST) step(made.WithContext("create vm dir"));
      GuestConfig gc;
      gc.launch.run_dir = req.root + "/vm/" + sid;
      gc.launch.shared_dir = req.root + "/sandboxes/" + sid + "/shared";
      if (copy_mode) {
        gc.launch.shared_dir = empty_export;
        Status empty = env->MkdirAt(sys::Cwd(), empty_export, 0700);
        if (!empty.ok() && empty.err() != EEXIST) step(empty.WithContext("create vm dir"));
      }
      gc.launch.image = *image;
      gc.launch.accel = *accel;
      gc.launch.memory_mb = req.memory_mb;
      gc.launch.cpus = req.cpus;
      gc.launch.console_log = req.console_log;
      gc.launch.on_process = req.on_process;
      gc.boot_timeout = req.boot_timeout;
      guest = std::make_unique<Guest>(env, gc);
      stopper.SetGuest(guest.get());
    }
  }
  lap(&t.image);

  if (failure.ok()) {
    progress("booting guest (" + t.accel + ")");
    if (step(guest->Boot())) {
      Storage share;
      share.driver = "virtio-fs";
      share.source = kShareTag;
      share.fstype = "virtiofs";
      share.mount_point = kGuestSharedDir;
      std::vector<Storage> storages;
      if (!copy_mode) storages.push_back(share);
      booted = step(guest->agent().CreateSandbox(storages, sid, "vmshare"));
    }
  }
  lap(&t.boot);

  // Sharing.
  Container container;
  container.id = cid;
  container.state.rootfs.source = req.rootfs;
  container.state.rootfs.type = "bind";
  container.state.rootfs.read_only = req.rootfs_readonly;
  container.state.mounts = req.host_mounts;
  bool rootfs_shared = false;
  std::vector<size_t> shared_mounts;  // indexes into container.state.mounts
  agent::CreateContainerRequest create;
  create.container_id = cid;
  if (failure.ok()) {
    progress("sharing rootfs and " + std::to_string(req.host_mounts.size()) + " mounts");
    Result<SharedFile> root = sharer->ShareRootFilesystem(container);
    if (step(root.status())) {
      rootfs_shared = true;
      create.spec.root_path = root->guest_path;
      for (const Storage& s : root->container_storages) create.storages.push_back(s);
    }
    for (size_t i = 0; failure.ok() && i < container.state.mounts.size(); ++i) {
      Mount& m = container.state.mounts[i];
      if (HasOption(m.options, "ro")) m.read_only = true;
      Result<std::optional<SharedFile>> sf = sharer->ShareFile(container, m);
      if (!step(sf.status())) break;
      shared_mounts.push_back(i);
      if (!sf->has_value()) continue;
      create.spec.mounts.push_back(GuestBind(m, (*sf)->guest_path));
      for (const Storage& s : (*sf)->container_storages) create.storages.push_back(s);
      for (const Storage& s : (*sf)->volume_storages) create.storages.push_back(s);
    }
    for (const Mount& m : req.guest_mounts)
      create.spec.mounts.push_back({m.source, m.destination, m.type, m.options});
  }
  // Watched volumes (configmaps, secrets, ...) follow the host from now on.
  if (failure.ok()) step(sharer->StartFileEventWatcher());
  lap(&t.share);

  // Create and start.
  bool created = false;
  if (failure.ok()) {
    create.spec.args = req.args;
    create.spec.env = req.env;
    create.spec.cwd = req.cwd;
    create.spec.uid = req.uid;
    create.spec.gid = req.gid;
    create.spec.root_readonly = req.rootfs_readonly;
    progress("running " + req.args[0]);
    created = step(guest->agent().CreateContainer(create));
    if (created) step(guest->agent().StartContainer(cid));
    // The agent gives the process a stdin pipe, as Kata's does; `run` has
    // no input for it, so it reads EOF.
    if (created && failure.ok()) step(guest->agent().CloseStdin(cid, ""));
  }
  lap(&t.create);

  // Stream the output and wait for the exit.
  if (failure.ok()) {
    const int64_t started = env->NowNanos();
    std::atomic<int64_t> first_output{0};
    auto reader = [&](int stream) {
      agent::AgentClient& a = guest->agent();
      for (;;) {
        Result<std::string> chunk =
            stream == 1 ? a.ReadStdout(cid, "", kReadChunk) : a.ReadStderr(cid, "", kReadChunk);
        // "" is the end of the stream (the client maps Kata's EOF reply to it).
        if (!chunk.ok() || chunk->empty()) return;
        int64_t zero = 0;
        first_output.compare_exchange_strong(zero, env->NowNanos());
        if (req.on_output) req.on_output(stream, *chunk);
      }
    };
    std::thread out_reader(reader, 1), err_reader(reader, 2);
    Result<int32_t> code = guest->agent().WaitProcess(cid, "");
    out_reader.join();
    err_reader.join();
    const int64_t now = env->NowNanos();
    t.run = now - started;
    const int64_t first = first_output.load();
    t.exec = first != 0 ? first - started : t.run;
    t.to_first_output = (first != 0 ? first : now) - t0;
    if (step(code.status())) out.exit_code = *code;
    mark = now;
  }

  // A guest that died under the run (kernel panic, poweroff) shows up as a
  // broken agent channel; say so, with the console's last words, while the
  // console log still exists.
  // QEMU closes the channel as it exits, so give it a moment to finish.
  if (!failure.ok() && failure.code() == Code::kUnavailable && guest && stopper.reason().ok() &&
      guest->launcher().WaitQemu(milliseconds(2000)).ok()) {
    std::string msg = "the guest died during the run (kernel panic or poweroff): " + failure.message();
    std::string console = guest->launcher().ConsoleTail(16384);
    // The panic line says why; the stack trace after it rarely helps a user.
    if (size_t panic = console.rfind("Kernel panic"); panic != std::string::npos)
      console = console.substr(panic, 600);
    else if (console.size() > 1000)
      console = console.substr(console.size() - 1000);
    if (!console.empty()) msg += "\n--- guest console ---\n" + console;
    failure = Status(failure.code(), msg, failure.err());
  }

  // Teardown: every step runs; its errors count only if the run succeeded.
  progress("tearing down");
  Status teardown;
  auto keep = [&](Status s) {
    if (teardown.ok() && !s.ok()) teardown = std::move(s);
  };
  sharer->StopFileEventWatcher();
  const bool guest_alive = guest && stopper.reason().ok() && guest->launcher().QemuRunning();
  // Without a live guest there is nothing to remove copies from.
  if (!guest_alive) booted = false;
  // After a failure the agent may be stuck: DestroySandbox (bounded) and the
  // poweroff take the container down with everything else.
  if (created && guest_alive && failure.ok())
    keep(guest->agent().RemoveContainer(cid, kRemoveTimeoutSeconds));
  for (auto it = shared_mounts.rbegin(); it != shared_mounts.rend(); ++it)
    keep(sharer->UnshareFile(container, container.state.mounts[*it]));
  if (rootfs_shared) keep(sharer->UnshareRootFilesystem(container));
  booted = false;
  if (guest) {
    keep(guest->Shutdown(kShutdownDeadline));
    stopper.SetGuest(nullptr);
    guest.reset();
  }
  // Cleanup is idempotent and also undoes a half-done Prepare.
  keep(sharer->Cleanup());
  if (copy_mode) env->UnlinkAt(sys::Cwd(), empty_export, AT_REMOVEDIR).IgnoreError();
  lap(&t.teardown);

  if (Status why = stopper.reason(); !why.ok()) return why;
  if (!failure.ok()) return failure;
  if (!teardown.ok()) return teardown.WithContext("run: tear down");
  return out;
}

}  // namespace vmshare::vm
