// Volume watcher and copy sharer costs against the real vmshare-agent on a
// unix socket (no VM: the channel is the host's unix socket, so these are
// the host-side and agent-side costs; a guest adds its channel's latency).
//
//   BM_WatchUpdateLatency/<mode>: a kubelet-style update of a 3-key
//     configmap; time from the host's ..data rename to the guest's ..data
//     rename (an inotify watch on the guest copy). Counters p50_us, p99_us
//     over all iterations (>= 100).
//   BM_CopyOneFile256MiB, BM_Copy1000Files4KiB: CopySharer::ShareFile +
//     UnshareFile; bytes/s.
//   BM_RawChannel256MiB: the same 256 MiB pushed through the same channel in
//     1 MiB frames to a method the agent does not have (it reads and drops
//     each frame): the channel's ceiling in this run.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "agent/client.h"
#include "core/types.h"
#include "share/share_tree.h"
#include "share/sharer.h"
#include "share/watch_bench_util.h"
#include "support/scratch.h"
#include "sys/env.h"

namespace vmshare {
namespace {

namespace fs = std::filesystem;

using bench::NowNs;
using bench::Write;

struct Agent {
  Agent(const std::string& dir, const std::string& shared_root) : shared_root(shared_root) {
    sys::ChildOptions o;
    o.argv = {"unshare",         "--mount",   "--propagation",     "private",
              VMSHARE_AGENT_BIN, "--socket",  dir + "/agent.sock", "--shared-root",
              shared_root,       "--run-dir", dir + "/run",        "--no-init"};
    o.stderr_path = dir + "/agent.log";
    o.die_with_parent = true;
    auto c = sys::Env::Default()->Spawn(o);
    if (!c.ok()) return;
    child = std::move(c).value();
    for (int i = 0; i < 500 && !client; ++i) {
      auto cl = agent::AgentClient::Connect(sys::Env::Default(), dir + "/agent.sock");
      if (cl.ok())
        client = std::move(cl).value();
      else
        sys::Env::Default()->SleepFor(std::chrono::milliseconds(20));
    }
  }
  ~Agent() {
    client.reset();
    sys::Env::Default()->Kill(child, SIGKILL).IgnoreError();
    sys::Env::Default()->Wait(child).status().IgnoreError();
  }
  std::string Host(const std::string& guest) const {
    return "/proc/" + std::to_string(child.pid) + "/root" + shared_root +
           guest.substr(std::string(kGuestSharedDir).size());
  }
  std::string shared_root;
  sys::Child child;
  std::unique_ptr<agent::AgentClient> client;
};

struct Scratch {
  Scratch() : path(bench::MakeScratchDir("watch")) {}
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

std::unique_ptr<share::FilesystemSharer> MakeSharer(const std::string& mode, const std::string& dir,
                                                    Agent* agent) {
  share::SharerConfig c;
  c.root = dir + "/root";
  c.sandbox_id = "sb1";
  c.kubelet_root = dir + "/kubelet";
  c.agent = [agent] { return agent->client.get(); };
  auto s = share::NewSharer(mode, c);
  return s.ok() ? std::move(s).value() : nullptr;
}

// The kubelet's atomic writer (reference/kubernetes-volume-updates.md);
// returns the time of the ..data rename.
int64_t KubeletUpdate(const std::string& vol, int seq, const std::string& old_ts) {
  char name[64];
  std::snprintf(name, sizeof name, "..2026_11_22_10_00_00.%09d", seq);
  fs::create_directory(vol + "/" + name);
  for (const char* k : {"a", "b", "c"})
    Write(vol + "/" + name + "/" + k, "value " + std::to_string(seq));
  fs::create_symlink(name, vol + "/..data_tmp");
  const int64_t t = NowNs();
  ::rename((vol + "/..data_tmp").c_str(), (vol + "/..data").c_str());
  if (!old_ts.empty()) fs::remove_all(vol + "/" + old_ts);
  return t;
}

void BM_WatchUpdateLatency(benchmark::State& state, const std::string& mode) {
  Scratch tmp;
  const std::string vol =
      tmp.path +
      "/kubelet/pods/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/volumes/kubernetes.io~configmap/cfg";
  fs::create_directories(vol);
  std::string ts = "..2026_11_22_10_00_00.000000000";
  fs::create_directory(vol + "/" + ts);
  for (const char* k : {"a", "b", "c"}) {
    Write(vol + "/" + ts + "/" + k, "v0");
    fs::create_symlink(std::string("..data/") + k, vol + "/" + k);
  }
  fs::create_symlink(ts, vol + "/..data");
  // Agent after Prepare: in virtio-fs mode its root is the sandbox export.
  std::unique_ptr<Agent> agent;
  std::string shared_root = tmp.path + "/guest-shared";
  {
    // Prepare with a sharer that has no agent yet; then start the agent.
    auto pre = share::NewSharer(mode, [&] {
      share::SharerConfig c;
      c.root = tmp.path + "/root";
      c.sandbox_id = "sb1";
      return c;
    }());
    if (!pre.ok() || !(*pre)->Prepare().ok()) {
      state.SkipWithError("prepare failed");
      return;
    }
    if (mode == "virtio-fs")
      shared_root = share::ShareTreePaths::For(tmp.path + "/root", "sb1").shared;
    agent = std::make_unique<Agent>(tmp.path, shared_root);
  }
  if (!agent->client) {
    state.SkipWithError("agent did not start");
    return;
  }
  auto sharer = MakeSharer(mode, tmp.path, agent.get());
  Container c{"c1", {}};
  Mount m;
  m.source = vol;
  m.destination = "/etc/cfg";
  m.read_only = true;
  auto shared = sharer->ShareFile(c, m);
  if (!shared.ok() || !shared->has_value()) {
    state.SkipWithError(shared.ok() ? "not shared" : shared.status().ToString().c_str());
    return;
  }
  if (!sharer->StartFileEventWatcher().ok()) {
    state.SkipWithError("watcher did not start");
    return;
  }
  const std::string guest = agent->Host(m.host_path);
  const int ino = ::inotify_init1(IN_CLOEXEC);
  ::inotify_add_watch(ino, guest.c_str(), IN_MOVED_TO);
  std::vector<double> lat_us;
  int seq = 1;
  for (auto _ : state) {
    const int64_t t0 = KubeletUpdate(vol, seq, ts);
    char name[64];
    std::snprintf(name, sizeof name, "..2026_11_22_10_00_00.%09d", seq);
    ts = name;
    ++seq;
    // Wait for the guest's ..data rename.
    bool seen = false;
    while (!seen) {
      pollfd p{ino, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) {
        state.SkipWithError("guest never saw the update");
        break;
      }
      alignas(inotify_event) char buf[4096];
      const ssize_t n = ::read(ino, buf, sizeof buf);
      for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        if (ev->len > 0 && std::strcmp(ev->name, "..data") == 0) seen = true;
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
    const int64_t t1 = NowNs();
    if (!seen) break;
    lat_us.push_back((t1 - t0) / 1000.0);
    state.SetIterationTime((t1 - t0) / 1e9);
  }
  ::close(ino);
  sharer->StopFileEventWatcher();
  if (lat_us.empty()) return;
  bench::SetLatencyCounters(state, lat_us);
  state.counters["updates"] = static_cast<double>(lat_us.size());
}

BENCHMARK_CAPTURE(BM_WatchUpdateLatency, virtio_fs, std::string("virtio-fs"))
    ->UseManualTime()
    ->Iterations(200)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_WatchUpdateLatency, none, std::string("none"))
    ->UseManualTime()
    ->Iterations(200)
    ->Unit(benchmark::kMicrosecond);

// Copy throughput: share + unshare of `make`'s tree, bytes/s.
void CopyBench(benchmark::State& state, const std::function<uint64_t(const std::string&)>& make) {
  Scratch tmp;
  Agent agent(tmp.path, tmp.path + "/guest-shared");
  if (!agent.client) {
    state.SkipWithError("agent did not start");
    return;
  }
  auto sharer = MakeSharer("none", tmp.path, &agent);
  const uint64_t bytes = make(tmp.path + "/src");
  for (auto _ : state) {
    Container c{"c1", {}};
    Mount m;
    m.source = tmp.path + "/src";
    m.destination = "/data";
    m.read_only = true;
    auto shared = sharer->ShareFile(c, m);
    if (!shared.ok()) {
      state.SkipWithError(shared.status().ToString().c_str());
      break;
    }
    if (!sharer->UnshareFile(c, m).ok()) break;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_CopyOneFile256MiB(benchmark::State& state) { CopyBench(state, bench::MakeOneFile256MiB); }
BENCHMARK(BM_CopyOneFile256MiB)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_Copy1000Files4KiB(benchmark::State& state) { CopyBench(state, bench::Make1000Files4KiB); }
BENCHMARK(BM_Copy1000Files4KiB)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

void BM_RawChannel256MiB(benchmark::State& state) {
  Scratch tmp;
  Agent agent(tmp.path, tmp.path + "/guest-shared");
  if (!agent.client) {
    state.SkipWithError("agent did not start");
    return;
  }
  const std::string frame(1u << 20, 'z');
  for (auto _ : state) {
    for (int i = 0; i < 256; ++i) {
      // The agent reads the whole frame, then answers UNIMPLEMENTED.
      agent.client->Call("vmshare.VmshareService", "NoSuchMethod", frame, std::chrono::seconds(30))
          .status()
          .IgnoreError();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * (256ll << 20));
}
BENCHMARK(BM_RawChannel256MiB)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace vmshare
