// Copy mode (shared_fs "none") throughput into a vmshare-agent process over
// a unix socket, beside the raw channel in the same run.
//
// Each iteration is one interleaved pass: the raw channel (the tree's bytes
// written through a unix socketpair to a reader thread, one write per file or
// 1 MiB chunk, as the copy sends them), then TreeCopier copying the tree into
// the agent's shared root (both in the scratch dir, a tmpfs by default). The
// iteration time is the copy's; the counters are the medians over passes:
// copy_MiBps, raw_MiBps and ratio (copy / raw, per pass). The heap is tuned
// as in the vmshare and shim binaries (sys/heap.h). Google Benchmark's
// repetitions (5 by the bench main) repeat the whole thing.
//   BM_CopyTree/1000/4096/W   1000 files of 4 KiB in one directory
//   BM_CopyTree/1/268435456/W one 256 MiB file
// with a window of W calls (32, the default; 1 is one call at a time, as the
// copier was before it pipelined).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "agent/client.h"
#include "core/types.h"
#include "share/copy_tree.h"
#include "support/scratch.h"
#include "sys/env.h"
#include "sys/heap.h"

namespace vmshare::agent {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// The agent in a child process, serving a unix socket.
struct AgentProcess {
  explicit AgentProcess(const std::string& dir) {
    sys::Env* env = sys::Env::Default();
    sys::ChildOptions o;
    o.argv = {VMSHARE_AGENT_BIN, "--socket",  dir + "/agent.sock", "--shared-root",
              dir + "/guest",    "--run-dir", dir + "/agent-run",  "--no-init"};
    o.stderr_path = dir + "/agent.log";
    o.die_with_parent = true;
    auto c = env->Spawn(o);
    if (!c.ok()) return;
    child = std::move(c).value();
    for (int i = 0; i < 500 && !client; ++i) {
      auto cl = AgentClient::Connect(env, dir + "/agent.sock");
      if (cl.ok()) {
        client = std::move(cl).value();
      } else {
        env->SleepFor(std::chrono::milliseconds(10));
      }
    }
  }
  ~AgentProcess() {
    client.reset();
    if (child.pid > 0) {
      sys::Env::Default()->Kill(child, SIGKILL).IgnoreError();
      sys::Env::Default()->Wait(child).status().IgnoreError();
    }
  }
  sys::Child child;
  std::unique_ptr<AgentClient> client;
};

// Seconds to push `total` bytes through a socketpair in writes of `piece`.
double RawPass(uint64_t total, size_t piece) {
  sys::Env* env = sys::Env::Default();
  sys::Fd a, b;
  if (!env->SocketPair(&a, &b).ok()) return 0;
  const std::string buf(piece, 'r');
  const auto start = Clock::now();
  std::thread reader([&] {
    uint64_t got = 0;
    while (got < total) {
      auto r = env->Read(b, 1 << 20);
      if (!r.ok() || r->empty()) return;
      got += r->size();
    }
  });
  for (uint64_t sent = 0; sent < total; sent += piece) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(piece, total - sent));
    if (!env->WriteAll(a, std::string_view(buf).substr(0, n)).ok()) break;
  }
  reader.join();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void BM_CopyTree(benchmark::State& state) {
  // The copier runs in this process: tuned as the vmshare binary and the
  // shim tune theirs.
  sys::TuneHeapForBulkCopies();
  const int files = static_cast<int>(state.range(0));
  const uint64_t size = static_cast<uint64_t>(state.range(1));
  const size_t window = static_cast<size_t>(state.range(2));
  const std::string dir = bench::MakeScratchDir("copy");
  fs::create_directories(dir + "/src/tree");
  {
    std::string data(std::min<uint64_t>(size, 1 << 20), '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + i / 4093);
    // A big file is mostly holes, so that it and its copy fit the 512 MiB
    // scratch tmpfs; it is read (and sent) whole all the same.
    const uint64_t stride = size > (64u << 20) ? 16u << 20 : data.size();
    for (int f = 0; f < files; ++f) {
      const std::string path = dir + "/src/tree/f" + std::to_string(f);
      {
        std::ofstream out(path, std::ios::binary);
        for (uint64_t w = 0; w < size; w += stride) {
          out.seekp(static_cast<std::streamoff>(w));
          out.write(data.data(),
                    static_cast<std::streamsize>(std::min<uint64_t>(data.size(), size - w)));
        }
      }
      fs::resize_file(path, size);
    }
  }
  AgentProcess agent(dir);
  if (!agent.client) {
    state.SkipWithError("the agent did not start");
    return;
  }
  sys::Env* env = sys::Env::Default();
  auto src = env->OpenAt(sys::Cwd(), dir + "/src/tree", O_PATH | O_DIRECTORY);
  const uint64_t total = size * static_cast<uint64_t>(files);
  const size_t piece = static_cast<size_t>(std::min<uint64_t>(size, share::kCopyChunkBytes));
  std::vector<double> raw_mibps, copy_mibps, ratio;
  int pass = 0;
  for (auto _ : state) {
    const double raw = RawPass(total, piece);
    const std::string dest = std::string(kGuestSharedDir) + "/bench-" + std::to_string(pass++);
    share::TreeCopier copier(env, agent.client.get(), {}, {.calls = window});
    const auto start = Clock::now();
    auto copied = copier.Copy(*src, dir + "/src/tree", dest);
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (!copied.ok()) {
      state.SkipWithError(copied.status().ToString().c_str());
      break;
    }
    state.SetIterationTime(secs);
    const double mib = static_cast<double>(total) / (1 << 20);
    raw_mibps.push_back(mib / raw);
    copy_mibps.push_back(mib / secs);
    ratio.push_back(raw / secs);
    state.PauseTiming();
    std::error_code ec;
    fs::remove_all(dir + "/guest" + dest.substr(std::string(kGuestSharedDir).size()), ec);
    state.ResumeTiming();
  }
  state.counters["raw_MiBps"] = Median(raw_mibps);
  state.counters["copy_MiBps"] = Median(copy_mibps);
  state.counters["ratio"] = Median(ratio);
  state.SetBytesProcessed(static_cast<int64_t>(total) * state.iterations());
  agent.client.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}
BENCHMARK(BM_CopyTree)
    ->Args({1000, 4096, 32})
    ->Args({1000, 4096, 1})
    ->Iterations(9)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CopyTree)
    ->Args({1, 256 << 20, 32})
    ->Args({1, 256 << 20, 1})
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vmshare::agent
