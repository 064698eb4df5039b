#include "vm/launcher.h"

#include <fcntl.h>
#include <signal.h>

#include <algorithm>

#include "core/ids.h"

namespace vmshare::vm {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kPollStep{20};

}  // namespace

Launcher::Launcher(sys::Env* env, LaunchConfig config)
    : env_(env),
      config_(std::move(config)),
      agent_socket_(config_.run_dir + "/agent.sock"),
      console_log_(config_.console_log.empty() ? config_.run_dir + "/console.log"
                                               : config_.console_log) {}

Launcher::~Launcher() { Kill(); }

Status Launcher::Start() {
  Status s = env_->MkdirAt(sys::Cwd(), config_.run_dir, 0700);
  if (!s.ok()) return s.WithContext("start guest");
  run_dir_made_ = true;
  // Nothing to export (copy mode): no virtiofsd, and QEMU has no device for it.
  if (!config_.shared_dir.empty()) s = StartVirtiofsd();
  if (s.ok()) s = StartQemu();
  if (!s.ok()) {
    Kill();
    return s.WithContext("start guest");
  }
  return Status::Ok();
}

Status Launcher::StartVirtiofsd() {
  VirtiofsdConfig vc;
  vc.binary = config_.virtiofsd_binary;
  vc.socket_path = virtiofsd_socket();
  vc.source = config_.shared_dir;
  sys::ChildOptions o;
  o.argv = BuildVirtiofsdArgs(vc);
  o.stdout_path = config_.run_dir + "/virtiofsd.log";
  o.stderr_path = config_.run_dir + "/virtiofsd.log";
  o.new_session = true;
  o.die_with_parent = true;
  RETURN_IF_ERROR(Record("virtiofsd", 0));
  ASSIGN_OR_RETURN(virtiofsd_, env_->Spawn(o));
  RETURN_IF_ERROR(Record("virtiofsd", virtiofsd_.pid));
  return WaitForSocket(vc.socket_path, "virtiofsd", virtiofsd_, config_.virtiofsd_socket_timeout);
}

Status Launcher::WaitForSocket(const std::string& path, const char* name, sys::Child& owner,
                               milliseconds timeout) {
  const int64_t deadline = env_->NowNanos() + timeout.count() * 1'000'000;
  for (;;) {
    Result<sys::FileInfo> info = env_->StatAt(sys::Cwd(), path, AT_SYMLINK_NOFOLLOW);
    if (info.ok() && S_ISSOCK(info->mode)) return Status::Ok();
    Result<sys::ExitStatus> st = env_->Wait(owner, milliseconds(0));
    if (st.ok()) {
      return UnavailableError("wait for socket " + Quote(path) + ": " + name + " exited with " +
                              (st->exited ? "status " : "signal ") + std::to_string(st->code));
    }
    if (env_->NowNanos() >= deadline)
      return DeadlineExceededError("wait for socket " + Quote(path) + ": not there after " +
                                   std::to_string(timeout.count()) + " ms");
    env_->SleepFor(kPollStep);
  }
}

Status Launcher::StartQemu() {
  QemuConfig qc;
  qc.binary = config_.qemu_binary;
  qc.accel = config_.accel;
  qc.memory_mb = config_.memory_mb;
  qc.cpus = config_.cpus;
  qc.kernel = config_.image.kernel;
  qc.initrd = config_.image.initrd;
  qc.firmware = config_.image.firmware;
  qc.extra_append = config_.extra_append;
  if (!config_.shared_dir.empty()) qc.virtiofs_socket = virtiofsd_socket();
  qc.agent_socket = agent_socket_;
  qc.console_log = console_log_;
  sys::ChildOptions o;
  o.argv = BuildQemuArgs(qc);
  o.stdout_path = config_.run_dir + "/qemu.log";
  o.stderr_path = config_.run_dir + "/qemu.log";
  o.new_session = true;
  o.die_with_parent = true;
  RETURN_IF_ERROR(Record("qemu", 0));
  std::lock_guard<std::mutex> lock(qemu_mu_);
  ASSIGN_OR_RETURN(qemu_, env_->Spawn(o));
  qemu_exit_.reset();
  return Record("qemu", qemu_.pid);
}

Status Launcher::Record(std::string_view role, pid_t pid) {
  if (!config_.on_process) return Status::Ok();
  return config_.on_process(role, pid).WithContext("record " + std::string(role) + " process");
}

pid_t Launcher::qemu_pid() {
  std::lock_guard<std::mutex> lock(qemu_mu_);
  return qemu_.pid;
}

