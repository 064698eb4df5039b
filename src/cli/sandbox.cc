// vmshare sandbox prepare | cleanup
#include <spdlog/spdlog.h>

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
  // Builds (and so validates) the sharer before anything is written.
  ASSIGN_OR_RETURN(auto sharer, SharerFor(g, a.sid, want));

  persist::StateStore store(sys::Env::Default(), StateRoot(g));
  auto existing = store.LoadSandbox(a.sid);
  const bool fresh = !existing.ok() && existing.status().code() == Code::kNotFound;
  if (!existing.ok() && !fresh) return existing.status();
  if (!fresh && (existing->sandbox.shared_fs != want.shared_fs ||
                 existing->sandbox.bind_mounts != want.bind_mounts))
    return FailedPreconditionError("prepare sandbox \"" + a.sid +
                                   "\": already prepared with other settings (clean it up first)");

  ASSIGN_OR_RETURN(auto lock, store.Lock(a.sid, persist::LockMode::kExclusive));
  // The state is recorded before the tree is made, so a crash in between
  // leaves something `sandbox cleanup` (and gc) can find.
  if (fresh) RETURN_IF_ERROR(store.SaveSandbox(a.sid, want));
  Status s = sharer->Prepare();
  if (!s.ok()) {
    if (fresh) {
      // Put things back as they were: nothing of a failed new sandbox stays.
      sharer->Cleanup().IgnoreError();
      store.DestroySandbox(a.sid).IgnoreError();
    }
    return s;
  }
  PrintJson({{"sandbox_id", a.sid},
             {"shared_fs", want.shared_fs},
             {"host_shared_dir", g.root + "/sandboxes/" + a.sid + "/shared"},
             {"storages", StoragesJson({Storage{.driver = "virtio-fs",
                                                .source = kShareTag,
                                                .fstype = "virtiofs",
                                                .mount_point = kGuestSharedDir}})}});
  return 0;
}

Result<int> Cleanup(const GlobalOptions& g, const CleanupArgs& a) {
  RETURN_IF_ERROR(ValidateId("sandbox", a.sid));
  persist::StateStore store(sys::Env::Default(), StateRoot(g));
  auto rec = store.LoadSandbox(a.sid);
  if (!rec.ok() && rec.status().code() != Code::kNotFound) return rec.status();
  // With no state at all the share tree may still exist (a crash right
  // after Prepare started): Cleanup is idempotent, so run it with defaults.
  SandboxState state = rec.ok() ? rec->sandbox : SandboxState{};
  ASSIGN_OR_RETURN(auto sharer, SharerFor(g, a.sid, state, nullptr, a.agent_socket));
  if (!rec.ok()) {
    // Locked like any other change (gc or a racing prepare must not see a
    // half-removed tree); the lock's directory goes with the rest.
    ASSIGN_OR_RETURN(auto lock, store.Lock(a.sid, persist::LockMode::kExclusive));
    RETURN_IF_ERROR(sharer->Cleanup());
    RETURN_IF_ERROR(store.DestroySandbox(a.sid));
    PrintJson({{"sandbox_id", a.sid}, {"cleaned", true}});
    return 0;
  }

  ASSIGN_OR_RETURN(auto lock, store.Lock(a.sid, persist::LockMode::kExclusive));
  ASSIGN_OR_RETURN(rec, store.LoadSandbox(a.sid));  // again, under the lock
  if (!rec->containers.empty() && !a.force) {
    std::string ids;
    for (const auto& [cid, _] : rec->containers) ids += (ids.empty() ? "" : ", ") + cid;
    return FailedPreconditionError("clean up sandbox \"" + a.sid + "\": containers still shared: " + ids +
                                   " (unshare them, or use --force)");
  }
  for (auto& [cid, cstate] : rec->containers) {
    spdlog::debug("unsharing container {} of sandbox {}", cid, a.sid);
    RETURN_IF_ERROR(UnshareContainer(*sharer, store, a.sid, cid, cstate));
  }
  sharer->StopFileEventWatcher();
  RETURN_IF_ERROR(sharer->Cleanup());
  RETURN_IF_ERROR(store.DestroySandbox(a.sid));
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
  auto* cleanup = sandbox->add_subcommand("cleanup", "remove the sandbox's share tree and state (idempotent)");
  cleanup->add_option("SID", ca->sid, "sandbox id")->required();
  cleanup->add_flag("--force", ca->force, "unshare containers that are still shared first");
  cleanup->add_option("--agent", ca->agent_socket,
                      "unix socket of the guest agent (to unshare copied containers with --force)");
  cleanup->callback([&g, ca, action] { *action = [&g, ca] { return Cleanup(g, *ca); }; });
}

}  // namespace vmshare::cli
