// `vmshare run` from start to the first output of its command, split into
// phases (prepare, image, boot, share, create, exec, teardown), as reported
// by `vmshare run --timings`. Each iteration is a whole run of the example
// bundle with `/bin/echo hi`, under TCG (BM_RunTcg) and with --accel auto
// (BM_RunAuto: KVM where it works, after a probe whose answer is cached),
// and in copy mode under TCG (BM_RunCopyTcg, --shared-fs none).
// The iteration time is the time to first output; the counters are ms.
#include <benchmark/benchmark.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/scratch.h"
#include "sys/env.h"

namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses "... (ms, accel tcg): prepare 1.0 image 2.0 ..." into name -> ms.
std::map<std::string, double> ParseTimings(const std::string& err) {
  std::map<std::string, double> m;
  const size_t line = err.find("vmshare run timings");
  if (line == std::string::npos) return m;
  const size_t colon = err.find("):", line);
  std::istringstream in(err.substr(colon + 2, err.find('\n', colon) - colon - 2));
  std::string name;
  double v;
  while (in >> name >> v) m[name] = v;
  return m;
}

void RunOnce(benchmark::State& state, const std::string& accel,
             const std::vector<std::string>& extra = {}) {
  auto* env = vmshare::sys::Env::Default();
  const std::string dir = vmshare::bench::MakeScratchDir("run");
  std::map<std::string, double> sum;
  int runs = 0;
  for (auto _ : state) {
    vmshare::sys::ChildOptions o;
    o.argv = {VMSHARE_BIN, "run", "--root", dir + "/root", "--accel", accel, "--timings"};
    o.argv.insert(o.argv.end(), extra.begin(), extra.end());
    o.argv.insert(o.argv.end(), {"--", "/bin/echo", "hi"});
    o.stdout_path = dir + "/out";
    o.stderr_path = dir + "/err";
    fs::remove(dir + "/err");
    auto child = env->Spawn(o);
    if (!child.ok()) {
      state.SkipWithError(child.status().ToString().c_str());
      break;
    }
    auto st = env->Wait(*child);
    const std::string err = Slurp(dir + "/err");
    if (!st.ok() || !st->exited || st->code != 0) {
      state.SkipWithError(("vmshare run failed: " + err).c_str());
      break;
    }
    std::map<std::string, double> t = ParseTimings(err);
    if (t.empty()) {
      state.SkipWithError("no timings line");
      break;
    }
    state.SetIterationTime(t["to_first_output"] / 1000.0);
    for (const auto& [k, v] : t) sum[k] += v;
    ++runs;
  }
  for (const auto& [k, v] : sum) state.counters[k + "_ms"] = v / runs;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

void BM_RunTcg(benchmark::State& state) { RunOnce(state, "tcg"); }
void BM_RunAuto(benchmark::State& state) { RunOnce(state, "auto"); }
// Copy mode: the bundle's rootfs goes into the guest over the agent channel
// (the "share" phase).
void BM_RunCopyTcg(benchmark::State& state) {
  RunOnce(state, "tcg", {"--shared-fs", "none", "--guest-local-copies"});
}

BENCHMARK(BM_RunTcg)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RunAuto)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RunCopyTcg)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
