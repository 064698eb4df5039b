#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "agent/client.h"
#include "core/ids.h"
#include "persist/processes.h"
#include "share/guest_paths.h"

namespace vmshare::sandbox {
namespace {

// The settings that make two preparations of one sandbox the same.
bool SameSettings(const SandboxState& a, const SandboxState& b) {
  return a.shared_fs == b.shared_fs && a.bind_mounts == b.bind_mounts &&
         a.share_base == b.share_base && a.rootfs_name == b.rootfs_name;
}

std::vector<const Mount*> AllMounts(const Container& c) {
  std::vector<const Mount*> all{&c.state.rootfs};
  for (const Mount& m : c.state.mounts) all.push_back(&m);
  return all;
}

bool IsElementOf(const Mount& m, const std::vector<Mount>& v) {
  return !v.empty() && &m >= v.data() && &m < v.data() + v.size();
}

// The container's state with `mount` in it: as is when `mount` is one of its
// mounts (or its rootfs); else replacing the entry with the same host path,
// or an unshared entry for the same source and destination; else appended.
ContainerState WithMount(const Container& c, const Mount& mount) {
  ContainerState s = c.state;
  if (&mount == &c.state.rootfs || IsElementOf(mount, c.state.mounts)) return s;
  for (Mount& e : s.mounts) {
    if (!mount.host_path.empty() && e.host_path == mount.host_path) {
      e = mount;
      return s;
    }
  }
  for (Mount& e : s.mounts) {
    if (e.host_path.empty() && !e.mounted && e.source == mount.source &&
        e.destination == mount.destination) {
      e = mount;
      return s;
    }
  }
  s.mounts.push_back(mount);
  return s;
}

}  // namespace

struct Sandbox::AgentConnection {
  std::mutex mu;
  std::unique_ptr<agent::AgentClient> client;  // GUARDED_BY(mu)
};

Sandbox::Sandbox(SandboxOptions options)
    : options_(std::move(options)),
      env_(options_.env ? options_.env : sys::Env::Default()),
      layout_(SandboxLayout::For(options_.root, options_.sandbox_id)),
      store_(env_, layout_.state_root),
      connection_(std::make_unique<AgentConnection>()) {
  options_.env = env_;
}

Sandbox::~Sandbox() {
  if (sharer_) sharer_->StopFileEventWatcher();
}

Result<std::unique_ptr<Sandbox>> Sandbox::Open(SandboxOptions options) {
  RETURN_IF_ERROR(ValidateId("sandbox", options.sandbox_id));
  if (options.root.empty() || options.root[0] != '/')
    return InvalidArgumentError("vmshare root " + Quote(options.root) +
                                ": must be an absolute path");
  std::unique_ptr<Sandbox> sb(new Sandbox(std::move(options)));
  RETURN_IF_ERROR(sb->Init());
  return sb;
}

Status Sandbox::Init() {
  settings_ = options_.settings.value_or(SandboxState{});
  if (options_.settings) {
    // What the caller wants must be valid even if the record decides.
    RETURN_IF_ERROR(share::NewSharer(settings_.shared_fs, SharerConfigFor(settings_)).status());
  }
  if (options_.persist) {
    Result<persist::SandboxRecord> rec = store_.LoadSandbox(id());
    if (rec.ok()) {
      settings_ = rec->sandbox;
      recorded_ = true;
    } else if (rec.status().code() != Code::kNotFound) {
      return rec.status();
    }
  }
  layout_ = SandboxLayout::For(options_.root, id(), settings_.share_base);
  ASSIGN_OR_RETURN(sharer_, share::NewSharer(settings_.shared_fs, SharerConfigFor(settings_)));
  return Status::Ok();
}

share::SharerConfig Sandbox::SharerConfigFor(const SandboxState& s) {
  share::SharerConfig config;
  config.env = env_;
  config.root = options_.root;
  config.sandbox_id = id();
  config.sandbox_bind_mounts = s.bind_mounts;
  config.share_base = s.share_base;
  config.rootfs_name = s.rootfs_name;
  config.kubelet_root = options_.kubelet_root;
  if (options_.persist) {
    config.before_mount = [this](const Container& c, const Mount& m) { return RecordShare(c, m); };
    config.containers = [this]() -> Result<std::vector<Container>> {
      ASSIGN_OR_RETURN(persist::SandboxRecord rec, Load());
      std::vector<Container> out;
      for (auto& [cid, state] : rec.containers) out.push_back(Container{cid, std::move(state)});
      return out;
    };
  }
  config.agent = [this] { return Agent(); };
  config.copy_progress = options_.copy_progress;
  config.watch_report = options_.watch_report;
  return config;
}

agent::AgentClient* Sandbox::Agent() {
  if (agent::AgentClient* a = attached_.load()) return a;
  if (options_.agent_socket.empty()) return nullptr;
  std::lock_guard<std::mutex> lock(connection_->mu);
  if (!connection_->client) {
    auto c = agent::AgentClient::Connect(env_, options_.agent_socket);
    if (!c.ok()) {
      // The sharer reports the missing agent in its own error.
      spdlog::error("connect to the agent: {}", c.status().ToString());
      return nullptr;
    }
    connection_->client = std::move(c).value();
  }
  return connection_->client.get();
}

void Sandbox::SetAgent(agent::AgentClient* agent) { attached_.store(agent); }

std::vector<Storage> Sandbox::SandboxStorages() const { return sharer_->SandboxStorages(); }
std::string Sandbox::HostExportDir() const { return sharer_->HostExportDir(); }

Status Sandbox::Hold() {
  if (!options_.persist || held_.held()) return Status::Ok();
  ASSIGN_OR_RETURN(held_,
                   store_.Lock(id(), persist::LockMode::kExclusive, options_.nonblocking_lock));
  return Status::Ok();
}

void Sandbox::Release() { held_.Release(); }

Result<Sandbox::CallLock> Sandbox::LockForCall(persist::LockMode mode) {
  if (!options_.persist || held_.held() || in_call_) return CallLock{};
  ASSIGN_OR_RETURN(persist::SandboxLock lock, store_.Lock(id(), mode, options_.nonblocking_lock));
  in_call_ = true;
  return CallLock(std::move(lock), &in_call_);
}

Status Sandbox::RequireRecorded() const {
  if (!options_.persist || recorded_) return Status::Ok();
  return NotFoundError("sandbox \"" + id() + "\" does not exist (run `vmshare sandbox prepare " +
                       id() + "` first)");
}

Result<persist::SandboxRecord> Sandbox::Load() {
  if (!options_.persist)
    return FailedPreconditionError("load sandbox " + Quote(id()) + ": not persisted");
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kShared));
  return store_.LoadSandbox(id());
}

