// Saving one container's state (temp file, fsync, rename, directory fsync)
// in a sandbox that already holds 1, 100 or 1000 containers, on tmpfs and on
// the disk (/var/tmp), side by side. The save writes only that container's
// file, so the time should not grow with the number of containers; the disk
// numbers are dominated by the two fsyncs.
#include <benchmark/benchmark.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "persist/crash_state.h"
#include "persist/store.h"
#include "support/scratch.h"

namespace vmshare::persist {
namespace {

sys::Env* env() { return sys::Env::Default(); }

// A scratch directory on the medium: tmpfs is the bench main's scratch base
// (a private tmpfs unless --no-tmpfs), the disk is /var/tmp.
class Scratch {
 public:
  explicit Scratch(bool disk) {
    if (disk) {
      std::string tmpl = "/var/tmp/vmshare-bench-XXXXXX";
      path_ = ::mkdtemp(tmpl.data());
    } else {
      path_ = bench::MakeScratchDir("persist");
    }
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
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

// The floors (raw syscalls, same run; the bench main prints the ratios).
// A durable 4 KiB replace: temp file, write, fsync, rename, fsync of the dir.
void BM_RawSaveContainer(benchmark::State& state, bool disk) {
  Scratch scratch(disk);
  const int dir = ::open(scratch.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const std::string data(4096, 'x');
  for (auto _ : state) {
    const int fd = ::openat(dir, "persist.json.tmp", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()) ||
        ::fsync(fd) < 0 || ::close(fd) < 0 ||
        ::renameat(dir, "persist.json.tmp", dir, "persist.json") < 0 || ::fsync(dir) < 0)
      return state.SkipWithError("durable replace failed");
  }
  ::close(dir);
  state.SetItemsProcessed(state.iterations());
}

// Loading a sandbox of N: list its directory, then open, read to EOF and
// close each of the N + 1 files (the same files the store reads).
void BM_RawLoadSandbox(benchmark::State& state, bool disk) {
  Fixture& f = Prepared(disk, static_cast<int>(state.range(0)));
  const std::string sandbox = f.store->SandboxDir("s1");
  std::string buf(1 << 16, '\0');
  auto read_file = [&](int dir, const char* name) {
    const int fd = ::openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    while (::read(fd, buf.data(), buf.size()) > 0) {
    }
    ::close(fd);
    return true;
  };
  for (auto _ : state) {
    DIR* d = ::opendir(sandbox.c_str());
    if (d == nullptr) return state.SkipWithError("opendir");
    const int dfd = ::dirfd(d);
    size_t files = read_file(dfd, "persist.json") ? 1 : 0;
    while (dirent* e = ::readdir(d)) {
      if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
      files += read_file(dfd, (std::string(e->d_name) + "/persist.json").c_str()) ? 1 : 0;
    }
    ::closedir(d);
    benchmark::DoNotOptimize(files);
  }
}

BENCHMARK_CAPTURE(BM_RawSaveContainer, tmpfs, false)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_RawLoadSandbox, tmpfs, false)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_SaveContainer, tmpfs, false)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_SaveContainer, disk, true)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_LoadSandbox, tmpfs, false)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace vmshare::persist
