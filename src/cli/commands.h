// The vmshare command line: one file per subcommand, each adding itself to
// the CLI11 app. main.cc builds the app, runs the chosen command, and is the
// only place that prints an error.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "core/result.h"

namespace vmshare::cli {

struct GlobalOptions {
  std::string root = "/run/vmshare";              // --root
  bool verbose = false;                           // -v: debug logs on stderr
  std::string kubelet_root = "/var/lib/kubelet";  // --kubelet-root: where watched volumes live
};

// What a subcommand runs once CLI11 has parsed its flags. It returns the
// process exit code on success (0, or a guest process's status for `run`),
// or an error, which main prints as one line and turns into exit code 1
// (or the code the action asked for: see AddRunCommand).
using Action = std::function<Result<int>()>;

// Each Add*Command registers a subcommand on `app` and stores its action in
// `*action` when that subcommand is selected.
void AddSandboxCommands(CLI::App& app, const GlobalOptions& g, Action* action);
void AddContainerCommands(CLI::App& app, const GlobalOptions& g, Action* action);
void AddStateCommands(CLI::App& app, const GlobalOptions& g, Action* action);
// `run` fails with its own exit code when stopped (124 after --timeout,
// 128 + n after signal n): it stores it in `*failure_exit` (1 otherwise).
void AddRunCommand(CLI::App& app, const GlobalOptions& g, Action* action, int* failure_exit);
void AddGcCommand(CLI::App& app, const GlobalOptions& g, Action* action);
void AddWatchCommand(CLI::App& app, const GlobalOptions& g, Action* action);

}  // namespace vmshare::cli
