#include "capi/sharer.h"

#include <utility>

#include "sandbox/sandbox.h"

namespace vmshare::capi {

struct Sharer::Impl {
  std::unique_ptr<sandbox::Sandbox> sandbox;
};

Sharer::Sharer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Sharer::~Sharer() = default;

Result<std::unique_ptr<Sharer>> Sharer::Open(SharerOptions options) {
  if (options.guest_shared_dir != kGuestSharedDir)
    return InvalidArgumentError("field guest_shared_dir: only " + std::string(kGuestSharedDir) +
                                " is supported by the sandbox layer");
  const SharerOptions& o = options;
  sandbox::SandboxOptions so;
  so.root = o.root;
  so.sandbox_id = o.sandbox_id;
  so.kubelet_root = o.kubelet_root;
  SandboxState settings;
  settings.state = "ready";
  settings.shared_fs = o.shared_fs;
  settings.bind_mounts = o.sandbox_bind_mounts;
  settings.share_base = o.share_base;
  settings.rootfs_name = o.rootfs_name;
  so.settings = std::move(settings);
  so.persist = o.persist;
  // The ABI's contract: a lock held elsewhere is -EBUSY, never a wait.
  so.nonblocking_lock = true;
  so.agent_socket = o.agent_socket;
  auto impl = std::make_unique<Impl>();
  ASSIGN_OR_RETURN(impl->sandbox, sandbox::Sandbox::Open(std::move(so)));
  return std::unique_ptr<Sharer>(new Sharer(std::move(impl)));
}

namespace {

// Holds the sandbox lock for one call of the ABI (the record is read and
// written under it). Not taken for a sandbox without a record: locking would
// create its state directory, and the call fails anyway.
class CallLock {
 public:
  explicit CallLock(sandbox::Sandbox& sb) : sb_(sb) {}
  ~CallLock() {
    if (held_) sb_.Release();
  }
  Status Take() {
    if (!sb_.store() || !sb_.recorded()) return Status::Ok();
    RETURN_IF_ERROR(sb_.Hold());
    held_ = true;
    return Status::Ok();
  }

 private:
  sandbox::Sandbox& sb_;
  bool held_ = false;
};

// The container a share acts on, as the ABI defines it: the record when
// there is one (so that the shares made before stay recorded), else the
// caller's. *recorded says which.
Result<Container> AsRecorded(sandbox::Sandbox& sb, const Container& given, bool* recorded) {
  *recorded = false;
  if (!sb.store() || !sb.recorded()) return given;
  auto state = sb.store()->LoadContainer(sb.id(), given.id);
  if (!state.ok()) {
    if (state.status().code() == Code::kNotFound) return given;
    return state.status();
  }
  *recorded = true;
  return Container{given.id, std::move(state).value()};
}

// A container that had no record has none after a refused share, or after
// an unshare (the sandbox layer records the container it is given).
void ForgetNew(sandbox::Sandbox& sb, const std::string& cid, bool recorded) {
  if (!recorded && sb.store() && sb.recorded())
    sb.store()->RemoveContainer(sb.id(), cid).IgnoreError();
}

}  // namespace

Status Sharer::Prepare() { return impl_->sandbox->Prepare(); }

// The seed's Cleanup also takes down shares never unshared.
Status Sharer::Cleanup() { return impl_->sandbox->Cleanup(/*force=*/true); }

Result<std::optional<SharedFile>> Sharer::ShareFile(Container container, Mount& mount) {
  sandbox::Sandbox& sb = *impl_->sandbox;
  CallLock lock(sb);
  RETURN_IF_ERROR(lock.Take());
  bool recorded = false;
  ASSIGN_OR_RETURN(Container c, AsRecorded(sb, container, &recorded));
  auto shared = sb.ShareFile(c, mount);
  if (!shared.ok()) ForgetNew(sb, c.id, recorded);
  return shared;
}

Status Sharer::UnshareFile(Container container, Mount mount) {
  sandbox::Sandbox& sb = *impl_->sandbox;
  CallLock lock(sb);
  RETURN_IF_ERROR(lock.Take());
  bool recorded = false;
  ASSIGN_OR_RETURN(Container c, AsRecorded(sb, container, &recorded));
  // The recorded entry knows what is mounted there.
  for (const Mount& e : c.state.mounts)
    if (!mount.host_path.empty() && e.host_path == mount.host_path) mount = e;
  Status s = sb.UnshareFile(c, mount);
  ForgetNew(sb, c.id, recorded);
  return s;
}

Result<SharedFile> Sharer::ShareRootfs(Container& container) {
  sandbox::Sandbox& sb = *impl_->sandbox;
  CallLock lock(sb);
  RETURN_IF_ERROR(lock.Take());
  bool recorded = false;
  ASSIGN_OR_RETURN(Container c, AsRecorded(sb, container, &recorded));
  // The caller describes the rootfs; a recorded one still shared wins (and
  // the sharer refuses to share it twice).
  if (!c.state.rootfs.mounted) c.state.rootfs = container.state.rootfs;
  auto shared = sb.ShareRootfs(c);
  if (!shared.ok()) {
    ForgetNew(sb, c.id, recorded);
    return shared;
  }
  container.state.rootfs = c.state.rootfs;
  return shared;
}

Status Sharer::UnshareRootfs(Container container) {
  sandbox::Sandbox& sb = *impl_->sandbox;
  CallLock lock(sb);
  RETURN_IF_ERROR(lock.Take());
  bool recorded = false;
  ASSIGN_OR_RETURN(Container c, AsRecorded(sb, container, &recorded));
  Status s = sb.UnshareRootfs(c);
  ForgetNew(sb, c.id, recorded);
  return s;
}

Status Sharer::StartFileEventWatcher() { return impl_->sandbox->StartWatcher(); }

void Sharer::StopFileEventWatcher() { impl_->sandbox->StopWatcher(); }

}  // namespace vmshare::capi
