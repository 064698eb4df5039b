#include "agent/server/container.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mount.h>

#include "agent/server/devices.h"
#include "agent/server/in_root.h"
#include "agent/server/mount_options.h"
#include "agent/server/oci_process.h"
#include "core/ids.h"

namespace vmshare::agent {
namespace {

std::string FdProcPath(const sys::Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

}  // namespace

std::string Containers::BundleRoot(const std::string& cid) const {
  return paths_.run_dir + "/containers/" + cid + "/rootfs";
}

Status Containers::MountSpecMount(const sys::Fd& root, const SpecMount& m, Container* c,
                                  std::vector<sys::Fd>* ns_filesystems) {
  const std::string what = "mount " + Quote(m.destination) + " in container " + Quote(c->id);
  if (m.destination.empty() || m.destination[0] != '/') {
    return InvalidArgumentError(what + ": destination is not an absolute path");
  }
  ASSIGN_OR_RETURN(auto parts, SplitRelative(m.destination, "mount destination"));
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
  auto target = EnsureInRoot(env_, root, parts, /*is_dir=*/true);
  if (!target.ok()) return target.status().WithContext(what);
  if (MadeInContainerNamespaces(m.type)) {
    // Made by the init in its namespaces (SpawnInit), in this same order.
    if (ns_filesystems->empty()) return InternalError(what + ": the init made no filesystem");
    sys::Fd fs = std::move(ns_filesystems->front());
    ns_filesystems->erase(ns_filesystems->begin());
    return env_->MoveMount(fs, *target).WithContext(what);
  }
  // A filesystem of its own (tmpfs, devpts, ...), mounted through the
  // resolved target fd, never through the destination string.
  return env_
      ->Mount(m.source.empty() ? m.type : m.source, FdProcPath(*target), m.type, opts.flags,
              opts.data)
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
    // The spec asks no nosuid/nodev of the root, whatever the share was
    // mounted with (copy mode copies onto the agent's nosuid /run).
    sys::MountAttrs suid;
    suid.clear_nosuid_nodev = true;
    RETURN_IF_ERROR(env_->MountSetattr(tree, suid).WithContext("root of " + Quote(c->id)));
    ASSIGN_OR_RETURN(sys::Fd target, env_->OpenAt(sys::Cwd(), bundle, O_PATH | O_DIRECTORY));
    RETURN_IF_ERROR(env_->MoveMount(tree, target));
  }
  // Opened after the move: this fd is the root of the new mount.
  ASSIGN_OR_RETURN(sys::Fd root, env_->OpenAt(sys::Cwd(), bundle, O_PATH | O_DIRECTORY));
  // Strictly in the spec's order (later mounts may sit on earlier ones).
  for (const auto& m : r.spec.mounts) {
    RETURN_IF_ERROR(MountSpecMount(root, m, c, &c->setup->filesystems));
  }
  RETURN_IF_ERROR(CreateDevices(env_, root, r.spec).WithContext("container " + Quote(c->id)));
  // Last, so the targets above could still be made.
  if (r.spec.root_readonly) {
    sys::MountAttrs ro;
    ro.read_only = true;
    RETURN_IF_ERROR(
        env_->MountSetattr(root, ro).WithContext("make root of " + Quote(c->id) + " read-only"));
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
  // The cgroup first: the init joins it before anything runs in it.
  if (st.ok() && cgroups_ != nullptr) {
    auto cg = cgroups_->Create(c->id);
    if (cg.ok()) c->cgroup = *cg;
    st = cg.status();
  }
  if (st.ok()) st = SpawnInit(r, c.get());
  if (st.ok()) st = BuildRoot(r, c.get());
  if (st.ok()) st = env_->ContainerSetup(*c->setup).WithContext("create container " + Quote(c->id));
  if (!st.ok()) {
    // Kills the init (if it was made), then removes its cgroup.
    StopAll(*c, /*timeout_seconds=*/10, CallContext{}).IgnoreError();
    Teardown(*c);
    std::lock_guard<std::mutex> lock(mu_);
    containers_.erase(c->id);
    return st;
  }
  std::lock_guard<std::mutex> lock(mu_);
  c->created = true;
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

Result<int> Containers::CapLast() {
  ASSIGN_OR_RETURN(sys::Fd fd, env_->OpenAt(sys::Cwd(), "/proc/sys/kernel/cap_last_cap", O_RDONLY));
  ASSIGN_OR_RETURN(std::string text, env_->ReadAll(fd, 64));
  int n = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') break;
    n = n * 10 + (ch - '0');
  }
  return n;
}

Status Containers::SpawnInit(const CreateContainerRequest& r, Container* c) {
  const std::string what = "create container " + Quote(c->id);
  if (c->spec.args.empty()) return InvalidArgumentError(what + ": spec has no process args");
  sys::ContainedProcessOptions o;
  o.root = BundleRoot(c->id);
  o.argv = c->spec.args;
  o.env = c->spec.env;
  o.cwd = c->spec.cwd;
  o.uid = c->spec.uid;
  o.gid = c->spec.gid;
  o.additional_gids.assign(c->spec.additional_gids.begin(), c->spec.additional_gids.end());
  ASSIGN_OR_RETURN(int cap_last, CapLast());
  RETURN_IF_ERROR(ApplyProcessSpec(r.spec, cap_last, &o).WithContext(what));
  for (const auto& m : r.spec.mounts) {
    const ParsedMountOptions opts = ParseMountOptions(m.options);
    if (m.type == "bind" || opts.bind || !MadeInContainerNamespaces(m.type)) continue;
    sys::ContainerFilesystem f;
    // The guest has the unified hierarchy only, as runc on a cgroup v2 host.
    f.type = m.type == "cgroup" ? "cgroup2" : m.type;
    f.source = m.source.empty() ? f.type : m.source;
    for (size_t i = 0; i < opts.data.size();) {
      size_t j = opts.data.find(',', i);
      if (j == std::string::npos) j = opts.data.size();
      if (j > i) f.options.push_back(opts.data.substr(i, j - i));
      i = j + 1;
    }
    f.attrs = BindMountAttrs(opts);
    o.filesystems.push_back(std::move(f));
  }
  c->exec_base.caps = o.caps;
  c->exec_base.rlimits = o.rlimits;
  c->exec_base.no_new_privileges = o.no_new_privileges;
  c->exec_base.umask = o.umask;
  auto setup = std::make_shared<sys::ContainerInit>();
  std::lock_guard<std::mutex> lock(mu_);
  auto init = StartProcessLocked(
      c, c->exec_id.empty() ? c->id : c->exec_id, /*init=*/true, c->spec.terminal, std::move(o),
      [&](const sys::ContainedProcessOptions& opts) -> Result<sys::Child> {
        ASSIGN_OR_RETURN(sys::ContainerInit made, env_->SpawnContainer(opts));
        sys::Child child = std::move(made.child);
        *setup = std::move(made);
        setup->child.pid = child.pid;  // for messages; the table owns the pidfd
        return child;
      });
  if (!init.ok()) return init.status().WithContext(what);
  c->init = *init;
  c->setup = std::move(setup);
  return Status::Ok();
}

Status Containers::Start(const std::string& cid) {
  ASSIGN_OR_RETURN(auto c, Find({cid, ""}));
  std::lock_guard<std::mutex> lock(mu_);
  if (c->started) return FailedPreconditionError("container " + Quote(cid) + " already started");
  if (!c->created) return FailedPreconditionError("container " + Quote(cid) + " is being created");
  c->started = true;
  return env_->ContainerExec(*c->setup).WithContext("start container " + Quote(cid));
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
