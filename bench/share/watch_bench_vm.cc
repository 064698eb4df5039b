// The volume watcher and the copy sharer with a real guest (QEMU, TCG unless
// KVM answers; the agent channel is virtio-serial), one guest per mode.
//
//   BM_VmWatchUpdateLatency/<mode>: a kubelet-style update of a 3-key
//     configmap; time from the host's ..data rename to the watcher's report
//     that the guest copy is up to date (the guest's ..data rename and the
//     removal of the old payload done, confirmed by listing the guest copy).
//     Counters p50_us, p99_us over >= 100 updates; rtt_p50_us, one agent
//     round trip (Health/Check) timed beside each update, and p50_in_rtts.
//   BM_VmCopyOneFile256MiB, BM_VmCopy1000Files4KiB: CopySharer ShareFile +
//     UnshareFile into the guest; bytes/s (real time).
//   BM_VmRawChannel256MiB: 256 frames of 1 MiB to a method the agent lacks
//     (read and dropped): the channel's ceiling in the same run.
#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/client.h"
#include "agent/vmshare_client.h"
#include "core/types.h"
#include "share/sharer.h"
#include "share/watch_bench_util.h"
#include "support/scratch.h"
#include "sys/heap.h"
#include "vm/accel.h"
#include "vm/guest.h"
#include "vm/guest_image.h"

