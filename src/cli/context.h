// What the sandbox and container subcommands share: opening the state store
// and the sharer of a sandbox, and unsharing a whole container (used by
// `container unshare` and `sandbox cleanup --force`).
#pragma once

#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/types.h"
#include "persist/store.h"
#include "share/sharer.h"

namespace vmshare::cli {

// <root>/sbs: Kata's persist layout below vmshare's root.
std::string StateRoot(const std::string& root);
inline std::string StateRoot(const GlobalOptions& g) { return StateRoot(g.root); }

// The sharer settings every command derives from the global options and the
// sandbox's persisted state (no hooks, no agent).
share::SharerConfig BaseSharerConfig(const GlobalOptions& g, const std::string& sid, const SandboxState& state);

// The sharer for sandbox `sid` as its persisted state describes it. With a
// store, every share is recorded in the container's persisted state before it
// is mounted (DESIGN: intent before action), so a crash mid-share leaves a
// record that `container unshare`, `sandbox cleanup --force` and gc act on.
// With an agent socket, the sharer reaches the guest agent there (connected
// on first use): copy mode ("none") and watched volumes need it.
Result<std::unique_ptr<share::FilesystemSharer>> SharerFor(const GlobalOptions& g, const std::string& sid,
                                                          const SandboxState& state,
                                                          persist::StateStore* store = nullptr,
                                                          const std::string& agent_socket = "");

// Unshares every mount recorded for the container, then its rootfs, then
// removes its state. Stops at the first failure, after saving what is still
// shared, so a retry (or gc) can finish the job.
Status UnshareContainer(share::FilesystemSharer& sharer, persist::StateStore& store, const std::string& sid,
                        const std::string& cid, ContainerState state);

// Loads the sandbox, mapping kNotFound to a message telling how to make it.
Result<persist::SandboxRecord> LoadExistingSandbox(persist::StateStore& store, const std::string& sid);

}  // namespace vmshare::cli
