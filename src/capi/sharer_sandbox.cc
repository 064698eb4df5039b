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

Status Sharer::Prepare() { return impl_->sandbox->Prepare(); }

// The seed's Cleanup also takes down shares never unshared.
Status Sharer::Cleanup() { return impl_->sandbox->Cleanup(/*force=*/true); }

Result<std::optional<SharedFile>> Sharer::ShareFile(Container container, Mount& mount) {
  return impl_->sandbox->ShareFile(container, mount);
}

Status Sharer::UnshareFile(Container container, Mount mount) { return impl_->sandbox->UnshareFile(container, mount); }

Result<SharedFile> Sharer::ShareRootfs(Container& container) { return impl_->sandbox->ShareRootfs(container); }

Status Sharer::UnshareRootfs(Container container) { return impl_->sandbox->UnshareRootfs(container); }

Status Sharer::StartFileEventWatcher() { return impl_->sandbox->StartWatcher(); }

void Sharer::StopFileEventWatcher() { impl_->sandbox->StopWatcher(); }

}  // namespace vmshare::capi
