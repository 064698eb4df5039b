#include "sandbox/spec.h"

#include <algorithm>

namespace vmshare::sandbox {
namespace {

bool HasOption(const std::vector<std::string>& options, std::string_view want) {
  return std::find(options.begin(), options.end(), want) != options.end();
}

}  // namespace

Container ContainerToShare(const ContainerRequest& request) {
  Container c;
  c.id = request.id;
  c.state.state = "ready";
  c.state.bundle_path = request.bundle_path;
  c.state.rootfs = request.rootfs;
  if (c.state.rootfs.destination.empty()) c.state.rootfs.destination = "/";
  if (c.state.rootfs.type.empty()) c.state.rootfs.type = "bind";
  for (const BundleMount& bm : request.mounts) {
    if (!bm.from_host) continue;
    Mount m = bm.mount;
    if (HasOption(m.options, "ro")) m.read_only = true;
    c.state.mounts.push_back(std::move(m));
  }
  return c;
}

agent::SpecMount GuestBind(const Mount& m, const std::string& guest_path) {
  agent::SpecMount s{guest_path, m.destination, "bind", {}};
  for (const std::string& o : m.options)
    if (o != "rw" && o != "ro") s.options.push_back(o);
  if (!HasOption(s.options, "bind") && !HasOption(s.options, "rbind")) s.options.push_back("rbind");
  s.options.push_back(m.read_only || HasOption(m.options, "ro") ? "ro" : "rw");
  return s;
}

Result<agent::CreateContainerRequest> BuildCreateRequest(
    const ContainerRequest& request, const SharedFile& rootfs,
    const std::vector<std::optional<SharedFile>>& shared_mounts) {
  const size_t host_mounts =
      std::count_if(request.mounts.begin(), request.mounts.end(), [](const BundleMount& m) { return m.from_host; });
  if (host_mounts != shared_mounts.size())
    return InvalidArgumentError("build the spec of container \"" + request.id + "\": " +
                                std::to_string(shared_mounts.size()) + " shares for " +
                                std::to_string(host_mounts) + " host mounts");
  agent::CreateContainerRequest create;
  create.container_id = request.id;
  create.spec = request.spec;
  create.spec.root_path = rootfs.guest_path;
  create.spec.mounts.clear();
  create.storages = rootfs.container_storages;
  size_t next = 0;
  for (const BundleMount& bm : request.mounts) {
    const Mount& m = bm.mount;
    if (!bm.from_host) {
      create.spec.mounts.push_back({m.source, m.destination, m.type, m.options});
      continue;
    }
    const std::optional<SharedFile>& shared = shared_mounts[next++];
    if (!shared) continue;
    Mount as_shared = m;
    if (HasOption(m.options, "ro")) as_shared.read_only = true;
    create.spec.mounts.push_back(GuestBind(as_shared, shared->guest_path));
    for (const Storage& s : shared->container_storages) create.storages.push_back(s);
    for (const Storage& s : shared->volume_storages) create.storages.push_back(s);
  }
  return create;
}

}  // namespace vmshare::sandbox
