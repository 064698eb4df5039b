#include "capi/sharer.h"

#include <fcntl.h>

#include <utility>

#include "agent/client.h"
#include "capi/layout.h"
#include "persist/store.h"
#include "share/sharer.h"
#include "core/ids.h"

namespace vmshare::capi {
namespace {

// Puts `m` into `mounts`: over the entry with the same host path, else over
// an unshared entry with the same source and destination, else at the end.
void MergeMount(std::vector<Mount>& mounts, const Mount& m) {
  for (Mount& e : mounts) {
    if (!m.host_path.empty() && e.host_path == m.host_path) {
      e = m;
      return;
    }
  }
  for (Mount& e : mounts) {
    if (e.host_path.empty() && !e.mounted && e.source == m.source && e.destination == m.destination) {
      e = m;
      return;
    }
  }
  mounts.push_back(m);
}

Mount* FindByHostPath(std::vector<Mount>& mounts, const std::string& host_path) {
  if (host_path.empty()) return nullptr;
  for (Mount& e : mounts)
    if (e.host_path == host_path) return &e;
  return nullptr;
}

void MarkUnshared(Mount& m) {
  m.host_path.clear();
  m.mounted = false;
}

}  // namespace

struct Sharer::Impl {
  explicit Impl(SharerOptions options)
      : options_(std::move(options)), store_(sys::Env::Default(), StateRootOf(options_.root)) {}
  ~Impl() {
    if (sharer_) sharer_->StopFileEventWatcher();
  }

  Result<persist::SandboxLock> LockForChange(const std::string& op, bool must_exist);
  Result<Container> RecordedOr(const Container& given, bool* recorded);
  void Restore(const Container& before, bool recorded);
  Status Prepare();
  Status Cleanup();
  Result<std::optional<SharedFile>> ShareFile(Container container, Mount& mount);
  Status UnshareFile(Container container, Mount mount);
  Result<SharedFile> ShareRootfs(Container& container);
  Status UnshareRootfs(Container container);

