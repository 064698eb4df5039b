// Running the built vmshare binary from a test: `vmshare --root <root>
// args...` as a child (inside the test's private mount namespace, which the
// child inherits), stdout and stderr captured through files.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/test_util.h"
#include "sys/env.h"

namespace vmshare::testing {

struct CmdResult {
  int code = -1;  // exit code, or -signal when killed
  bool killed = false;
  std::string out;
  std::string err;
};

// Runs `bin --root root args...` with stdout/stderr written to out_path and
// err_path (removed first, so a stale capture is never read). With
// kill_after, SIGKILLs the child after that long if it is still running.
// A failure to spawn or wait is a test failure and gives a default CmdResult.
inline CmdResult RunVmshare(const std::string& bin, const std::string& root,
                            const std::vector<std::string>& args, const std::string& out_path,
                            const std::string& err_path,
                            std::optional<std::chrono::microseconds> kill_after = {}) {
  std::vector<std::string> argv = {bin, "--root", root};
  argv.insert(argv.end(), args.begin(), args.end());
  ::unlink(out_path.c_str());
  ::unlink(err_path.c_str());
  sys::Env* env = sys::Env::Default();
  auto child = env->Spawn({.argv = argv, .stdout_path = out_path, .stderr_path = err_path});
  EXPECT_TRUE(child.ok()) << child.status().ToString();
  if (!child.ok()) return {};
  if (kill_after) {
    env->SleepFor(*kill_after);
    env->Kill(*child, SIGKILL).IgnoreError();  // it may have exited: the pidfd makes that harmless
  }
  auto st = env->Wait(*child);
  EXPECT_TRUE(st.ok());
  if (!st.ok()) return {};
  CmdResult r;
  r.killed = !st->exited;
  r.code = st->exited ? st->code : -st->code;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

}  // namespace vmshare::testing
