// vmshare sandbox prepare | cleanup
#include "cli/context.h"
#include "cli/json_out.h"
#include "core/ids.h"

namespace vmshare::cli {
namespace {

struct PrepareArgs {
  std::string sid;
  std::vector<std::string> bind_mounts;
  std::string shared_fs = "virtio-fs";
};

struct CleanupArgs {
  std::string sid;
  bool force = false;
  std::string agent_socket;
};

Result<int> Prepare(const GlobalOptions& g, const PrepareArgs& a) {
  RETURN_IF_ERROR(ValidateId("sandbox", a.sid));
  SandboxState want;
  want.state = "ready";
  want.shared_fs = a.shared_fs;
  want.bind_mounts = a.bind_mounts;
  ASSIGN_OR_RETURN(auto sb, OpenSandbox(g, a.sid, "", want));
  RETURN_IF_ERROR(sb->Prepare());
  PrintJson({{"sandbox_id", a.sid},
             {"shared_fs", want.shared_fs},
             {"host_shared_dir", sb->layout().tree.shared},
             {"storages", StoragesJson(sb->SandboxStorages())}});
  return 0;
}

Result<int> Cleanup(const GlobalOptions& g, const CleanupArgs& a) {
  RETURN_IF_ERROR(ValidateId("sandbox", a.sid));
  ASSIGN_OR_RETURN(auto sb, OpenSandbox(g, a.sid, a.agent_socket));
  RETURN_IF_ERROR(sb->Cleanup(a.force));
  PrintJson({{"sandbox_id", a.sid}, {"cleaned", true}});
  return 0;
}

}  // namespace

void AddSandboxCommands(CLI::App& app, const GlobalOptions& g, Action* action) {
  auto* sandbox = app.add_subcommand("sandbox", "prepare or clean up a sandbox's share tree");
  sandbox->require_subcommand(1);

  auto pa = std::make_shared<PrepareArgs>();
  auto* prepare = sandbox->add_subcommand("prepare", "make the sandbox's share tree (idempotent)");
  prepare->add_option("SID", pa->sid, "sandbox id")->required();
  prepare->add_option("--bind-mount", pa->bind_mounts,
                      "host directory shared read-only with every container (repeatable)");
  prepare->add_option("--shared-fs", pa->shared_fs, "how files reach the guest")
      ->check(CLI::IsMember({"virtio-fs", "none"}))
      ->capture_default_str();
  prepare->callback([&g, pa, action] { *action = [&g, pa] { return Prepare(g, *pa); }; });

  auto ca = std::make_shared<CleanupArgs>();
  auto* cleanup =
      sandbox->add_subcommand("cleanup", "remove the sandbox's share tree and state (idempotent)");
  cleanup->add_option("SID", ca->sid, "sandbox id")->required();
  cleanup->add_flag("--force", ca->force, "unshare containers that are still shared first");
  cleanup->add_option("--agent", ca->agent_socket,
                      "unix socket of the guest agent (to unshare copied containers with --force)");
  cleanup->callback([&g, ca, action] { *action = [&g, ca] { return Cleanup(g, *ca); }; });
}

}  // namespace vmshare::cli
