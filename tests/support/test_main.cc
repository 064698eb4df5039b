// Test main for every vmshare test binary.
//
// Tests mount things. Before any test runs, this main moves the process into
// a new mount namespace whose mounts are all private, so nothing a test
// mounts (or forgets to unmount) reaches the machine's namespace. Tests that
// need root skip themselves (see RequireRoot in test_util.h); the namespace is
// only entered when we are root.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>

#include "sys/env.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto* env = vmshare::sys::Env::Default();
  if (env->Unshare(CLONE_NEWNS).ok()) {
    vmshare::Status s = env->Mount("", "/", "", MS_REC | MS_PRIVATE, "");
    if (!s.ok()) {
      std::fprintf(stderr, "test main: make / private: %s\n", s.ToString().c_str());
      return 1;
    }
  } else {
    std::fprintf(stderr,
                 "test main: no private mount namespace (not root?); mounting tests will skip\n");
  }
  return RUN_ALL_TESTS();
}
