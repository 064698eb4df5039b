// The guest boot of `vmshare run`, phase by phase, under TCG: what
// Guest::Boot and the first CreateSandbox cost, and where inside the guest
// the time goes. The console is a FIFO read by a thread that stamps each
// line with the host clock as it arrives, so the guest's own events (the
// agent's "serving on" line, and with printk.time=1 the kernel's stamps)
// land on the host's time line.
//
// Counters (ms, means over the iterations):
//   launch     virtiofsd up, QEMU started until it opens the console
//   guest_t0   QEMU spawned -> the guest clock's zero (kernel's early TSC
//              setup): QEMU start, firmware, loading the kernel and initrd
//              (only BM_BootVerbose: printk stamps need the kernel's lines)
//   kernel     guest_t0 -> "Run /init" (BM_BootVerbose only)
//   init       -> the agent's "serving on" line: exec, modules, port
//              (from QEMU's spawn in BM_Boot, where the kernel is quiet)
//   health     -> Boot() returns: the host's Health/Check answered
//   sandbox    CreateSandbox: the guest mounts the virtio-fs share
//   cpu        QEMU's CPU time (all threads) until CreateSandbox returned:
//              what a boot costs when the machine is not shared
//   rq_wait    time QEMU's busiest thread sat runnable but not running:
//              the load of other processes, to subtract when comparing
// The iteration time is launch..sandbox, which is the `boot` phase of
// `vmshare run --timings`. BM_BootVerbose pays for ~300 console lines; its
// phases attribute, BM_Boot's total is the one to quote.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/types.h"
#include "sys/env.h"
#include "vm/guest.h"
#include "vm/guest_image.h"

namespace {

namespace fs = std::filesystem;
using vmshare::Status;

struct Line {
  int64_t host_ns;
  std::string text;
};

// Reads the console FIFO until QEMU closes it.
class ConsoleReader {
 public:
  explicit ConsoleReader(std::string path) : path_(std::move(path)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ConsoleReader() {
    // A QEMU that never opened the FIFO: open it for writing to release the reader.
    int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
    thread_.join();
  }
  std::vector<Line> lines() {
    std::lock_guard<std::mutex> l(mu_);
    return lines_;
  }
  // When QEMU opened the console (its chardev setup, early in its start).
  int64_t opened_ns() {
    std::lock_guard<std::mutex> l(mu_);
    return opened_ns_;
  }

 private:
  void Run() {
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    {
      std::lock_guard<std::mutex> l(mu_);
      opened_ns_ = vmshare::sys::Env::Default()->NowNanos();
    }
    std::string buf;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      const int64_t now = vmshare::sys::Env::Default()->NowNanos();
      buf.append(chunk, n);
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::lock_guard<std::mutex> l(mu_);
        lines_.push_back({now, buf.substr(0, nl)});
        buf.erase(0, nl + 1);
      }
    }
    ::close(fd);
  }
  std::string path_;
  std::mutex mu_;
  std::vector<Line> lines_;
  int64_t opened_ns_ = 0;
  std::thread thread_;
};

// {cpu ns of all threads, run-queue wait ns of the busiest thread}.
std::pair<int64_t, int64_t> QemuSchedStat(pid_t pid) {
  int64_t total = 0, best_run = 0, best_wait = 0;
  std::error_code ec;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(t.path() / "schedstat");
    int64_t run = 0, wait = 0;
    if (!(in >> run >> wait)) continue;
    total += run;
    if (run > best_run) best_run = run, best_wait = wait;
  }
  return {total, best_wait};
}

// The printk stamp of a line "[    1.234567] ...", in ns; -1 without one.
int64_t PrintkNs(const std::string& s) {
  if (s.size() < 3 || s[0] != '[') return -1;
  const size_t end = s.find(']');
  if (end == std::string::npos) return -1;
  char* stop = nullptr;
  const double sec = std::strtod(s.c_str() + 1, &stop);
  if (stop == s.c_str() + 1) return -1;
  return static_cast<int64_t>(sec * 1e9);
}

void BootOnce(benchmark::State& state, bool verbose) {
  auto* env = vmshare::sys::Env::Default();
  auto image = vmshare::vm::FindGuestImage(env, "");
  if (!image.ok()) {
    state.SkipWithError(image.status().ToString().c_str());
    return;
  }
  char tmpl[] = "/tmp/vmshare-boot-bench-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  fs::create_directory(dir + "/shared");
  std::map<std::string, double> sum;
  int runs = 0;
  for (auto _ : state) {
    const std::string fifo = dir + "/console";
    fs::remove(fifo);
    ::mkfifo(fifo.c_str(), 0600);
    ConsoleReader console(fifo);
    vmshare::vm::GuestConfig gc;
    gc.launch.run_dir = dir + "/run";
    gc.launch.shared_dir = dir + "/shared";
    gc.launch.image = *image;
    gc.launch.accel = "tcg";
    gc.launch.console_log = fifo;
    gc.launch.extra_append = verbose ? "printk.time=1 loglevel=7" : "printk.time=1";
    vmshare::vm::Guest guest(env, gc);
    const int64_t t0 = env->NowNanos();
    Status s = guest.Boot();
    const int64_t t_ready = env->NowNanos();
    const pid_t qemu = guest.launcher().qemu_pid();
    vmshare::Storage share;
    share.driver = "virtio-fs";
    share.source = vmshare::kShareTag;
    share.fstype = "virtiofs";
    share.mount_point = vmshare::kGuestSharedDir;
    if (s.ok()) s = guest.agent().CreateSandbox({share}, "bench", "vmshare");
    const int64_t t_sandbox = env->NowNanos();
    const auto [cpu, rq_wait] = QemuSchedStat(qemu);
    Status down = guest.Shutdown(std::chrono::milliseconds(10000));
    if (!s.ok() || !down.ok()) {
      state.SkipWithError((s.ok() ? down : s).ToString().c_str());
      break;
    }
    std::vector<Line> lines = console.lines();
    const int64_t t_spawn = console.opened_ns();
    int64_t serving = -1, run_init = -1, guest_zero = -1;
    for (const Line& l : lines) {
      const int64_t p = PrintkNs(l.text);
      // The line that arrived soonest after its stamp gives the guest clock's zero.
      if (p > 0 && (guest_zero < 0 || l.host_ns - p < guest_zero)) guest_zero = l.host_ns - p;
      if (l.text.find("Run /init as init process") != std::string::npos && p >= 0) run_init = p;
      if (serving < 0 && l.text.find("vmshare-agent: serving on") != std::string::npos)
        serving = l.host_ns;
    }
    auto ms = [](int64_t ns) { return ns / 1e6; };
    sum["launch"] += ms(t_spawn - t0);
    if (verbose && guest_zero > 0 && run_init > 0) {
      sum["guest_t0"] += ms(guest_zero - t_spawn);
      sum["kernel"] += ms(run_init);
      sum["init"] += ms(serving - (guest_zero + run_init));
    } else {
      sum["init"] += ms(serving - t_spawn);
    }
    sum["health"] += ms(t_ready - serving);
    sum["sandbox"] += ms(t_sandbox - t_ready);
    sum["cpu"] += ms(cpu);
    sum["rq_wait"] += ms(rq_wait);
    state.SetIterationTime((t_sandbox - t0) / 1e9);
    ++runs;
  }
  for (const auto& [k, v] : sum) state.counters[k + "_ms"] = v / runs;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

void BM_Boot(benchmark::State& state) { BootOnce(state, false); }
void BM_BootVerbose(benchmark::State& state) { BootOnce(state, true); }

BENCHMARK(BM_Boot)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BootVerbose)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
