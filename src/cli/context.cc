#include "cli/context.h"

#include <spdlog/spdlog.h>

#include "agent/client.h"

namespace vmshare::cli {

std::string StateRoot(const std::string& root) { return root + "/sbs"; }

share::SharerConfig BaseSharerConfig(const GlobalOptions& g, const std::string& sid, const SandboxState& state) {
  share::SharerConfig config;
  config.env = sys::Env::Default();
  config.root = g.root;
  config.sandbox_id = sid;
  config.sandbox_bind_mounts = state.bind_mounts;
  config.kubelet_root = g.kubelet_root;
  return config;
}

Result<std::unique_ptr<share::FilesystemSharer>> SharerFor(const GlobalOptions& g, const std::string& sid,
                                                          const SandboxState& state,
                                                          persist::StateStore* store,
                                                          const std::string& agent_socket) {
  share::SharerConfig config = BaseSharerConfig(g, sid, state);
  if (store != nullptr) {
    // The mount being shared is one of container.state's, already carrying
    // its host path: saving the container's state records it.
    config.before_mount = [store, sid](const Container& c, const Mount&) {
      return store->SaveContainer(sid, c.id, c.state);
    };
  }
  if (!agent_socket.empty()) {
    // Connected on first use, and kept for the sharer's lifetime.
    auto client = std::make_shared<std::unique_ptr<agent::AgentClient>>();
    config.agent = [client, agent_socket]() -> agent::AgentClient* {
      if (!*client) {
        auto c = agent::AgentClient::Connect(sys::Env::Default(), agent_socket);
        if (!c.ok()) {
          // The sharer reports the missing agent in its own error.
          spdlog::error("connect to the agent: {}", c.status().ToString());
          return nullptr;
        }
        *client = std::move(c).value();
      }
      return client->get();
    };
  }
  return share::NewSharer(state.shared_fs, std::move(config));
}

Status UnshareContainer(share::FilesystemSharer& sharer, persist::StateStore& store, const std::string& sid,
                        const std::string& cid, ContainerState state) {
  Container c{cid, state};
  for (Mount& m : c.state.mounts) {
    if (m.host_path.empty() && !m.mounted) continue;
    Status s = sharer.UnshareFile(c, m);
    if (!s.ok()) {
      store.SaveContainer(sid, cid, c.state).IgnoreError();  // the unshare error is the one to report
      return s.WithContext("unshare container \"" + cid + "\"");
    }
    m.host_path.clear();
    m.mounted = false;
  }
  Status s = sharer.UnshareRootFilesystem(c);
  if (!s.ok()) {
    store.SaveContainer(sid, cid, c.state).IgnoreError();
    return s.WithContext("unshare container \"" + cid + "\"");
  }
  return store.RemoveContainer(sid, cid);
}

Result<persist::SandboxRecord> LoadExistingSandbox(persist::StateStore& store, const std::string& sid) {
  auto rec = store.LoadSandbox(sid);
  if (!rec.ok() && rec.status().code() == Code::kNotFound)
    return NotFoundError("sandbox \"" + sid + "\" does not exist (run `vmshare sandbox prepare " + sid + "` first)");
  return rec;
}

}  // namespace vmshare::cli
