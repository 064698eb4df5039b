// What the sandbox and container subcommands share: the sandbox layer's
// options from the global options, and opening a sandbox with them.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/types.h"
#include "sandbox/sandbox.h"

namespace vmshare::cli {

// The sandbox options every command derives from the global options: root,
// kubelet root, the sandbox id, and (with --agent) the agent's socket.
sandbox::SandboxOptions SandboxOptionsFor(const GlobalOptions& g, const std::string& sid,
                                          const std::string& agent_socket = "");

// Opens sandbox `sid` (sandbox::Sandbox::Open) with SandboxOptionsFor and,
// when given, the settings `sandbox prepare` wants.
Result<std::unique_ptr<sandbox::Sandbox>> OpenSandbox(
    const GlobalOptions& g, const std::string& sid, const std::string& agent_socket = "",
    std::optional<SandboxState> settings = std::nullopt);

}  // namespace vmshare::cli
