// `vmshare run` from start to the first output of its command, split into
// phases (prepare, image, boot, share, create, exec, teardown), as reported
// by `vmshare run --timings`. Each iteration is a whole run of the example
// bundle with `/bin/echo hi`, under TCG (BM_RunTcg) and with --accel auto
// (BM_RunAuto: KVM where it works, after a probe whose answer is cached),
// and in copy mode under TCG (BM_RunCopyTcg, --shared-fs none).
// The iteration time is the time to first output; the counters are ms.
// BM_RunTcgMounts/3 and /100: the whole run of a bundle with that many bind
// mounts (issue 14 item 6; bench/vm/make-mounts-bundle.sh makes the same
// bundle for timing by hand).
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

// With `bundle` set, runs that bundle's own process and times the whole
// run (start to exit, teardown included) instead of the first output.
void RunOnce(benchmark::State& state, const std::string& accel,
             const std::vector<std::string>& extra = {}, const std::string& bundle = "") {
  auto* env = vmshare::sys::Env::Default();
  const std::string dir = vmshare::bench::MakeScratchDir("run");
  std::map<std::string, double> sum;
  int runs = 0;
  for (auto _ : state) {
    vmshare::sys::ChildOptions o;
    o.argv = {VMSHARE_BIN, "run", "--root", dir + "/root", "--accel", accel, "--timings"};
    o.argv.insert(o.argv.end(), extra.begin(), extra.end());
    if (bundle.empty())
      o.argv.insert(o.argv.end(), {"--", "/bin/echo", "hi"});
    else
      o.argv.insert(o.argv.end(), {"--bundle", bundle});
    const int64_t t0 = env->NowNanos();
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
    const double wall_ms = static_cast<double>(env->NowNanos() - t0) / 1e6;
    t["wall"] = wall_ms;
    state.SetIterationTime((bundle.empty() ? t["to_first_output"] : wall_ms) / 1000.0);
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

// A bundle of `n` bind mounts (`/bin/echo hi` in the example rootfs, the
// mount points made in it; every third volume read-only), as
// bench/vm/make-mounts-bundle.sh makes it.
std::string MakeMountsBundle(const std::string& dir, int n) {
  const std::string b = dir + "/bundle-" + std::to_string(n);
  fs::create_directories(b);
  fs::copy(std::string(VMSHARE_EXAMPLE_BUNDLE) + "/rootfs", b + "/rootfs",
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  std::string mounts = R"({"destination": "/proc", "type": "proc", "source": "proc"})";
  for (int k = 0; k < n; ++k) {
    const std::string v = b + "/volumes/v" + std::to_string(k);
    fs::create_directories(v);
    std::ofstream(v + "/f") << "volume " << k << "\n";
    fs::create_directories(b + "/rootfs/mnt/v" + std::to_string(k));
    mounts += R"(, {"destination": "/mnt/v)" + std::to_string(k) +
              R"(", "type": "bind", "source": ")" + v + R"(", "options": ["rbind", ")" +
              (k % 3 == 2 ? "ro" : "rw") + "\"]}";
  }
  std::ofstream(b + "/config.json")
      << R"({"ociVersion": "1.0.2", "process": {"terminal": false, "user": {"uid": 0, "gid": 0},)"
      << R"( "args": ["/bin/echo", "hi"], "env": ["PATH=/bin"], "cwd": "/"},)"
      << R"( "root": {"path": "rootfs", "readonly": false}, "hostname": "vmshare-mounts",)"
      << R"( "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},)"
      << R"( {"type": "mount"}]}, "mounts": [)" << mounts << "]}\n";
  return b;
}

// Issue 14 item 6: a whole `vmshare run` (TCG) of a bundle with 3 and with
// 100 bind mounts, interleaved by the bench main; the goal is /100 within
// 1.5x of /3. Iteration time: the whole run, start to exit.
void BM_RunTcgMounts(benchmark::State& state) {
  const std::string dir = vmshare::bench::MakeScratchDir("bundle");
  RunOnce(state, "tcg", {}, MakeMountsBundle(dir, static_cast<int>(state.range(0))));
  std::error_code ec;
  fs::remove_all(dir, ec);
}

BENCHMARK(BM_RunTcg)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RunTcgMounts)
    ->Arg(3)
    ->Arg(100)
    ->UseManualTime()
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RunAuto)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RunCopyTcg)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
