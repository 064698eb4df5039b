// A private containerd for the shim's end-to-end tests: Debian's containerd
// with its own root, state, sockets and config under a temp dir, the CRI
// plugin disabled, a tmpfs over /run/containerd (ctr's FIFOs and the shims'
// sockets) in the test's private mount namespace, and the built shim first
// on its PATH. Driven only through Debian's `ctr`.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/test_util.h"
#include "sys/env.h"

namespace vmshare::shim::testing {

namespace fs = std::filesystem;
using vmshare::testing::ReadFile;
using vmshare::testing::WriteFile;

inline constexpr char kRuntime[] = "io.containerd.vmshare.v2";

struct CtrResult {
  int code = -1;  // exit code, or -signal
  std::string out;
  std::string err;
};

// Processes whose command line contains `needle`; with `program`, only
// those whose argv[0] names it (a build's command line naming the shim, from
// another session on the machine, is not a shim).
inline std::vector<pid_t> ProcessesMatching(const std::string& needle,
                                            const std::string& program = "") {
  std::vector<pid_t> found;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ifstream st(e.path() / "stat");
    std::string stat;
    std::getline(st, stat);
    const size_t close = stat.rfind(')');
    const bool zombie =
        close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] == 'Z';
    const std::string argv0 = cmd.substr(0, cmd.find('\0'));
    const bool named = program.empty() || fs::path(argv0).filename() == program;
    if (!zombie && named && cmd.find(needle) != std::string::npos) found.push_back(std::stoi(name));
  }
  return found;
}

class Containerd {
 public:
  // dir: the test's temp dir. shim_dir: where containerd-shim-vmshare-v2 is.
  Containerd(std::string dir, std::string shim_dir, std::string shim_config)
      : dir_(std::move(dir)),
        shim_dir_(std::move(shim_dir)),
        shim_config_(std::move(shim_config)) {}
  ~Containerd() {
    Stop(/*sig=*/SIGTERM);
    KillLeftovers();
  }

  // How long one ctr command may take before the test fails.
  void set_ctr_limit(std::chrono::milliseconds limit) { ctr_limit_ = limit; }

  // SIGKILLs every process whose command line names this test's directory
  // (shims, QEMU, virtiofsd), so a failed test leaks nothing onto the
  // machine. Returns how many there were.
  size_t KillLeftovers() {
    auto left = ProcessesMatching(dir_ + "/");
    for (pid_t p : left) ::kill(p, SIGKILL);
    return left.size();
  }

  const std::string& address() const { return address_; }

  // This containerd's shims of `program` (their -address is its socket).
  std::vector<pid_t> Shims(const std::string& program = "containerd-shim-vmshare-v2") {
    return ProcessesMatching(dir_ + "/", program);
  }

