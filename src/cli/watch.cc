// vmshare [--kubelet-root DIR] watch SID --agent SOCKET
//
// Runs the volume watcher of a prepared sandbox in the foreground until
// SIGINT or SIGTERM: every watched volume (configmap, secret, projected,
// downward-API) recorded in the sandbox's persisted container state is
// brought up to date in the guest at once, then kept in sync. The agent is
// reached on a unix socket (an agent started with `vmshare-agent --socket`,
// or a hybrid-vsock style socket that speaks ttrpc directly). The watch set
// is read when the command starts; containers shared later are picked up by
// restarting it. Each synced update prints one line on stderr with -v;
// failures (retried by the watcher) always do.
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdio>

#include "agent/client.h"
#include "cli/context.h"
#include "core/ids.h"

namespace vmshare::cli {
namespace {

struct WatchFlags {
  std::string sid;
  std::string agent_socket;
};

Result<int> Watch(const GlobalOptions& g, const WatchFlags& f) {
  RETURN_IF_ERROR(ValidateId("sandbox", f.sid));
  sys::Env* env = sys::Env::Default();
  sandbox::SandboxOptions o = SandboxOptionsFor(g, f.sid);
  const bool verbose = g.verbose;
  o.watch_report = [verbose](const std::string& volume, const Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "vmshare: watch: %s\n", s.ToString().c_str());
    } else if (verbose) {
      std::fprintf(stderr, "vmshare: watch: %s is up to date in the guest\n", volume.c_str());
    }
  };
  ASSIGN_OR_RETURN(auto sb, sandbox::Sandbox::Open(std::move(o)));
  RETURN_IF_ERROR(sb->RequireRecorded());
  ASSIGN_OR_RETURN(sys::Fd signals, env->SignalFd({SIGINT, SIGTERM}));
  auto client = agent::AgentClient::Connect(env, f.agent_socket);
  if (!client.ok())
    return client.status().WithContext("watch sandbox " + Quote(f.sid) + ": connect to the agent");
  std::unique_ptr<agent::AgentClient> agent = std::move(client).value();
  sb->SetAgent(agent.get());
  RETURN_IF_ERROR(sb->StartWatcher());
  if (verbose) std::fprintf(stderr, "vmshare: watching sandbox %s\n", f.sid.c_str());
  for (;;) {
    ASSIGN_OR_RETURN(short ready, env->PollOne(signals, POLLIN, std::chrono::milliseconds(-1)));
    if (!ready) continue;
    ASSIGN_OR_RETURN(int sig, env->ReadSignal(signals));
    if (sig != 0) break;
  }
  sb->StopWatcher();
  sb->SetAgent(nullptr);
  return 0;
}

}  // namespace

void AddWatchCommand(CLI::App& app, const GlobalOptions& g, Action* action) {
  auto flags = std::make_shared<WatchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "watch",
      "keep the sandbox's configmap/secret/projected/downward-API volumes in sync in the guest "
      "(foreground, until SIGINT/SIGTERM)");
  cmd->add_option("SID", flags->sid, "sandbox id")->required();
  cmd->add_option("--agent", flags->agent_socket, "unix socket of the guest agent")->required();
  cmd->callback([flags, &g, action] { *action = [flags, &g] { return Watch(g, *flags); }; });
}

}  // namespace vmshare::cli
