// Saving one container's state (temp file, fsync, rename, directory fsync)
// in a sandbox that already holds 1, 100 or 1000 containers, on tmpfs and on
// the disk (/var/tmp), side by side. The save writes only that container's
// file, so the time should not grow with the number of containers; the disk
// numbers are dominated by the two fsyncs.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "persist/crash_state.h"
#include "persist/store.h"

namespace vmshare::persist {
namespace {

sys::Env* env() { return sys::Env::Default(); }

// A scratch directory on the medium; tmpfs is mounted privately (the bench
// main runs in its own mount namespace) and falls back to /dev/shm.
class Scratch {
 public:
  explicit Scratch(bool disk) {
    std::string tmpl = std::string(disk ? "/var/tmp" : "/tmp") + "/vmshare-bench-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
    if (!disk && !env()->Mount("tmpfs", path_, "tmpfs", 0, "size=256m").ok()) {
      std::filesystem::remove(path_);
      tmpl = "/dev/shm/vmshare-bench-XXXXXX";
      path_ = ::mkdtemp(tmpl.data());
    } else if (!disk) {
      mounted_ = true;
    }
  }
  ~Scratch() {
    if (mounted_) env()->Unmount(path_, MNT_DETACH).IgnoreError();
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

// One prepared sandbox per (medium, size), kept for the whole run.
struct Fixture {
  std::unique_ptr<Scratch> scratch;
  std::unique_ptr<StateStore> store;
};

Fixture& Prepared(bool disk, int containers) {
  static std::map<std::pair<bool, int>, Fixture> cache;
  Fixture& f = cache[{disk, containers}];
  if (!f.store) {
    f.scratch = std::make_unique<Scratch>(disk);
    f.store = std::make_unique<StateStore>(env(), f.scratch->path() + "/sbs");
    (void)f.store->SaveSandbox("s1", {.state = "running"}).ok();
    for (int i = 0; i < containers; ++i) {
      std::string cid = "c";  // not "c" + ...: a false -Wrestrict at -O3 (GCC 12)
      cid += std::to_string(i);
      (void)f.store->SaveContainer("s1", cid, testing::CrashState(i)).ok();
    }
  }
  return f;
}

void BM_SaveContainer(benchmark::State& state, bool disk) {
  const int containers = static_cast<int>(state.range(0));
  Fixture& f = Prepared(disk, containers);
  auto lock = f.store->Lock("s1", LockMode::kExclusive);
  if (!lock.ok()) return state.SkipWithError(lock.status().ToString().c_str());
  std::string cid = "c";  // not "c" + ...: a false -Wrestrict at -O3 (GCC 12)
  cid += std::to_string(containers / 2);
  int v = 0;
  for (auto _ : state) {
    Status s = f.store->SaveContainer("s1", cid, testing::CrashState(v++ % 7));
    if (!s.ok()) return state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_LoadSandbox(benchmark::State& state, bool disk) {
  Fixture& f = Prepared(disk, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto rec = f.store->LoadSandbox("s1");
    if (!rec.ok()) return state.SkipWithError(rec.status().ToString().c_str());
    benchmark::DoNotOptimize(rec->containers.size());
  }
}

BENCHMARK_CAPTURE(BM_SaveContainer, tmpfs, false)->Arg(1)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_SaveContainer, disk, true)->Arg(1)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_LoadSandbox, tmpfs, false)->Arg(1)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace vmshare::persist
