// vmshare container share | unshare
#include <spdlog/spdlog.h>

#include "cli/bundle.h"
#include "cli/context.h"
#include "cli/json_out.h"
#include "core/ids.h"

namespace vmshare::cli {
namespace {

struct ShareArgs {
  std::string sid;
  std::string cid;
  std::string bundle;
  std::string agent_socket;
};

struct UnshareArgs {
  std::string sid;
  std::string cid;
  std::string agent_socket;
};

constexpr char kAgentHelp[] = "unix socket of the guest agent (needed when the sandbox copies: --shared-fs none)";

// Undoes a partly done share. Errors here are secondary to the one being
// reported; what cannot be undone stays recorded in the container's state.
void RollBack(share::FilesystemSharer& sharer, persist::StateStore& store, const std::string& sid,
              Container& c) {
  Status s = UnshareContainer(sharer, store, sid, c.id, c.state);
  if (!s.ok()) spdlog::warn("roll back share of container {}: {}", c.id, s.ToString());
}

Result<int> Share(const GlobalOptions& g, const ShareArgs& a) {
  RETURN_IF_ERROR(ValidateId("sandbox", a.sid));
  RETURN_IF_ERROR(ValidateId("container", a.cid));
  sys::Env* env = sys::Env::Default();
  // Everything the user can get wrong is checked before anything changes.
  ASSIGN_OR_RETURN(Bundle bundle, ReadBundle(env, a.bundle));
  persist::StateStore store(env, StateRoot(g));
  ASSIGN_OR_RETURN(auto rec, LoadExistingSandbox(store, a.sid));
  ASSIGN_OR_RETURN(auto lock, store.Lock(a.sid, persist::LockMode::kExclusive));
  ASSIGN_OR_RETURN(rec, store.LoadSandbox(a.sid));
  if (rec.containers.count(a.cid))
    return AlreadyExistsError("share container \"" + a.cid + "\": already shared in sandbox \"" + a.sid + "\"");
  ASSIGN_OR_RETURN(auto sharer, SharerFor(g, a.sid, rec.sandbox, &store, a.agent_socket));

  Container c;
  c.id = a.cid;
  c.state.state = "ready";
  c.state.bundle_path = bundle.dir;
  c.state.rootfs.source = bundle.rootfs;
  c.state.rootfs.destination = "/";
  c.state.rootfs.type = "bind";
  c.state.rootfs.read_only = bundle.rootfs_readonly;
  for (const Mount& m : bundle.mounts)
    if (IsHostBind(m)) c.state.mounts.push_back(m);
  // Recorded before anything is mounted (and again before each mount, by the
  // sharer's hook), so a crash mid-share leaves a container that
  // `container unshare` or `sandbox cleanup --force` finds.
  RETURN_IF_ERROR(store.SaveContainer(a.sid, a.cid, c.state));

  auto fail = [&](const Status& s) -> Result<int> {
    RollBack(*sharer, store, a.sid, c);
    return s.WithContext("share container \"" + a.cid + "\"");
  };
  auto root = sharer->ShareRootFilesystem(c);
  if (!root.ok()) return fail(root.status());
  nlohmann::json mounts = nlohmann::json::array();
  for (Mount& m : c.state.mounts) {
    auto shared = sharer->ShareFile(c, m);
    if (!shared.ok()) return fail(shared.status());
    nlohmann::json j = {{"source", m.source},       {"destination", m.destination},
                        {"read_only", m.read_only}, {"host_path", m.host_path}};
    if (shared->has_value()) {
      j["guest_path"] = (*shared)->guest_path;
      j["storages"] = StoragesJson((*shared)->volume_storages);
    } else {
      j["guest_path"] = nullptr;  // this sharer leaves the mount to the guest
      j["storages"] = nlohmann::json::array();
    }
    mounts.push_back(std::move(j));
  }
  Status saved = store.SaveContainer(a.sid, a.cid, c.state);
  if (!saved.ok()) return fail(saved);

  PrintJson({{"container_id", a.cid},
             {"rootfs", {{"guest_path", root->guest_path}, {"storages", StoragesJson(root->container_storages)}}},
             {"mounts", mounts}});
  return 0;
}

Result<int> Unshare(const GlobalOptions& g, const UnshareArgs& a) {
  RETURN_IF_ERROR(ValidateId("sandbox", a.sid));
  RETURN_IF_ERROR(ValidateId("container", a.cid));
  persist::StateStore store(sys::Env::Default(), StateRoot(g));
  ASSIGN_OR_RETURN(auto rec, LoadExistingSandbox(store, a.sid));
  ASSIGN_OR_RETURN(auto lock, store.Lock(a.sid, persist::LockMode::kExclusive));
  ASSIGN_OR_RETURN(rec, store.LoadSandbox(a.sid));
  auto it = rec.containers.find(a.cid);
  if (it == rec.containers.end())
    return NotFoundError("unshare container \"" + a.cid + "\": not shared in sandbox \"" + a.sid + "\"");
  ASSIGN_OR_RETURN(auto sharer, SharerFor(g, a.sid, rec.sandbox, nullptr, a.agent_socket));
  RETURN_IF_ERROR(UnshareContainer(*sharer, store, a.sid, a.cid, it->second));
  PrintJson({{"container_id", a.cid}, {"unshared", true}});
  return 0;
}

}  // namespace

void AddContainerCommands(CLI::App& app, const GlobalOptions& g, Action* action) {
  auto* container = app.add_subcommand("container", "share or unshare a container's files");
  container->require_subcommand(1);

  auto sa = std::make_shared<ShareArgs>();
  auto* share = container->add_subcommand("share", "share an OCI bundle's rootfs and bind mounts");
  share->add_option("SID", sa->sid, "sandbox id")->required();
  share->add_option("CID", sa->cid, "container id")->required();
  share->add_option("--bundle", sa->bundle, "OCI bundle directory (holding config.json)")->required();
  share->add_option("--agent", sa->agent_socket, kAgentHelp);
  share->callback([&g, sa, action] { *action = [&g, sa] { return Share(g, *sa); }; });

  auto ua = std::make_shared<UnshareArgs>();
  auto* unshare = container->add_subcommand("unshare", "unshare everything recorded for a container");
  unshare->add_option("SID", ua->sid, "sandbox id")->required();
  unshare->add_option("CID", ua->cid, "container id")->required();
  unshare->add_option("--agent", ua->agent_socket, kAgentHelp);
  unshare->callback([&g, ua, action] { *action = [&g, ua] { return Unshare(g, *ua); }; });
}

}  // namespace vmshare::cli
