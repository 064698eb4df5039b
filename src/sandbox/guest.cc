#include "sandbox/guest.h"

#include <spdlog/spdlog.h>

#include "core/ids.h"
#include "vm/accel.h"
#include "vm/guest_image.h"

namespace vmshare::sandbox {
namespace {

constexpr uint32_t kRemoveTimeoutSeconds = 10;

}  // namespace

Guest::Guest(Sandbox& sandbox, GuestOptions options)
    : sandbox_(sandbox), options_(std::move(options)) {}

Guest::~Guest() {
  // The watcher and the sharer reach the guest through its agent: detach
  // them before the agent goes.
  sandbox_.StopWatcher();
  sandbox_.SetAgent(nullptr);
  vm_.reset();
}

Result<std::unique_ptr<Guest>> Guest::New(Sandbox& sandbox, GuestOptions options) {
  sys::Env* env = sandbox.env();
  const SandboxLayout& layout = sandbox.layout();
  ASSIGN_OR_RETURN(vm::GuestImage image, vm::FindGuestImage(env, options.guest_dir));
  vm::AccelProbe probe;
  probe.kernel = image.kernel;
  probe.cache_file = layout.kvm_probe;
  ASSIGN_OR_RETURN(std::string accel, vm::ResolveAccel(env, options.accel, probe));
  // The run dirs' parent; shared by sandboxes, so it stays.
  Status made = env->MkdirAt(sys::Cwd(), layout.vm_root, 0700);
  if (!made.ok() && made.err() != EEXIST) return made.WithContext("create vm dir");

  std::unique_ptr<Guest> g(new Guest(sandbox, std::move(options)));
  g->accel_ = accel;
  vm::GuestConfig gc;
  gc.launch.run_dir = layout.run_dir;
  // Empty in copy mode: no virtiofsd, no shared-filesystem device.
  gc.launch.shared_dir = sandbox.HostExportDir();
  gc.launch.image = std::move(image);
  gc.launch.accel = accel;
  gc.launch.memory_mb = g->options_.memory_mb;
  gc.launch.cpus = g->options_.cpus;
  gc.launch.console_log = g->options_.console_log;
  gc.launch.on_process = [&sandbox](std::string_view role, pid_t pid) {
    return sandbox.RecordProcess(role, pid);
  };
  gc.boot_timeout = g->options_.boot_timeout;
  g->vm_ = std::make_unique<vm::Guest>(env, std::move(gc));
  return g;
}

Status Guest::Boot() {
  RETURN_IF_ERROR(vm_->Boot());
  Status s =
      vm_->agent().CreateSandbox(sandbox_.SandboxStorages(), sandbox_.id(), options_.hostname);
  if (!s.ok()) {
    vm_->launcher().Kill();
    return s;
  }
  sandbox_.SetAgent(&vm_->agent());
  booted_ = true;
  return Status::Ok();
}

Result<CreatedContainer> Guest::CreateContainer(const ContainerRequest& request) {
  RETURN_IF_ERROR(ValidateId("container", request.id));
  if (containers_.count(request.id))
    return AlreadyExistsError("create container " + Quote(request.id) +
                              ": already exists in sandbox " + Quote(sandbox_.id()));
  if (!booted_)
    return FailedPreconditionError("create container " + Quote(request.id) +
                                   ": the guest is not booted");
  sys::Env* env = sandbox_.env();
  const int64_t t0 = env->NowNanos();
  auto ms_since = [env](int64_t t) { return static_cast<double>(env->NowNanos() - t) / 1e6; };
  ASSIGN_OR_RETURN(SharedContainer shared, sandbox_.AddContainer(ContainerToShare(request)));
  spdlog::debug("container {}: shared the rootfs and {} mounts on the host in {:.1f} ms",
                request.id, shared.mounts.size(), ms_since(t0));
  auto undo = [&](Status why) -> Status {
    sandbox_.RemoveContainer(shared.container).IgnoreError();  // why is the error to report
    return why;
  };
  // Watched volumes (configmaps, secrets, ...) follow the host from now on.
  if (Status s = sandbox_.StartWatcher(); !s.ok()) return undo(s);
  CreatedContainer out;
  out.shared_at = sandbox_.env()->NowNanos();
  Result<agent::CreateContainerRequest> create =
      BuildCreateRequest(request, shared.rootfs, shared.mounts);
  if (!create.ok()) return undo(create.status());
  out.request = std::move(*create);
  const int64_t t1 = env->NowNanos();
  if (Status s = vm_->agent().CreateContainer(out.request); !s.ok()) return undo(s);
  spdlog::debug("container {}: CreateContainer in the guest took {:.1f} ms ({} mounts)", request.id,
                ms_since(t1), out.request.spec.mounts.size());
  containers_[request.id] = std::move(shared.container);
  return out;
}

Status Guest::StartContainer(const std::string& cid) {
  if (!containers_.count(cid))
    return NotFoundError("start container " + Quote(cid) + ": not created");
  return vm_->agent().StartContainer(cid);
}

Result<int32_t> Guest::WaitContainer(const std::string& cid, const std::string& exec_id) {
  if (!containers_.count(cid))
    return NotFoundError("wait for container " + Quote(cid) + ": not created");
  return vm_->agent().WaitProcess(cid, exec_id);
}

Status Guest::SignalContainer(const std::string& cid, const std::string& exec_id, int signal) {
  if (!containers_.count(cid))
    return NotFoundError("signal container " + Quote(cid) + ": not created");
  if (!booted_)
    return FailedPreconditionError("signal container " + Quote(cid) + ": the guest is not booted");
  return vm_->agent().SignalProcess(cid, exec_id, static_cast<uint32_t>(signal));
}

Status Guest::RemoveContainer(const std::string& cid, bool ask_guest) {
  auto it = containers_.find(cid);
  if (it == containers_.end())
    return NotFoundError("remove container " + Quote(cid) + ": not in sandbox " +
                         Quote(sandbox_.id()));
  const bool alive = booted_ && Alive();
  // Without a live guest there is nothing to remove copies from.
  if (!alive) sandbox_.SetAgent(nullptr);
  Status first;
  sys::Env* env = sandbox_.env();
  const int64_t t0 = env->NowNanos();
  if (ask_guest && alive) first = vm_->agent().RemoveContainer(cid, kRemoveTimeoutSeconds);
  const int64_t t1 = env->NowNanos();
  Status s = sandbox_.RemoveContainer(it->second);
  spdlog::debug(
      "container {}: removed in the guest in {:.1f} ms, unshared on the host in {:.1f} ms", cid,
      static_cast<double>(t1 - t0) / 1e6, static_cast<double>(env->NowNanos() - t1) / 1e6);
  if (first.ok()) first = s;
  containers_.erase(it);
  return first;
}

std::vector<std::string> Guest::Containers() const {
  std::vector<std::string> ids;
  for (const auto& [cid, _] : containers_) ids.push_back(cid);
  return ids;
}

Status Guest::Shutdown(std::chrono::milliseconds deadline) {
  sandbox_.StopWatcher();
  sandbox_.SetAgent(nullptr);
  booted_ = false;
  return vm_->Shutdown(deadline);
}

void Guest::Interrupt() { vm_->Interrupt(); }

bool Guest::Alive() { return !vm_->interrupted() && vm_->launcher().QemuRunning(); }

bool Guest::WaitExit(std::chrono::milliseconds timeout) {
  return vm_->launcher().WaitQemu(timeout).ok();
}

std::string Guest::ConsoleTail(size_t max_bytes) { return vm_->launcher().ConsoleTail(max_bytes); }

}  // namespace vmshare::sandbox