Status Sandbox::SaveContainer(const std::string& cid, const ContainerState& state) {
  if (!options_.persist) return Status::Ok();
  return store_.SaveContainer(id(), cid, state);
}

Status Sandbox::RecordShare(const Container& container, const Mount& mount) {
  const bool batch = intent_ && intent_->cid == container.id;
  if (batch && intent_->host_paths.count(mount.host_path)) return Status::Ok();
  RETURN_IF_ERROR(SaveContainer(container.id, WithMount(container, mount)));
  if (batch) intent_->host_paths.insert(mount.host_path);
  return Status::Ok();
}

void Sandbox::PlanHostPaths(Container& c) {
  // Copy mode's paths are in the guest, and it draws them itself.
  if (settings_.shared_fs != "virtio-fs") return;
  Mount& rootfs = c.state.rootfs;
  if (rootfs.block_device_id.empty() && rootfs.host_path.empty() && !rootfs.mounted)
    rootfs.host_path = layout_.tree.mounts + "/" + c.id + "/" + settings_.rootfs_name;
  for (Mount& m : c.state.mounts) {
    if (!m.host_path.empty() || m.mounted) continue;
    Result<std::string> hex = share::RandomHex16(env_);
    if (!hex.ok()) return;
    Result<std::string> name = share::VolumeShareName(c.id, m.destination, *hex);
    if (name.ok()) m.host_path = layout_.tree.mounts + "/" + *name;
  }
}

Status Sandbox::RecordProcess(std::string_view role, pid_t pid) {
  if (!options_.persist) return Status::Ok();
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kExclusive));
  const std::string r(role);
  return pid == 0 ? persist::RecordProcessIntent(store_, id(), r)
                  : persist::RecordProcessStarted(store_, env_, id(), r, pid);
}

