#include "agent/server/container.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>

#include "agent/server/in_root.h"
#include "agent/server/mount_options.h"
#include "core/ids.h"

namespace vmshare::agent {
namespace {

std::string FdProcPath(const sys::Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

}  // namespace

std::string Containers::BundleRoot(const std::string& cid) const {
  return paths_.run_dir + "/containers/" + cid + "/rootfs";
}

Status Containers::MountSpecMount(const sys::Fd& root, const SpecMount& m, Container* c) {
  const std::string what = "mount " + Quote(m.destination) + " in container " + Quote(c->id);
  if (m.destination.empty() || m.destination[0] != '/') {
    return InvalidArgumentError(what + ": destination is not an absolute path");
  }
  ASSIGN_OR_RETURN(auto parts, SplitRelative(m.destination, "mount destination"));
  if (m.type == "proc") {
    // Made by the process in its own namespace (StartContainer); the
    // directory must exist before a read-only root is sealed.
    c->mount_proc = true;
    return EnsureInRoot(env_, root, parts, /*is_dir=*/true).status().WithContext(what);
  }
  const ParsedMountOptions opts = ParseMountOptions(m.options);
  if (m.type == "bind" || opts.bind) {
    auto source_info = env_->StatAt(sys::Cwd(), m.source, 0);
    if (!source_info.ok()) return source_info.status().WithContext(what);
    auto target = EnsureInRoot(env_, root, parts, source_info->is_dir());
    if (!target.ok()) return target.status().WithContext(what);
    ASSIGN_OR_RETURN(sys::Fd tree, env_->CloneTree(sys::Cwd(), m.source, opts.recursive));
    const sys::MountAttrs attrs = BindMountAttrs(opts);
    // Read-only before it is attached: the bind is never visible writable.
    RETURN_IF_ERROR(env_->MountSetattr(tree, attrs).WithContext(what));
    return env_->MoveMount(tree, *target).WithContext(what);
  }
  // A filesystem of its own (tmpfs, sysfs, mqueue, devpts, ...), mounted
  // through the resolved target fd, never through the destination string.
  auto target = EnsureInRoot(env_, root, parts, /*is_dir=*/true);
  if (!target.ok()) return target.status().WithContext(what);
  return env_->Mount(m.source.empty() ? m.type : m.source, FdProcPath(*target), m.type,
                     opts.flags, opts.data)
      .WithContext(what);
}

Status Containers::BuildRoot(const CreateContainerRequest& r, Container* c) {
  const std::string source = (!r.spec.root_path.empty() && r.spec.root_path[0] == '/')
                                 ? r.spec.root_path
                                 : paths_.shared_root + "/" + r.container_id + "/rootfs";
  auto info = env_->StatAt(sys::Cwd(), source, 0);
  if (!info.ok() || !info->is_dir()) {
    return NotFoundError("container " + Quote(c->id) + ": root " + Quote(source) +
                         " is not a directory");
  }
  const std::string bundle = BundleRoot(c->id);
  RETURN_IF_ERROR(MkdirAll(env_, bundle, 0755));
  {
    ASSIGN_OR_RETURN(sys::Fd tree, env_->CloneTree(sys::Cwd(), source, /*recursive=*/true));
    ASSIGN_OR_RETURN(sys::Fd target, env_->OpenAt(sys::Cwd(), bundle, O_PATH | O_DIRECTORY));
    RETURN_IF_ERROR(env_->MoveMount(tree, target));
  }
  // Opened after the move: this fd is the root of the new mount.
  ASSIGN_OR_RETURN(sys::Fd root, env_->OpenAt(sys::Cwd(), bundle, O_PATH | O_DIRECTORY));
  for (const auto& m : r.spec.mounts) RETURN_IF_ERROR(MountSpecMount(root, m, c));
  if (r.spec.root_readonly) {
    sys::MountAttrs ro;
    ro.read_only = true;
    RETURN_IF_ERROR(env_->MountSetattr(root, ro).WithContext("make root of " + Quote(c->id) +
                                                             " read-only"));
  }
  return Status::Ok();
}

void Containers::Teardown(const Container& c) {
  const std::string bundle = BundleRoot(c.id);
  // One lazy detach takes the root and every mount under it.
  env_->Unmount(bundle, MNT_DETACH).IgnoreError();
  env_->UnlinkAt(sys::Cwd(), bundle, AT_REMOVEDIR).IgnoreError();
  env_->UnlinkAt(sys::Cwd(), paths_.run_dir + "/containers/" + c.id, AT_REMOVEDIR).IgnoreError();
  for (const auto& s : c.storages) {
    if (!s.shared) storages_->Release(s.mount_point).IgnoreError();
  }
}

Status Containers::Create(const CreateContainerRequest& r) {
  RETURN_IF_ERROR(ValidateId("container", r.container_id));
  auto c = std::make_shared<Container>();
  c->id = r.container_id;
  c->exec_id = r.exec_id;
  c->spec = r.spec;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (containers_.contains(c->id)) {
      return AlreadyExistsError("container " + Quote(c->id) + " already exists");
    }
    containers_[c->id] = c;  // reserves the id while we build it
  }
  Status st;
  for (const auto& s : r.storages) {
    st = storages_->Add(s);
    if (!st.ok()) break;
    c->storages.push_back(s);
  }
  if (st.ok()) st = BuildRoot(r, c.get());
  if (st.ok() && cgroups_ != nullptr) {
    auto cg = cgroups_->Create(c->id);
    if (cg.ok()) c->cgroup = *cg;
    st = cg.status();
  }
  if (!st.ok()) {
    Teardown(*c);
    std::lock_guard<std::mutex> lock(mu_);
    containers_.erase(c->id);
    return st;
  }
  return Status::Ok();
}

Result<std::shared_ptr<Containers::Container>> Containers::Find(const ProcessRef& ref) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = containers_.find(ref.container_id);
  if (it == containers_.end()) {
    return NotFoundError("container " + Quote(ref.container_id) + " does not exist");
  }
  return it->second;  // FindProcess (exec.cc) resolves ref.exec_id
}