namespace vmshare {
namespace {

namespace fs = std::filesystem;

using bench::NowNs;
using bench::Write;

// A prepared sandbox and a booted guest for one mode.
struct VmSandbox {
  explicit VmSandbox(const std::string& mode) : mode(mode) {
    dir = bench::MakeScratchDir("vm");
    sys::Env* env = sys::Env::Default();
    share::SharerConfig c;
    c.root = dir + "/root";
    c.sandbox_id = "sb1";
    c.kubelet_root = dir + "/kubelet";
    c.agent = [this]() -> agent::AgentClient* { return guest ? &guest->agent() : nullptr; };
    c.watch_report = [this](const std::string&, const Status& s) {
      if (!s.ok()) return;
      std::lock_guard lock(mu);
      reports.push_back(NowNs());
      cv.notify_all();
    };
    auto s = share::NewSharer(mode, c);
    if (!s.ok() || !(*s)->Prepare().ok()) {
      error = "prepare";
      return;
    }
    sharer = std::move(s).value();
    auto image = vm::FindGuestImage(env, "");
    if (!image.ok()) {
      error = image.status().ToString();
      return;
    }
    vm::AccelProbe probe;
    probe.kernel = image->kernel;
    auto accel = vm::ResolveAccel(env, "auto", probe);
    vm::GuestConfig gc;
    gc.launch.run_dir = dir + "/vm";
    gc.launch.shared_dir = dir + "/root/sandboxes/sb1/shared";
    if (mode == "none") {
      gc.launch.shared_dir = dir + "/empty";
      fs::create_directories(gc.launch.shared_dir);
    }
    gc.launch.image = *image;
    gc.launch.accel = accel.ok() ? *accel : "tcg";
    this->accel = gc.launch.accel;
    // The guest's shared root is on its RAM root filesystem: room for the
    // 256 MiB file and its temp copy.
    gc.launch.memory_mb = 1536;
    gc.boot_timeout = std::chrono::milliseconds(180000);
    auto g = std::make_unique<vm::Guest>(env, gc);
    if (Status b = g->Boot(); !b.ok()) {
      error = b.ToString();
      return;
    }
    std::vector<Storage> storages;
    if (mode != "none") {
      Storage share;
      share.driver = "virtio-fs";
      share.source = kShareTag;
      share.fstype = "virtiofs";
      share.mount_point = kGuestSharedDir;
      storages.push_back(share);
    }
    if (Status cs = g->agent().CreateSandbox(storages, "sb1", "bench"); !cs.ok()) {
      error = cs.ToString();
      return;
    }
    guest = std::move(g);
  }
  ~VmSandbox() {
    if (sharer) sharer->StopFileEventWatcher();
    if (guest) guest->Shutdown(std::chrono::milliseconds(10000)).IgnoreError();
    guest.reset();
    if (sharer) sharer->Cleanup().IgnoreError();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string mode, dir, error, accel;
  std::unique_ptr<share::FilesystemSharer> sharer;
  std::unique_ptr<vm::Guest> guest;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<int64_t> reports;
};

VmSandbox& Sandbox(const std::string& mode) {
  static std::unique_ptr<VmSandbox> virtio, none;
  auto& slot = mode == "none" ? none : virtio;
  if (!slot) slot = std::make_unique<VmSandbox>(mode);
  return *slot;
}

std::string TsName(int seq) {
  char name[64];
  std::snprintf(name, sizeof name, "..2026_11_22_10_00_00.%09d", seq);
  return name;
}

void BM_VmWatchUpdateLatency(benchmark::State& state, const std::string& mode) {
  VmSandbox& sb = Sandbox(mode);
  if (!sb.error.empty()) {
    state.SkipWithError(sb.error.c_str());
    return;
  }
  // A volume of its own per call: the bench main may run a case again.
  static int calls = 0;
  const std::string vol =
      sb.dir +
      "/kubelet/pods/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/volumes/kubernetes.io~configmap/cfg" +
      std::to_string(++calls);
  fs::create_directories(vol + "/" + TsName(0));
  for (const char* k : {"a", "b", "c"}) {
    Write(vol + "/" + TsName(0) + "/" + k, "v0");
    fs::create_symlink(std::string("..data/") + k, vol + "/" + k);
  }
  fs::create_symlink(TsName(0), vol + "/..data");
  Container c{"c1", {}};
  Mount m;
  m.source = vol;
  m.destination = "/etc/cfg";
  m.read_only = true;
  auto shared = sb.sharer->ShareFile(c, m);
  if (!shared.ok() || !sb.sharer->StartFileEventWatcher().ok()) {
    state.SkipWithError(shared.ok() ? "watcher" : shared.status().ToString().c_str());
    return;
  }
  agent::VmshareClient vm(&sb.guest->agent());
  std::vector<double> lat_us, rtt_us;
  int seq = 1;
  for (auto _ : state) {
    const std::string ts = TsName(seq), old = TsName(seq - 1);
    fs::create_directory(vol + "/" + ts);
    for (const char* k : {"a", "b", "c"})
      Write(vol + "/" + ts + "/" + k, "v" + std::to_string(seq));
    fs::create_symlink(ts, vol + "/..data_tmp");
    {
      std::lock_guard lock(sb.mu);
      sb.reports.clear();
    }
    const int64_t t0 = NowNs();
    ::rename((vol + "/..data_tmp").c_str(), (vol + "/..data").c_str());
    fs::remove_all(vol + "/" + old);
    ++seq;
    // The first report after which the guest's ..data names the new payload.
    int64_t done = 0;
    while (done == 0) {
      int64_t at;
      {
        std::unique_lock lock(sb.mu);
        if (!sb.cv.wait_for(lock, std::chrono::seconds(30), [&] { return !sb.reports.empty(); }))
          break;
        at = sb.reports.front();
        sb.reports.pop_front();
      }
      auto entries = vm.ReadDir(m.host_path);
      if (!entries.ok()) break;
      for (const auto& e : *entries) {
        if (e.name == "..data" && e.link_target == ts) done = at;
      }
    }
    if (done == 0) {
      state.SkipWithError("the guest never caught up");
      break;
    }
    lat_us.push_back((done - t0) / 1000.0);
    state.SetIterationTime((done - t0) / 1e9);
    // One agent round trip (grpc.Health/Check) beside each update: the
    // goal is a latency of at most two of them.
    const int64_t r0 = NowNs();
    if (!sb.guest->agent().Check().ok()) {
      state.SkipWithError("agent Check failed");
      break;
    }
    rtt_us.push_back((NowNs() - r0) / 1000.0);
  }
  sb.sharer->StopFileEventWatcher();
  sb.sharer->UnshareFile(c, m).IgnoreError();
  if (lat_us.empty() || rtt_us.empty()) return;
  bench::SetLatencyCounters(state, lat_us);
  std::sort(rtt_us.begin(), rtt_us.end());
  state.counters["rtt_p50_us"] = rtt_us[rtt_us.size() / 2];
  state.counters["p50_in_rtts"] = state.counters["p50_us"] / rtt_us[rtt_us.size() / 2];
  state.SetLabel("accel " + sb.accel);
}
BENCHMARK_CAPTURE(BM_VmWatchUpdateLatency, virtio_fs, std::string("virtio-fs"))
    ->UseManualTime()
    ->Iterations(120)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_VmWatchUpdateLatency, none, std::string("none"))
    ->UseManualTime()
    ->Iterations(120)
    ->Unit(benchmark::kMillisecond);

void VmCopy(benchmark::State& state, const std::function<uint64_t(const std::string&)>& make) {
  // The copier runs in this process: tuned as the vmshare binary tunes its.
  sys::TuneHeapForBulkCopies();
  VmSandbox& sb = Sandbox("none");
  if (!sb.error.empty()) {
    state.SkipWithError(sb.error.c_str());
    return;
  }
  const std::string src = sb.dir + "/src-" + std::to_string(NowNs());
  const uint64_t bytes = make(src);
  for (auto _ : state) {
    Container c{"c1", {}};
    Mount m;
    m.source = src;
    m.destination = "/data";
    m.read_only = true;
    auto shared = sb.sharer->ShareFile(c, m);
    if (!shared.ok()) {
      state.SkipWithError(shared.status().ToString().c_str());
      break;
    }
    if (!sb.sharer->UnshareFile(c, m).ok()) break;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetLabel("accel " + sb.accel);
  // Each repetition makes its own source: the scratch tmpfs holds one.
  std::error_code ec;
  fs::remove_all(src, ec);
}

void BM_VmCopyOneFile256MiB(benchmark::State& state) { VmCopy(state, bench::MakeOneFile256MiB); }
BENCHMARK(BM_VmCopyOneFile256MiB)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

void BM_VmCopy1000Files4KiB(benchmark::State& state) { VmCopy(state, bench::Make1000Files4KiB); }
BENCHMARK(BM_VmCopy1000Files4KiB)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

void BM_VmRawChannel256MiB(benchmark::State& state) {
  sys::TuneHeapForBulkCopies();
  VmSandbox& sb = Sandbox("none");
  if (!sb.error.empty()) {
    state.SkipWithError(sb.error.c_str());
    return;
  }
  const std::string frame(1u << 20, 'z');
  for (auto _ : state) {
    for (int i = 0; i < 256; ++i)
      sb.guest->agent()
          .Call("vmshare.VmshareService", "NoSuchMethod", frame, std::chrono::seconds(60))
          .status()
          .IgnoreError();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * (256ll << 20));
  state.SetLabel("accel " + sb.accel);
}
BENCHMARK(BM_VmRawChannel256MiB)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace
}  // namespace vmshare
