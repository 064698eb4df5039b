#include "cli/context.h"

namespace vmshare::cli {

sandbox::SandboxOptions SandboxOptionsFor(const GlobalOptions& g, const std::string& sid,
                                          const std::string& agent_socket) {
  sandbox::SandboxOptions o;
  o.env = sys::Env::Default();
  o.root = g.root;
  o.sandbox_id = sid;
  o.kubelet_root = g.kubelet_root;
  o.agent_socket = agent_socket;
  return o;
}

Result<std::unique_ptr<sandbox::Sandbox>> OpenSandbox(const GlobalOptions& g,
                                                      const std::string& sid,
                                                      const std::string& agent_socket,
                                                      std::optional<SandboxState> settings) {
  sandbox::SandboxOptions o = SandboxOptionsFor(g, sid, agent_socket);
  o.settings = std::move(settings);
  return sandbox::Sandbox::Open(std::move(o));
}

}  // namespace vmshare::cli
