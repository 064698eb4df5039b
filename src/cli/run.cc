// `vmshare run`: the main job. Reads an OCI bundle (or the built-in example),
// and hands it to RunInGuest (run_job.h), which boots a guest, shares the
// bundle's rootfs and mounts, runs the process and tears everything down. The
// process's output goes to our stdout/stderr, our stdin is its stdin (to
// EOF), and its exit status becomes ours (124 when --timeout ended the run,
// 128 + n when signal n did).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/server/oci_process.h"
#include "cli/bundle.h"
#include "cli/bundle_check.h"
#include "cli/commands.h"
#include "cli/run_job.h"
#include "sandbox/layout.h"

#ifndef VMSHARE_EXAMPLE_BUNDLE
#error "VMSHARE_EXAMPLE_BUNDLE must be defined by the build"
#endif

namespace vmshare::cli {
namespace {

// Capability numbers go up to 63 in the kernel's 64-bit masks.
constexpr int kCapLastBound = 63;

struct RunFlags {
  std::string bundle;
  std::string accel = "auto";
  std::string root;  // overrides the global --root when given here
  int timeout_s = 0;
  std::string shared_fs = "virtio-fs";
  std::string guest_dir;
  std::string console_log;
  int memory_mb = 512;
  bool timings = false;
  bool guest_local_copies = false;
  std::vector<std::string> command;
};

// False once the stream's reader went away (EPIPE: SIGPIPE is blocked).
bool WriteStream(int stream, std::string_view data) {
  std::FILE* f = stream == 1 ? stdout : stderr;
  errno = 0;
  const bool written =
      std::fwrite(data.data(), 1, data.size(), f) == data.size() && std::fflush(f) == 0;
  if (written || errno != EPIPE) return true;
  std::clearerr(f);
  return false;
}

void PrintTimings(const RunTimings& t) {
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  std::fprintf(stderr,
               "vmshare run timings (ms, accel %s): prepare %.1f image %.1f boot %.1f share %.1f "
               "create %.1f exec %.1f run %.1f teardown %.1f to_first_output %.1f\n",
               t.accel.c_str(), ms(t.prepare), ms(t.image), ms(t.boot), ms(t.share), ms(t.create),
               ms(t.exec), ms(t.run), ms(t.teardown), ms(t.to_first_output));
}

Result<int> Run(const RunFlags& f, const GlobalOptions& g, int* failure_exit) {
  sys::Env* env = sys::Env::Default();
  // Our stdin is the process's, to EOF: a duplicate, so that nothing here
  // ever closes fd 0. First, before anything opens a descriptor: with fd 0
  // closed, the next one opened would be 0 and be taken for stdin. None when
  // it is closed: the process reads EOF at once.
  Result<sys::Fd> in = env->DupFd(0);
  // Before any thread starts, so that every thread has them blocked and a
  // ^C or kill reaches the signalfd, which tears the run down in order.
  // SIGPIPE too: a write to an output nobody reads fails with EPIPE instead
  // of killing us mid-run, and the run is then stopped the same way (141).
  ASSIGN_OR_RETURN(sys::Fd signals, env->SignalFd({SIGINT, SIGTERM, SIGHUP, SIGPIPE}));

  const std::string dir = f.bundle.empty() ? std::string(VMSHARE_EXAMPLE_BUNDLE) : f.bundle;
  ASSIGN_OR_RETURN(Bundle bundle, ReadBundle(env, dir));
  // Everything about the bundle is checked before a guest exists.
  RETURN_IF_ERROR(ResolveBundleSources(env, &bundle));
  if (f.shared_fs == "none") {
    RETURN_IF_ERROR(CheckCopyModeMounts(bundle, g.kubelet_root, f.guest_local_copies));
  } else {
    RETURN_IF_ERROR(CreateMountTargets(env, bundle));
  }
  for (const std::string& n : bundle.notices) std::fprintf(stderr, "vmshare: %s\n", n.c_str());

  RunJob job;
  const std::string sid = sandbox::NewRunSandboxId(env);
  job.sandbox.root = f.root.empty() ? g.root : f.root;
  job.sandbox.sandbox_id = sid;
  job.sandbox.kubelet_root = g.kubelet_root;
  SandboxState settings;
  settings.state = "running";
  settings.shared_fs = f.shared_fs;
  job.sandbox.settings = settings;
  job.guest.accel = f.accel;
  job.guest.guest_dir = f.guest_dir;
  job.guest.console_log = f.console_log;
  job.guest.memory_mb = f.memory_mb;
  job.timeout = std::chrono::seconds(f.timeout_s);

  sandbox::ContainerRequest& c = job.container;
  c.id = sid;
  c.bundle_path = bundle.dir;
  c.rootfs.source = bundle.rootfs;
  c.rootfs.read_only = bundle.rootfs_readonly;
  // In the bundle's order: the guest makes them in that order.
  for (Mount m : bundle.mounts) {
    const bool host = IsHostBind(m);
    if (host) m.read_only = m.read_only || HasReadOnlyOption(m.options);
    c.mounts.push_back({std::move(m), host});
  }
  c.spec = bundle.oci;  // hostname, process and linux fields; the rest below
  // run relays stdout and stderr apart, on pipes: no guest pty (the notice
  // above says so), whatever the bundle asks.
  c.spec.terminal = false;
  c.spec.args = f.command.empty() ? bundle.process.args : f.command;
  c.spec.env = bundle.process.env;
  c.spec.cwd = bundle.process.cwd;
  c.spec.uid = bundle.process.uid;
  c.spec.gid = bundle.process.gid;
  c.spec.root_readonly = bundle.rootfs_readonly;
  if (c.spec.args.empty())
    return InvalidArgumentError("run: bundle " + dir +
                                " has no process.args and no command was given");
  // The agent's own check of namespaces, hostname, capabilities, rlimits,
  // umask, sysctl and paths, here before the boot rather than after it
  // (kCapLastBound: the guest kernel drops what it lacks, as runc does).
  {
    sys::ContainedProcessOptions unused;
    RETURN_IF_ERROR(
        agent::ApplyProcessSpec(c.spec, kCapLastBound, &unused).WithContext("run: bundle " + dir));
  }
  // Progress is for people: only when stderr is a terminal (or -v).
  const bool chatty = g.verbose || ::isatty(2) == 1;
  if (chatty)
    job.on_progress = [](std::string_view what) {
      std::fprintf(stderr, "vmshare: %.*s\n", static_cast<int>(what.size()), what.data());
    };
  job.on_output = WriteStream;
  job.signal_fd = &signals;
  if (in.ok()) job.stdin_fd = &*in;

  ASSIGN_OR_RETURN(RunOutcome outcome, RunInGuest(env, job));
  if (f.timings) PrintTimings(outcome.timings);
  if (!outcome.stopped.ok()) {
    *failure_exit = outcome.exit_code;
    return outcome.stopped;
  }
  return outcome.exit_code;
}

}  // namespace

void AddRunCommand(CLI::App& app, const GlobalOptions& g, Action* action, int* failure_exit) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand(
      "run", "boot a guest, run a bundle's process in it with its files shared, and clean up");
  cmd->add_option("--bundle", flags->bundle,
                  "OCI bundle directory (default: the built-in example)");
  cmd->add_option("--accel", flags->accel, "accelerator: auto, kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}))
      ->capture_default_str();
  cmd->add_option("--root", flags->root, "state and share-tree root (default: the global --root)");
  cmd->add_option("--timeout", flags->timeout_s, "seconds the whole run may take (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--shared-fs", flags->shared_fs, "how files reach the guest")
      ->check(CLI::IsMember({"virtio-fs", "none"}))
      ->capture_default_str();
  cmd->add_option("--guest-dir", flags->guest_dir, "directory with vmlinuz and initramfs.img");
  cmd->add_option("--console-log", flags->console_log,
                  "keep the guest's console output in this file");
  cmd->add_option("--memory", flags->memory_mb, "guest memory in MiB")
      ->check(CLI::Range(128, 65536));
  cmd->add_flag("--timings", flags->timings, "print how long each phase took to stderr");
  cmd->add_flag("--guest-local-copies", flags->guest_local_copies,
                "--shared-fs none: accept read-write bind mounts as copies whose writes stay in "
                "the guest (refused by default)");
  cmd->add_option("command", flags->command, "command to run instead of the bundle's process.args");
  cmd->positionals_at_end();
  cmd->callback([flags, &g, action, failure_exit] {
    *action = [flags, &g, failure_exit] { return Run(*flags, g, failure_exit); };
  });
}

}  // namespace vmshare::cli