Status Sandbox::Prepare() {
  const std::string context = "prepare sandbox \"" + id() + "\"";
  const Status other = FailedPreconditionError(
      context + ": already prepared with other settings (clean it up first)");
  if (options_.settings && recorded_ && !SameSettings(settings_, *options_.settings)) return other;
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kExclusive));
  bool fresh = false;
  if (options_.persist) {
    // Again under the lock: another process may have recorded it since Open.
    Result<persist::SandboxRecord> rec = store_.LoadSandbox(id());
    if (rec.ok() && !SameSettings(rec->sandbox, settings_)) return other;
    if (!rec.ok() && rec.status().code() != Code::kNotFound) return rec.status();
    fresh = !rec.ok();
    // The state is recorded before the tree is made, so a crash in between
    // leaves something Cleanup (and gc) can find.
    if (fresh) RETURN_IF_ERROR(store_.SaveSandbox(id(), settings_));
  }
  Status s = sharer_->Prepare();
  if (!s.ok()) {
    if (fresh) {
      // Put things back as they were: nothing of a failed new sandbox stays.
      sharer_->Cleanup().IgnoreError();
      store_.DestroySandbox(id()).IgnoreError();
    }
    return s;
  }
  recorded_ = recorded_ || options_.persist;
  return Status::Ok();
}

Status Sandbox::UnshareAll(Container& c) {
  const std::string context = "unshare container \"" + c.id + "\"";
  for (Mount& m : c.state.mounts) {
    if (m.host_path.empty() && !m.mounted) continue;
    Status s = sharer_->UnshareFile(c, m);
    if (!s.ok()) {
      SaveContainer(c.id, c.state).IgnoreError();  // the unshare error is the one to report
      return s.WithContext(context);
    }
    m.host_path.clear();
    m.mounted = false;
  }
  Status s = sharer_->UnshareRootFilesystem(c);
  if (!s.ok()) {
    SaveContainer(c.id, c.state).IgnoreError();
    return s.WithContext(context);
  }
  if (!options_.persist) return Status::Ok();
  return store_.RemoveContainer(id(), c.id);
}

Result<SharedContainer> Sandbox::AddContainer(Container container) {
  RETURN_IF_ERROR(RequireRecorded());
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kExclusive));
  const std::string context = "share container \"" + container.id + "\"";
  if (options_.persist) {
    // Again under the lock (only this sandbox's and this container's files).
    RETURN_IF_ERROR(store_.LoadSandboxState(id()).status());
    RETURN_IF_ERROR(ValidateId("container", container.id));
    Result<ContainerState> old = store_.LoadContainer(id(), container.id);
    if (old.ok())
      return AlreadyExistsError(context + ": already shared in sandbox \"" + id() + "\"");
    if (old.status().code() != Code::kNotFound) return old.status();
  }
  SharedContainer out;
  out.container = std::move(container);
  Container& c = out.container;
  // The intent: every share's host path, in one write before anything is
  // mounted, so a crash mid-share leaves a record naming every mount that
  // may exist, for RemoveContainer, Cleanup(force) or gc.
  if (options_.persist) PlanHostPaths(c);
  RETURN_IF_ERROR(SaveContainer(c.id, c.state));
  std::set<std::string> planned;
  for (const Mount* m : AllMounts(c))
    if (!m->host_path.empty()) planned.insert(m->host_path);
  intent_ = Intent{c.id, std::move(planned)};
  struct EndIntent {
    std::optional<Intent>* intent;
    ~EndIntent() { intent->reset(); }
  } end_intent{&intent_};
  auto fail = [&](const Status& s) -> Status {
    intent_.reset();
    // Undoes what was made; an intent entry never made is nothing to undo.
    Status undone = UnshareAll(c);
    // What cannot be undone stays recorded in the container's state.
    if (!undone.ok()) spdlog::warn("roll back share of container {}: {}", c.id, undone.ToString());
    return s.WithContext(context);
  };
  Result<SharedFile> root = sharer_->ShareRootFilesystem(c);
  if (!root.ok()) return fail(root.status());
  out.rootfs = std::move(*root);
  out.mounts.reserve(c.state.mounts.size());
  for (Mount& m : c.state.mounts) {
    Result<std::optional<SharedFile>> shared = sharer_->ShareFile(c, m);
    if (!shared.ok()) return fail(shared.status());
    out.mounts.push_back(std::move(*shared));
  }
  Status saved = SaveContainer(c.id, c.state);
  if (!saved.ok()) return fail(saved);
  return out;
}