Status Containers::Start(const std::string& cid) {
  ASSIGN_OR_RETURN(auto c, Find({cid, ""}));
  std::lock_guard<std::mutex> lock(mu_);
  if (c->init) return FailedPreconditionError("container " + Quote(cid) + " already started");
  if (c->spec.args.empty()) {
    return InvalidArgumentError("start container " + Quote(cid) + ": spec has no process args");
  }
  sys::ContainedProcessOptions o;
  o.root = BundleRoot(cid);
  o.mount_proc = c->mount_proc;
  o.argv = c->spec.args;
  o.env = c->spec.env;
  o.cwd = c->spec.cwd;
  o.uid = c->spec.uid;
  o.gid = c->spec.gid;
  o.additional_gids.assign(c->spec.additional_gids.begin(), c->spec.additional_gids.end());
  ASSIGN_OR_RETURN(c->init, StartProcessLocked(c.get(), c->exec_id.empty() ? cid : c->exec_id,
                                               /*init=*/true, c->spec.terminal, std::move(o)));
  return Status::Ok();
}

Status Containers::Remove(const std::string& cid, uint32_t timeout_seconds,
                          const CallContext& ctx) {
  ASSIGN_OR_RETURN(auto c, Find({cid, ""}));
  RETURN_IF_ERROR(StopAll(*c, timeout_seconds, ctx).WithContext("remove container " + Quote(cid)));
  Teardown(*c);
  std::lock_guard<std::mutex> lock(mu_);
  containers_.erase(cid);
  return Status::Ok();
}

Status Containers::RemoveAll(const CallContext& ctx) {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, c] : containers_) ids.push_back(id);
  }
  Status first;
  for (const auto& id : ids) {
    Status s = Remove(id, /*timeout_seconds=*/10, ctx);
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

}  // namespace vmshare::agent
