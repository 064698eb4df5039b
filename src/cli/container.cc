// vmshare container share | unshare
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

constexpr char kAgentHelp[] =
    "unix socket of the guest agent (needed when the sandbox copies: --shared-fs none)";

Result<int> Share(const GlobalOptions& g, const ShareArgs& a) {
  RETURN_IF_ERROR(ValidateId("sandbox", a.sid));
  RETURN_IF_ERROR(ValidateId("container", a.cid));
  sys::Env* env = sys::Env::Default();
  // Everything the user can get wrong is checked before anything changes.
  ASSIGN_OR_RETURN(Bundle bundle, ReadBundle(env, a.bundle));
  ASSIGN_OR_RETURN(auto sb, OpenSandbox(g, a.sid, a.agent_socket));

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
  ASSIGN_OR_RETURN(sandbox::SharedContainer shared, sb->AddContainer(std::move(c)));

  nlohmann::json mounts = nlohmann::json::array();
  for (size_t i = 0; i < shared.mounts.size(); ++i) {
    const Mount& m = shared.container.state.mounts[i];
    nlohmann::json j = {{"source", m.source},
                        {"destination", m.destination},
                        {"read_only", m.read_only},
                        {"host_path", m.host_path}};
    if (shared.mounts[i].has_value()) {
      j["guest_path"] = shared.mounts[i]->guest_path;
      j["storages"] = StoragesJson(shared.mounts[i]->volume_storages);
    } else {
      j["guest_path"] = nullptr;  // this sharer leaves the mount to the guest
      j["storages"] = nlohmann::json::array();
    }
    mounts.push_back(std::move(j));
  }
  PrintJson({{"container_id", a.cid},
             {"rootfs",
              {{"guest_path", shared.rootfs.guest_path},
               {"storages", StoragesJson(shared.rootfs.container_storages)}}},
             {"mounts", mounts}});
  return 0;
}

Result<int> Unshare(const GlobalOptions& g, const UnshareArgs& a) {
  RETURN_IF_ERROR(ValidateId("sandbox", a.sid));
  RETURN_IF_ERROR(ValidateId("container", a.cid));
  ASSIGN_OR_RETURN(auto sb, OpenSandbox(g, a.sid, a.agent_socket));
  RETURN_IF_ERROR(sb->RemoveContainer(a.cid));
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
  share->add_option("--bundle", sa->bundle, "OCI bundle directory (holding config.json)")
      ->required();
  share->add_option("--agent", sa->agent_socket, kAgentHelp);
  share->callback([&g, sa, action] { *action = [&g, sa] { return Share(g, *sa); }; });

  auto ua = std::make_shared<UnshareArgs>();
  auto* unshare =
      container->add_subcommand("unshare", "unshare everything recorded for a container");
  unshare->add_option("SID", ua->sid, "sandbox id")->required();
  unshare->add_option("CID", ua->cid, "container id")->required();
  unshare->add_option("--agent", ua->agent_socket, kAgentHelp);
  unshare->callback([&g, ua, action] { *action = [&g, ua] { return Unshare(g, *ua); }; });
}

}  // namespace vmshare::cli