  SharerOptions options_;
  persist::StateStore store_;
  std::unique_ptr<share::FilesystemSharer> sharer_;
  std::unique_ptr<agent::AgentClient> agent_;
  // Set by the share in progress: records the container with the mount
  // being shared (its host path decided) before it is mounted.
  std::function<Status(const Container&, const Mount&)> record_;
};

Sharer::Sharer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sharer::~Sharer() = default;

Result<std::unique_ptr<Sharer>> Sharer::Open(SharerOptions options) {
  auto s = std::make_unique<Impl>(std::move(options));
  const SharerOptions& o = s->options_;
  share::SharerConfig config;
  config.env = sys::Env::Default();
  config.root = o.root;
  config.sandbox_id = o.sandbox_id;
  config.sandbox_bind_mounts = o.sandbox_bind_mounts;
  config.guest_shared_dir = o.guest_shared_dir;
  config.kubelet_root = o.kubelet_root;
  config.share_base = o.share_base;
  config.rootfs_name = o.rootfs_name;
  Impl* self = s.get();
  config.before_mount = [self](const Container& c, const Mount& m) {
    return self->record_ ? self->record_(c, m) : Status::Ok();
  };
  if (!o.agent_socket.empty()) {
    // Connected on first use (the guest may come up after the sharer).
    config.agent = [self]() -> agent::AgentClient* {
      if (!self->agent_) {
        auto c = agent::AgentClient::Connect(sys::Env::Default(), self->options_.agent_socket);
        if (!c.ok()) return nullptr;  // the sharer reports the missing agent
        self->agent_ = std::move(c).value();
      }
      return self->agent_.get();
    };
  }
  if (o.persist) {
    config.containers = [self]() -> Result<std::vector<Container>> {
      std::vector<Container> out;
      auto rec = self->store_.LoadSandbox(self->options_.sandbox_id);
      if (!rec.ok()) return rec.status().code() == Code::kNotFound ? Result<std::vector<Container>>(out) : rec.status();
      for (auto& [cid, state] : rec->containers) out.push_back(Container{cid, state});
      return out;
    };
  }
  ASSIGN_OR_RETURN(s->sharer_, share::NewSharer(o.shared_fs, std::move(config)));
  return std::unique_ptr<Sharer>(new Sharer(std::move(s)));
}

Status Sharer::Prepare() { return impl_->Prepare(); }
Status Sharer::Cleanup() { return impl_->Cleanup(); }
Result<std::optional<SharedFile>> Sharer::ShareFile(Container container, Mount& mount) {
  return impl_->ShareFile(std::move(container), mount);
}
Status Sharer::UnshareFile(Container container, Mount mount) {
  return impl_->UnshareFile(std::move(container), std::move(mount));
}
Result<SharedFile> Sharer::ShareRootfs(Container& container) { return impl_->ShareRootfs(container); }
Status Sharer::UnshareRootfs(Container container) { return impl_->UnshareRootfs(std::move(container)); }
Status Sharer::StartFileEventWatcher() { return impl_->sharer_->StartFileEventWatcher(); }
void Sharer::StopFileEventWatcher() { impl_->sharer_->StopFileEventWatcher(); }

Result<persist::SandboxLock> Sharer::Impl::LockForChange(const std::string& op, bool must_exist) {
  if (!options_.persist) return persist::SandboxLock();
  if (must_exist) {
    // Locking makes the sandbox's state directory; a share into a sandbox
    // that was never prepared must leave nothing behind.
    auto info = sys::Env::Default()->StatAt(sys::Cwd(), store_.SandboxDir(options_.sandbox_id), 0);
    if (!info.ok() && info.status().code() == Code::kNotFound)
      return FailedPreconditionError(op + ": sandbox " + Quote(options_.sandbox_id) +
                                     " is not prepared (call vmshare_prepare first)");
    if (!info.ok()) return info.status().WithContext(op);
  }
  return store_.Lock(options_.sandbox_id, persist::LockMode::kExclusive, /*nonblocking=*/true);
}

Result<Container> Sharer::Impl::RecordedOr(const Container& given, bool* recorded) {
  *recorded = false;
  if (!options_.persist) return given;
  auto state = store_.LoadContainer(options_.sandbox_id, given.id);
  if (!state.ok()) {
    if (state.status().code() == Code::kNotFound) return given;
    return state.status();
  }
  *recorded = true;
  return Container{given.id, std::move(state).value()};
}

void Sharer::Impl::Restore(const Container& before, bool recorded) {
  if (!options_.persist) return;
  // Secondary to the error being reported; the record stays otherwise.
  if (recorded) store_.SaveContainer(options_.sandbox_id, before.id, before.state).IgnoreError();
  else store_.RemoveContainer(options_.sandbox_id, before.id).IgnoreError();
}

Status Sharer::Impl::Prepare() {
  const std::string& sid = options_.sandbox_id;
  const std::string op = "prepare sandbox " + Quote(sid);
  ASSIGN_OR_RETURN(auto lock, LockForChange(op, /*must_exist=*/false));
  bool fresh = false;
  if (options_.persist) {
    auto existing = store_.LoadSandbox(sid);
    fresh = !existing.ok() && existing.status().code() == Code::kNotFound;
    if (!existing.ok() && !fresh) return existing.status().WithContext(op);
    if (!fresh && (existing->sandbox.shared_fs != options_.shared_fs ||
                   existing->sandbox.bind_mounts != options_.sandbox_bind_mounts ||
                   existing->sandbox.share_base != options_.share_base ||
                   existing->sandbox.rootfs_name != options_.rootfs_name))
      return FailedPreconditionError(op + ": already prepared with other settings (clean it up first)");
    if (fresh) {
      SandboxState want;
      want.state = "ready";
      want.shared_fs = options_.shared_fs;
      want.bind_mounts = options_.sandbox_bind_mounts;
      want.share_base = options_.share_base;
      want.rootfs_name = options_.rootfs_name;
      // Recorded before the tree is made: a crash in between leaves
      // something cleanup (and gc) find.
      RETURN_IF_ERROR(store_.SaveSandbox(sid, want).WithContext(op));
    }
  }
  Status s = sharer_->Prepare();
  if (!s.ok() && fresh) {
    sharer_->Cleanup().IgnoreError();
    store_.DestroySandbox(sid).IgnoreError();
  }
  return s;
}

Status Sharer::Impl::Cleanup() {
  const std::string& sid = options_.sandbox_id;
  const std::string op = "clean up sandbox " + Quote(sid);
  ASSIGN_OR_RETURN(auto lock, LockForChange(op, /*must_exist=*/false));
  if (options_.persist) {
    auto rec = store_.LoadSandbox(sid);
    if (!rec.ok() && rec.status().code() != Code::kNotFound) return rec.status().WithContext(op);
    if (rec.ok()) {
      for (auto& [cid, state] : rec->containers) {
        Container c{cid, state};
        for (Mount& m : c.state.mounts) {
          if (m.host_path.empty() && !m.mounted) continue;
          RETURN_IF_ERROR(sharer_->UnshareFile(c, m).WithContext(op));
        }
        RETURN_IF_ERROR(sharer_->UnshareRootFilesystem(c).WithContext(op));
        RETURN_IF_ERROR(store_.RemoveContainer(sid, cid).WithContext(op));
      }
    }
  }
  sharer_->StopFileEventWatcher();
  RETURN_IF_ERROR(sharer_->Cleanup());
  if (options_.persist) RETURN_IF_ERROR(store_.DestroySandbox(sid).WithContext(op));
  return Status::Ok();
}

Result<std::optional<SharedFile>> Sharer::Impl::ShareFile(Container container, Mount& mount) {
  const std::string& sid = options_.sandbox_id;
  const std::string op = "share file " + Quote(mount.source) + " of container " + Quote(container.id);
  ASSIGN_OR_RETURN(auto lock, LockForChange(op, /*must_exist=*/true));
  bool recorded = false;
  ASSIGN_OR_RETURN(Container before, RecordedOr(container, &recorded));
  Container work = before;
  bool saved = false;
  if (options_.persist) {
    record_ = [&](const Container&, const Mount& m) {
      Container r = work;
      MergeMount(r.state.mounts, m);
      saved = true;
      return store_.SaveContainer(sid, r.id, r.state);
    };
  }
  auto shared = sharer_->ShareFile(work, mount);
  record_ = nullptr;
  if (!shared.ok()) {
    if (saved) Restore(before, recorded);
    return shared.status().WithContext(op);
  }
  if (options_.persist) {
    MergeMount(work.state.mounts, mount);
    Status s = store_.SaveContainer(sid, work.id, work.state);
    if (!s.ok()) {
      sharer_->UnshareFile(work, mount).IgnoreError();
      Restore(before, recorded);
      return s.WithContext(op);
    }
  }
  return shared;
}

Status Sharer::Impl::UnshareFile(Container container, Mount mount) {
  const std::string op = "unshare file " + Quote(mount.host_path) + " of container " + Quote(container.id);
  ASSIGN_OR_RETURN(auto lock, LockForChange(op, /*must_exist=*/true));
  bool recorded = false;
  ASSIGN_OR_RETURN(Container c, RecordedOr(container, &recorded));
  Mount* entry = recorded ? FindByHostPath(c.state.mounts, mount.host_path) : nullptr;
  Mount& target = entry ? *entry : mount;
  RETURN_IF_ERROR(sharer_->UnshareFile(c, target).WithContext(op));
  if (entry == nullptr) return Status::Ok();
  MarkUnshared(*entry);
  return store_.SaveContainer(options_.sandbox_id, c.id, c.state).WithContext(op);
}

Result<SharedFile> Sharer::Impl::ShareRootfs(Container& container) {
  const std::string& sid = options_.sandbox_id;
  const std::string op = "share rootfs of container " + Quote(container.id);
  ASSIGN_OR_RETURN(auto lock, LockForChange(op, /*must_exist=*/true));
  bool recorded = false;
  ASSIGN_OR_RETURN(Container before, RecordedOr(container, &recorded));
  Container work = before;
  // The caller describes the rootfs to share; a recorded one still shared
  // wins, so the sharer refuses to share it twice.
  if (!work.state.rootfs.mounted) work.state.rootfs = container.state.rootfs;
  bool saved = false;
  if (options_.persist) {
    record_ = [&](const Container& c, const Mount&) {
      saved = true;
      return store_.SaveContainer(sid, c.id, c.state);
    };
  }
  auto shared = sharer_->ShareRootFilesystem(work);
  record_ = nullptr;
  if (!shared.ok()) {
    if (saved) Restore(before, recorded);
    return shared.status();  // names the container's rootfs already
  }
  if (options_.persist) {
    Status s = store_.SaveContainer(sid, work.id, work.state);
    if (!s.ok()) {
      sharer_->UnshareRootFilesystem(work).IgnoreError();
      Restore(before, recorded);
      return s.WithContext(op);
    }
  }
  container.state.rootfs = work.state.rootfs;
  return shared;
}

Status Sharer::Impl::UnshareRootfs(Container container) {
  const std::string op = "unshare rootfs of container " + Quote(container.id);
  ASSIGN_OR_RETURN(auto lock, LockForChange(op, /*must_exist=*/true));
  bool recorded = false;
  ASSIGN_OR_RETURN(Container c, RecordedOr(container, &recorded));
  RETURN_IF_ERROR(sharer_->UnshareRootFilesystem(c).WithContext(op));
  if (!recorded) return Status::Ok();
  MarkUnshared(c.state.rootfs);
  return store_.SaveContainer(options_.sandbox_id, c.id, c.state).WithContext(op);
}

}  // namespace vmshare::capi
