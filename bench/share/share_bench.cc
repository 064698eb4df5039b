// Share benchmarks: the cost of one share/unshare cycle (rw, ro, rootfs),
// of Prepare+Cleanup, and of a share/unshare cycle in a sandbox that already
// holds 0, 100 or 1000 shares (the per-share path must not scan mounts).
// Needs root; the bench main runs in a private mount namespace, on a tmpfs
// scratch base (support/scratch.h). share_floor.cc holds the raw floors.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "share/sharer.h"
#include "support/scratch.h"

namespace vmshare::share {
namespace {

struct Sandbox {
  std::string dir;
  std::unique_ptr<FilesystemSharer> sharer;

  explicit Sandbox(const char* sid = "bench") {
    dir = bench::MakeScratchDir("share");
    std::filesystem::create_directories(dir + "/src/vol");
    std::ofstream(dir + "/src/vol/f") << "x";
    SharerConfig c;
    c.root = dir + "/root";
    c.sandbox_id = sid;
    auto r = NewSharer("virtio-fs", c);
    if (r.ok()) sharer = std::move(r).value();
  }
  ~Sandbox() {
    if (sharer) sharer->Cleanup().IgnoreError();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string Source() const { return dir + "/src/vol"; }
};

bool Check(benchmark::State& state, const Status& s) {
  if (s.ok()) return true;
  state.SkipWithError(s.ToString().c_str());
  return false;
}

void BM_ShareUnshareFile(benchmark::State& state) {
  Sandbox sb;
  if (!Check(state, sb.sharer->Prepare())) return;
  Container c{"c1", {}};
  for (auto _ : state) {
    Mount m;
    m.source = sb.Source();
    m.destination = "/data";
    m.read_only = state.range(0) != 0;
    auto r = sb.sharer->ShareFile(c, m);
    if (!Check(state, r.status())) return;
    if (!Check(state, sb.sharer->UnshareFile(c, m))) return;
  }
  state.SetLabel(state.range(0) ? "ro" : "rw");
}
BENCHMARK(BM_ShareUnshareFile)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_ShareUnshareRootfs(benchmark::State& state) {
  Sandbox sb;
  if (!Check(state, sb.sharer->Prepare())) return;
  Container c{"c1", {}};
  c.state.rootfs.source = sb.Source();
  for (auto _ : state) {
    auto r = sb.sharer->ShareRootFilesystem(c);
    if (!Check(state, r.status())) return;
    if (!Check(state, sb.sharer->UnshareRootFilesystem(c))) return;
  }
}
BENCHMARK(BM_ShareUnshareRootfs)->Unit(benchmark::kMicrosecond);

void BM_PrepareCleanup(benchmark::State& state) {
  Sandbox sb;
  for (auto _ : state) {
    if (!Check(state, sb.sharer->Prepare())) return;
    if (!Check(state, sb.sharer->Cleanup())) return;
  }
}
BENCHMARK(BM_PrepareCleanup)->Unit(benchmark::kMicrosecond);

// Cleanup of a sandbox still holding N shares: one detach of the tree.
void BM_CleanupWithShares(benchmark::State& state) {
  Sandbox sb;
  Container c{"c1", {}};
  for (auto _ : state) {
    state.PauseTiming();
    if (!Check(state, sb.sharer->Prepare())) return;
    for (int64_t i = 0; i < state.range(0); ++i) {
      Mount m;
      m.source = sb.Source();
      m.destination = "/v" + std::to_string(i);
      if (!Check(state, sb.sharer->ShareFile(c, m).status())) return;
    }
    state.ResumeTiming();
    if (!Check(state, sb.sharer->Cleanup())) return;
  }
}
BENCHMARK(BM_CleanupWithShares)->Arg(0)->Arg(100)->Unit(benchmark::kMicrosecond);

void BM_ShareUnshareWithExisting(benchmark::State& state) {
  Sandbox sb;
  if (!Check(state, sb.sharer->Prepare())) return;
  Container c{"c1", {}};
  std::vector<Mount> held(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < held.size(); ++i) {
    held[i].source = sb.Source();
    held[i].destination = "/held" + std::to_string(i);
    if (!Check(state, sb.sharer->ShareFile(c, held[i]).status())) return;
  }
  for (auto _ : state) {
    Mount m;
    m.source = sb.Source();
    m.destination = "/data";
    if (!Check(state, sb.sharer->ShareFile(c, m).status())) return;
    if (!Check(state, sb.sharer->UnshareFile(c, m))) return;
  }
}
BENCHMARK(BM_ShareUnshareWithExisting)->Arg(0)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace vmshare::share
