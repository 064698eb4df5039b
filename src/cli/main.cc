// vmshare: the command line. Builds the CLI11 app from the subcommand files,
// runs the chosen action, and is the one place that prints an error: one line
// on stderr, "vmshare: <message>". Exit codes:
//   0         success (--help and --version too: they print on stdout)
//   n         `run`: the container process's exit status (128 + n when
//             signal n killed it in the guest)
//   1         a command failed
//   2         a usage error: one line, the parser's message and a pointer to
//             --help, unprefixed
//   124       `run --timeout` expired (as timeout(1))
//   128 + n   `run` stopped by signal n: 129 SIGHUP, 130 SIGINT, 143 SIGTERM;
//             141 (SIGPIPE's) also when its stdout or stderr lost its reader
// A stopped run has torn everything down before it exits, and says why on
// stderr like an error ("vmshare: run: interrupted by SIGINT").
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/version.h"
#include "sys/heap.h"

namespace {

// A parser message as one lowercase line.
std::string UsageLine(std::string m) {
  for (char& c : m) {
    if (c == '\n') c = ' ';
  }
  while (!m.empty() && m.back() == ' ') m.pop_back();
  if (m.size() > 1 && m[0] >= 'A' && m[0] <= 'Z' && !(m[1] >= 'A' && m[1] <= 'Z'))
    m[0] = static_cast<char>(m[0] - 'A' + 'a');
  return m + " (see `vmshare --help`)";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vmshare::cli;
  // Copy mode sends files through the agent channel in 1 MiB calls.
  vmshare::sys::TuneHeapForBulkCopies();
  CLI::App app{"vmshare: share host files with VM-isolated containers", "vmshare"};
  app.require_subcommand(1);
  // Global options are accepted anywhere, before or after the subcommand
  // (`vmshare run --kubelet-root DIR`): every subcommand, added below,
  // inherits this and hands the options it does not know to its parent.
  app.fallthrough();
  app.set_version_flag("--version", std::string("vmshare ") + VMSHARE_VERSION_STRING,
                       "print the version and exit");
  GlobalOptions g;
  app.add_option("--root", g.root, "state and share-tree root")->capture_default_str();
  app.add_flag("-v,--verbose", g.verbose, "debug logs on stderr");
  app.add_option(
         "--kubelet-root", g.kubelet_root,
         "kubelet root; configmap/secret/projected/downward-API volumes below it are watched")
      ->capture_default_str();

  Action action;
  AddSandboxCommands(app, g, &action);
  AddContainerCommands(app, g, &action);
  AddStateCommands(app, g, &action);
  int failure_exit = 1;
  AddRunCommand(app, g, &action, &failure_exit);
  AddGcCommand(app, g, &action);
  AddWatchCommand(app, g, &action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string message = e.what();
    // `vmshare frob`: CLI11 says only that a subcommand is required.
    const std::vector<std::string> extra = app.remaining(true);
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && !extra.empty())
      message = "unknown command \"" + extra.front() + "\"";
    std::fprintf(stderr, "%s\n", UsageLine(message).c_str());
    return 2;
  }

  auto logger = spdlog::stderr_color_st("vmshare");
  logger->set_pattern("vmshare: %l: %v");
  logger->set_level(g.verbose ? spdlog::level::debug : spdlog::level::warn);
  spdlog::set_default_logger(logger);

  if (!action) {
    std::fprintf(stderr, "%s\n", UsageLine("no command given").c_str());
    return 2;
  }
  vmshare::Result<int> r = action();
  if (!r.ok()) {
    std::fprintf(stderr, "vmshare: %s\n", r.status().ToString().c_str());
    return failure_exit;
  }
  return *r;
}
