// vmshare: the command line. Builds the CLI11 app from the subcommand files,
// runs the chosen action, and is the one place that prints an error: a single
// line on stderr, exit code 1 (2 for usage errors, from CLI11).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace vmshare::cli;
  CLI::App app{"vmshare: share host files with VM-isolated containers", "vmshare"};
  app.require_subcommand(1);
  GlobalOptions g;
  app.add_option("--root", g.root, "state and share-tree root")->capture_default_str();
  app.add_flag("-v,--verbose", g.verbose, "debug logs on stderr");
  app.add_option("--kubelet-root", g.kubelet_root,
                 "kubelet root; configmap/secret/projected/downward-API volumes below it are watched")
      ->capture_default_str();

  Action action;
  AddSandboxCommands(app, g, &action);
  AddContainerCommands(app, g, &action);
  AddStateCommands(app, g, &action);
  AddRunCommand(app, g, &action);
  AddGcCommand(app, g, &action);
  AddWatchCommand(app, g, &action);

  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_st("vmshare");
  logger->set_pattern("vmshare: %l: %v");
  logger->set_level(g.verbose ? spdlog::level::debug : spdlog::level::warn);
  spdlog::set_default_logger(logger);

  if (!action) {
    std::fprintf(stderr, "vmshare: no command given\n");
    return 2;
  }
  vmshare::Result<int> r = action();
  if (!r.ok()) {
    std::fprintf(stderr, "vmshare: %s\n", r.status().ToString().c_str());
    return 1;
  }
  return *r;
}