bool Launcher::QemuRunning() {
  std::lock_guard<std::mutex> lock(qemu_mu_);
  if (qemu_.pid < 0) return false;
  Result<sys::ExitStatus> st = env_->Wait(qemu_, milliseconds(0));
  if (st.ok()) {
    qemu_exit_ = *st;
    return false;
  }
  return st.status().code() == Code::kDeadlineExceeded;
}

Result<sys::ExitStatus> Launcher::WaitQemu(milliseconds timeout) {
  const int64_t deadline = env_->NowNanos() + timeout.count() * 1'000'000;
  for (;;) {
    // Polled rather than blocking in waitpid so KillQemu (another thread)
    // never waits behind this and never signals a reaped pid.
    if (!QemuRunning()) {
      std::lock_guard<std::mutex> lock(qemu_mu_);
      if (qemu_exit_) return *qemu_exit_;
      return FailedPreconditionError("wait for qemu: not started");
    }
    if (env_->NowNanos() >= deadline)
      return DeadlineExceededError("wait for qemu: still running after " +
                                   std::to_string(timeout.count()) + " ms");
    env_->SleepFor(kPollStep);
  }
}

void Launcher::KillQemu() {
  std::lock_guard<std::mutex> lock(qemu_mu_);
  if (qemu_.pid > 0) env_->Kill(qemu_, SIGKILL).IgnoreError();
}

Status Launcher::EndChild(sys::Child& child, const char* name, milliseconds deadline) {
  if (child.pid < 0) return Status::Ok();
  Result<sys::ExitStatus> st = env_->Wait(child, deadline);
  if (st.ok()) return Status::Ok();
  // Its helpers (virtiofsd's sandboxed child) share its process group; the
  // group is signalled before the leader is reaped, so its id cannot have
  // been reused.
  env_->KillProcessGroup(child.pid, SIGKILL).IgnoreError();
  env_->Kill(child, SIGKILL).IgnoreError();
  env_->Wait(child).status().IgnoreError();
  return DeadlineExceededError(std::string("stop ") + name + ": still running after " +
                               std::to_string(deadline.count()) + " ms, killed");
}

Status Launcher::Stop(milliseconds qemu_deadline) {
  Status first;
  {
    Result<sys::ExitStatus> st = WaitQemu(qemu_deadline);
    if (!st.ok() && st.status().code() == Code::kDeadlineExceeded) {
      KillQemu();
      WaitQemu(milliseconds(5000)).status().IgnoreError();
      first = DeadlineExceededError("stop qemu: still running after " +
                                    std::to_string(qemu_deadline.count()) + " ms, killed");
    }
    std::lock_guard<std::mutex> lock(qemu_mu_);
    if (qemu_.pid > 0) EndChild(qemu_, "qemu", milliseconds(0)).IgnoreError();
  }
  // virtiofsd exits once QEMU hangs up; give it a moment (a bound for a
  // loaded machine, not a wait), then kill it.
  Status s = EndChild(virtiofsd_, "virtiofsd", milliseconds(10000));
  if (first.ok()) first = s;
  RemoveRunDir();
  return first;
}

void Launcher::Kill() {
  {
    std::lock_guard<std::mutex> lock(qemu_mu_);
    if (qemu_.pid > 0) {
      env_->Kill(qemu_, SIGKILL).IgnoreError();
      EndChild(qemu_, "qemu", milliseconds(5000)).IgnoreError();
    }
  }
  if (virtiofsd_.pid > 0) {
    env_->KillProcessGroup(virtiofsd_.pid, SIGKILL).IgnoreError();
    env_->Kill(virtiofsd_, SIGKILL).IgnoreError();
    EndChild(virtiofsd_, "virtiofsd", milliseconds(5000)).IgnoreError();
  }
  RemoveRunDir();
}

std::string Launcher::ConsoleTail(size_t max_bytes) {
  Result<sys::Fd> fd = env_->OpenAt(sys::Cwd(), console_log_, O_RDONLY | O_CLOEXEC);
  if (!fd.ok()) return "";
  Result<std::string> text = env_->ReadAll(*fd, 16 << 20);
  if (!text.ok()) return "";
  return text->size() <= max_bytes ? *text : text->substr(text->size() - max_bytes);
}

void Launcher::RemoveRunDir() {
  if (!run_dir_made_) return;
  // Only files vmshare and its children make live here, never a mount.
  Result<sys::Fd> dir =
      env_->OpenAt(sys::Cwd(), config_.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir.ok()) {
    Result<std::vector<sys::DirEntry>> entries = env_->ReadDir(*dir);
    if (entries.ok())
      for (const sys::DirEntry& e : *entries) env_->UnlinkAt(*dir, e.name, 0).IgnoreError();
  }
  if (env_->UnlinkAt(sys::Cwd(), config_.run_dir, AT_REMOVEDIR).ok()) run_dir_made_ = false;
}

}  // namespace vmshare::vm
