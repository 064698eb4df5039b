// Benchmark main: like the test main, enters a private mount namespace (when
// root) so nothing a benchmark mounts reaches the machine; mounts a tmpfs
// scratch base there (scratch.h); runs every benchmark in several randomly
// interleaved repetitions; and ends with a table that puts each benchmark's
// median beside its raw-syscall floor.
//
// Both real and CPU time are printed: on a loaded machine the real time of
// an unmount is mostly waiting for an RCU grace period, the CPU time is not.
// Floors: a benchmark named BM_Raw<X>[/args] is the floor of BM_<X>[/args]
// (the same job done with only the syscalls it needs, in the same run).
// Defaults (each overridden when given on the command line):
//   --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
//   --benchmark_display_aggregates_only=true
// Own options (removed before Google Benchmark sees argv):
//   --scratch=DIR   base for scratch directories (default $TMPDIR or /tmp)
//   --no-tmpfs      use the base as it is instead of a private tmpfs on it
#include <benchmark/benchmark.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "support/scratch.h"
#include "sys/env.h"

namespace vmshare::bench {
namespace {

std::string g_base;

double ToMicros(double v, benchmark::TimeUnit unit) {
  switch (unit) {
    case benchmark::kNanosecond:
      return v / 1e3;
    case benchmark::kMicrosecond:
      return v;
    case benchmark::kMillisecond:
      return v * 1e3;
    case benchmark::kSecond:
      return v * 1e6;
  }
  return v;
}

// The console output, plus the medians it saw, printed as a floor table.
class FloorReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    benchmark::ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      const bool single = r.run_type == Run::RT_Iteration && r.repetitions <= 1;
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (single || median)
        medians_[r.run_name.str()] = {ToMicros(r.GetAdjustedRealTime(), r.time_unit),
                                      ToMicros(r.GetAdjustedCPUTime(), r.time_unit)};
    }
  }
  void Finalize() override {
    benchmark::ConsoleReporter::Finalize();
    bool header = false;
    for (const auto& [name, t] : medians_) {
      if (name.rfind("BM_Raw", 0) == 0 || name.rfind("BM_", 0) != 0) continue;
      auto floor = medians_.find("BM_Raw" + name.substr(3));
      if (floor == medians_.end()) continue;
      if (!header) {
        std::printf("\n%-36s %10s %10s %6s | %10s %10s %6s\n", "medians, us/op", "raw real",
                    "vmshare", "ratio", "raw cpu", "vmshare", "ratio");
        header = true;
      }
      const Times& raw = floor->second;
      std::printf("%-36s %10.1f %10.1f %6.2f | %10.1f %10.1f %6.2f\n", name.c_str(), raw.real,
                  t.real, raw.real > 0 ? t.real / raw.real : 0.0, raw.cpu, t.cpu,
                  raw.cpu > 0 ? t.cpu / raw.cpu : 0.0);
    }
    std::fflush(stdout);
  }

 private:
  struct Times {
    double real = 0, cpu = 0;
  };
  std::map<std::string, Times> medians_;
};

bool HasFlag(const std::vector<char*>& args, const char* name) {
  const size_t n = std::strlen(name);
  for (char* a : args)
    if (std::strncmp(a, name, n) == 0 && (a[n] == '=' || a[n] == '\0')) return true;
  return false;
}

}  // namespace

const std::string& ScratchBase() { return g_base; }

std::string MakeScratchDir(const std::string& tag) {
  std::string tmpl = g_base + "/vmshare-bench-" + tag + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "bench: mkdtemp %s: %s\n", tmpl.c_str(), std::strerror(errno));
    std::abort();
  }
  return tmpl;
}

}  // namespace vmshare::bench

int main(int argc, char** argv) {
  using namespace vmshare;
  std::vector<char*> args;
  std::string base;
  bool tmpfs = true;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--scratch=", 10) == 0)
      base = argv[i] + 10;
    else if (std::strcmp(argv[i], "--no-tmpfs") == 0)
      tmpfs = false;
    else
      args.push_back(argv[i]);
  }
  if (base.empty()) {
    const char* t = ::getenv("TMPDIR");
    base = (t && *t) ? t : "/tmp";
  }
  auto* env = sys::Env::Default();
  bool private_ns = false;
  if (env->Unshare(CLONE_NEWNS).ok()) {
    Status s = env->Mount("", "/", "", MS_REC | MS_PRIVATE, "");
    if (!s.ok()) {
      std::fprintf(stderr, "bench main: make / private: %s\n", s.ToString().c_str());
      return 1;
    }
    private_ns = true;
  }
  bench::g_base = base;
  std::string mounted;
  if (tmpfs && private_ns) {
    mounted = bench::MakeScratchDir("tmpfs");
    Status s = env->Mount("tmpfs", mounted, "tmpfs", 0, "size=512m,mode=0700");
    if (!s.ok()) {
      std::fprintf(stderr, "bench main: tmpfs on %s: %s\n", mounted.c_str(), s.ToString().c_str());
      return 1;
    }
    bench::g_base = mounted;
  }
  static char reps[] = "--benchmark_repetitions=5";
  static char inter[] = "--benchmark_enable_random_interleaving=true";
  static char aggr[] = "--benchmark_display_aggregates_only=true";
  std::vector<char*> full(args.begin(), args.end());
  if (!vmshare::bench::HasFlag(args, "--benchmark_repetitions")) full.push_back(reps);
  if (!vmshare::bench::HasFlag(args, "--benchmark_enable_random_interleaving"))
    full.push_back(inter);
  if (!vmshare::bench::HasFlag(args, "--benchmark_display_aggregates_only")) full.push_back(aggr);
  int full_argc = static_cast<int>(full.size());
  full.push_back(nullptr);
  benchmark::Initialize(&full_argc, full.data());
  if (benchmark::ReportUnrecognizedArguments(full_argc, full.data())) return 1;
  vmshare::bench::FloorReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (!mounted.empty()) {
    env->Unmount(mounted, MNT_DETACH).IgnoreError();
    ::rmdir(mounted.c_str());
  }
  return 0;
}