Status Sandbox::RemoveContainer(const std::string& cid) {
  RETURN_IF_ERROR(ValidateId("container", cid));
  RETURN_IF_ERROR(RequireRecorded());
  if (!options_.persist)
    return FailedPreconditionError("unshare container " + Quote(cid) +
                                   ": no record (not persisted)");
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kExclusive));
  ASSIGN_OR_RETURN(persist::SandboxRecord rec, store_.LoadSandbox(id()));
  auto it = rec.containers.find(cid);
  if (it == rec.containers.end())
    return NotFoundError("unshare container \"" + cid + "\": not shared in sandbox \"" + id() +
                         "\"");
  Container c{cid, std::move(it->second)};
  return UnshareAll(c);
}

Status Sandbox::RemoveContainer(Container& container) {
  RETURN_IF_ERROR(ValidateId("container", container.id));
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kExclusive));
  return UnshareAll(container);
}

Result<std::optional<SharedFile>> Sandbox::ShareFile(Container& container, Mount& mount) {
  RETURN_IF_ERROR(RequireRecorded());
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kExclusive));
  Result<std::optional<SharedFile>> shared = sharer_->ShareFile(container, mount);
  if (!shared.ok()) {
    // The sharer left nothing mounted: the record goes back to the caller's.
    SaveContainer(container.id, container.state).IgnoreError();
    return shared;
  }
  Status saved = SaveContainer(container.id, WithMount(container, mount));
  if (!saved.ok()) {
    sharer_->UnshareFile(container, mount).IgnoreError();
    return saved;
  }
  return shared;
}

Status Sandbox::UnshareFile(Container& container, Mount& mount) {
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kExclusive));
  RETURN_IF_ERROR(sharer_->UnshareFile(container, mount));
  if (!options_.persist || !recorded_) return Status::Ok();
  ContainerState s = WithMount(container, mount);
  for (Mount& e : s.mounts) {
    if (e.host_path == mount.host_path) {
      e.host_path.clear();
      e.mounted = false;
    }
  }
  return SaveContainer(container.id, s);
}

Result<SharedFile> Sandbox::ShareRootfs(Container& container) {
  RETURN_IF_ERROR(RequireRecorded());
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kExclusive));
  Result<SharedFile> shared = sharer_->ShareRootFilesystem(container);
  Status saved = SaveContainer(container.id, container.state);
  if (shared.ok() && !saved.ok()) {
    sharer_->UnshareRootFilesystem(container).IgnoreError();
    return saved;
  }
  return shared;
}

Status Sandbox::UnshareRootfs(Container& container) {
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kExclusive));
  RETURN_IF_ERROR(sharer_->UnshareRootFilesystem(container));
  if (!options_.persist || !recorded_) return Status::Ok();
  return SaveContainer(container.id, container.state);
}

Status Sandbox::StartWatcher() { return sharer_->StartFileEventWatcher(); }
void Sandbox::StopWatcher() { sharer_->StopFileEventWatcher(); }

Status Sandbox::Cleanup(bool force) {
  const std::string context = "clean up sandbox \"" + id() + "\"";
  ASSIGN_OR_RETURN(CallLock lock, LockForCall(persist::LockMode::kExclusive));
  std::optional<persist::SandboxRecord> rec;
  if (options_.persist) {
    Result<persist::SandboxRecord> r = store_.LoadSandbox(id());  // again, under the lock
    if (r.ok()) {
      rec = std::move(*r);
    } else if (r.status().code() != Code::kNotFound) {
      return r.status();
    }
  }
  if (rec && !rec->containers.empty() && !force) {
    std::string ids;
    for (const auto& [cid, _] : rec->containers) ids += (ids.empty() ? "" : ", ") + cid;
    return FailedPreconditionError(context + ": containers still shared: " + ids +
                                   " (unshare them, or use --force)");
  }
  if (rec) {
    for (auto& [cid, cstate] : rec->containers) {
      spdlog::debug("unsharing container {} of sandbox {}", cid, id());
      Container c{cid, std::move(cstate)};
      RETURN_IF_ERROR(UnshareAll(c));
    }
  }
  sharer_->StopFileEventWatcher();
  RETURN_IF_ERROR(sharer_->Cleanup());
  if (!options_.persist) return Status::Ok();
  // A run dir left behind holds what gc needs the record for (processes).
  if (env_->StatAt(sys::Cwd(), layout_.run_dir, AT_SYMLINK_NOFOLLOW).ok())
    return FailedPreconditionError(context + ": " + Quote(layout_.run_dir) +
                                   " still exists (a guest's run dir): the record stays for gc");
  // The lock's directory goes with the rest.
  RETURN_IF_ERROR(store_.DestroySandbox(id()));
  recorded_ = false;
  return Status::Ok();
}

}  // namespace vmshare::sandbox
