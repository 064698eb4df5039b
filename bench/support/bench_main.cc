// Benchmark main: like the test main, enters a private mount namespace (when
// root) so nothing a benchmark mounts reaches the machine.
#include <benchmark/benchmark.h>
#include <sched.h>
#include <sys/mount.h>

#include <cstdio>

#include "sys/env.h"

int main(int argc, char** argv) {
  auto* env = vmshare::sys::Env::Default();
  if (env->Unshare(CLONE_NEWNS).ok()) {
    vmshare::Status s = env->Mount("", "/", "", MS_REC | MS_PRIVATE, "");
    if (!s.ok()) {
      std::fprintf(stderr, "bench main: make / private: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