  // Polls until `done` (a shim leaves on its own after containerd's
  // Shutdown call, once its events are flushed, and its VM with it). A hang
  // guard of 60 s, not a speed check. False if `done` never held.
  static bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 600; ++i) {
      if (done()) return true;
      sys::Env::Default()->SleepFor(std::chrono::milliseconds(100));
    }
    return done();
  }

  // Mounts the tmpfs over /run/containerd (once) and starts containerd.
  void Start() {
    if (!run_mounted_) {
      fs::create_directories("/run/containerd");
      ASSERT_EQ(::mount("tmpfs", "/run/containerd", "tmpfs", 0, "mode=0711"), 0)
          << "tmpfs on /run/containerd";
      run_mounted_ = true;
    }
    address_ = dir_ + "/c.sock";
    WriteFile(dir_ + "/config.toml",
              "version = 2\n"
              "root = \"" +
                  dir_ +
                  "/root\"\n"
                  "state = \"" +
                  dir_ +
                  "/state\"\n"
                  "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
                  "[grpc]\n  address = \"" +
                  address_ +
                  "\"\n"
                  "[ttrpc]\n  address = \"" +
                  address_ +
                  ".ttrpc\"\n"
                  "[debug]\n  level = \"info\"\n");
    sys::ChildOptions o;
    o.argv = {"containerd", "--config", dir_ + "/config.toml"};
    for (char** e = environ; *e != nullptr; ++e) {
      std::string v = *e;
      if (v.rfind("PATH=", 0) == 0 || v.rfind("VMSHARE_SHIM_CONFIG=", 0) == 0) continue;
      o.env.push_back(v);
    }
    const char* path = std::getenv("PATH");
    o.env.push_back("PATH=" + shim_dir_ + ":" + (path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"));
    o.env.push_back("VMSHARE_SHIM_CONFIG=" + shim_config_);
    o.stdout_path = dir_ + "/containerd.log";
    o.stderr_path = dir_ + "/containerd.log";
    auto child = env_->Spawn(o);
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    child_ = std::move(*child);
    for (int i = 0; i < 300; ++i) {
      if (Ctr({"version"}).code == 0) return;
      env_->SleepFor(std::chrono::milliseconds(100));
    }
    FAIL() << "containerd did not answer; log:\n" << Log();
  }

  // Ends containerd (its shims live on, as on a real node).
  void Stop(int sig) {
    if (child_.pid <= 0) return;
    env_->Kill(child_, sig).IgnoreError();
    if (!env_->Wait(child_, std::chrono::milliseconds(20000)).ok()) {
      env_->Kill(child_, SIGKILL).IgnoreError();
      env_->Wait(child_).status().IgnoreError();
    }
    child_ = sys::Child{};
  }

  void UnmountRun() {
    if (run_mounted_) ::umount2("/run/containerd", MNT_DETACH);
    run_mounted_ = false;
  }

  // ctr --address <ours> args..., stdin from `stdin_path` (or /dev/null).
  CtrResult Ctr(const std::vector<std::string>& args, const std::string& stdin_path = "") {
    std::vector<std::string> argv = {"ctr", "--address", address_};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv, stdin_path);
  }

  CtrResult Run(const std::vector<std::string>& argv, const std::string& stdin_path = "") {
    const std::string out = dir_ + "/ctr.out", err = dir_ + "/ctr.err";
    ::unlink(out.c_str());
    ::unlink(err.c_str());
    sys::ChildOptions o;
    o.argv = argv;
    if (!stdin_path.empty()) o.stdin_path = stdin_path;
    o.stdout_path = out;
    o.stderr_path = err;
    auto child = env_->Spawn(o);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    if (!child.ok()) return {};
    auto st = env_->Wait(*child, ctr_limit_);
    if (!st.ok()) {
      env_->Kill(*child, SIGKILL).IgnoreError();
      env_->Wait(*child).status().IgnoreError();
      ADD_FAILURE() << argv[0] << " " << (argv.size() > 3 ? argv[3] : "") << " did not end";
      return {};
    }
    return CtrResult{st->exited ? st->code : -st->code, ReadFile(out), ReadFile(err)};
  }

  // Starts ctr in the background; Finish() collects it.
  sys::Child Spawn(const std::vector<std::string>& args, const std::string& out_path) {
    std::vector<std::string> argv = {"ctr", "--address", address_};
    argv.insert(argv.end(), args.begin(), args.end());
    sys::ChildOptions o;
    o.argv = argv;
    o.stdout_path = out_path;
    o.stderr_path = out_path + ".err";
    auto child = env_->Spawn(o);
    EXPECT_TRUE(child.ok()) << child.status().ToString();
    return child.ok() ? std::move(*child) : sys::Child{};
  }
  int Finish(sys::Child& c) {
    auto st = env_->Wait(c, std::chrono::milliseconds(300000));
    if (!st.ok()) {
      env_->Kill(c, SIGKILL).IgnoreError();
      env_->Wait(c).status().IgnoreError();
      return -1000;
    }
    return st->exited ? st->code : -st->code;
  }

  // The task's status column in `ctr task ls` ("" when not listed).
  std::string TaskStatus(const std::string& id) {
    CtrResult r = Ctr({"task", "ls"});
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string task, pid, status;
      ls >> task >> pid >> status;
      if (task == id) return status;
    }
    return "";
  }

  // Polls until the task's status is `want`, up to `limit`.
  bool WaitStatus(const std::string& id, const std::string& want,
                  std::chrono::milliseconds limit = std::chrono::milliseconds(60000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (TaskStatus(id) == want) return true;
      env_->SleepFor(std::chrono::milliseconds(200));
    }
    return false;
  }

  // `ctr task delete ID`: the task's exit status, which ctr reports only as
  // a warning on stderr ("... exit with non-zero exit code N"); -1 when the
  // delete failed.
  int DeleteTask(const std::string& id) {
    CtrResult r = Ctr({"task", "delete", id});
    if (r.code != 0) {
      ADD_FAILURE() << "ctr task delete " << id << ": " << r.err;
      return -1;
    }
    const std::string key = "non-zero exit code ";
    const size_t at = r.err.find(key);
    return at == std::string::npos ? 0 : std::atoi(r.err.c_str() + at + key.size());
  }

  std::string Log() { return ReadFile(dir_ + "/containerd.log"); }

 private:
  sys::Env* env_ = sys::Env::Default();
  std::string dir_;
  std::string shim_dir_;
  std::string shim_config_;
  std::string address_;
  sys::Child child_;
  bool run_mounted_ = false;
  std::chrono::milliseconds ctr_limit_{600000};
};

}  // namespace vmshare::shim::testing
