#include "agent/server/cgroup.h"

#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <sstream>

#include "core/ids.h"

namespace vmshare::agent {
namespace {

constexpr uint64_t kCgroup2Magic = 0x63677270;  // CGROUP2_SUPER_MAGIC
constexpr size_t kMaxCgroupFile = 1 << 16;

uint64_t ParseU64(std::string_view s) {
  uint64_t v = 0;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  if (s == "max") return UINT64_MAX;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// "key value" lines (cpu.stat, memory.stat, memory.events, cgroup.events).
std::vector<std::pair<std::string, uint64_t>> KeyValues(const std::string& text) {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::istringstream in(text);
  std::string k, v;
  while (in >> k >> v) out.emplace_back(k, ParseU64(v));
  return out;
}

uint64_t Lookup(const std::vector<std::pair<std::string, uint64_t>>& kv, std::string_view key) {
  for (const auto& [k, v] : kv) {
    if (k == key) return v;
  }
  return 0;
}

std::string Limit(int64_t v) { return v < 0 ? "max" : std::to_string(v); }

}  // namespace

Result<std::string> Cgroups::ReadFile(const std::string& path) {
  ASSIGN_OR_RETURN(sys::Fd fd, env_->OpenAt(sys::Cwd(), path, O_RDONLY));
  return env_->ReadAll(fd, kMaxCgroupFile);
}

Status Cgroups::WriteFile(const std::string& path, const std::string& value) {
  ASSIGN_OR_RETURN(sys::Fd fd, env_->OpenAt(sys::Cwd(), path, O_WRONLY));
  return env_->WriteAll(fd, value).WithContext("write " + Quote(value) + " to " + Quote(path));
}

void Cgroups::EnableControllers() {
  if (enabled_) return;
  enabled_ = true;
  // One at a time: a controller the kernel lacks must not stop the others.
  for (const char* c : {"+cpu", "+memory", "+pids", "+io", "+cpuset"}) {
    WriteFile(root_ + "/cgroup.subtree_control", c).IgnoreError();
  }
}

Result<std::string> Cgroups::Create(const std::string& cid) {
  if (root_.empty()) return std::string();
  auto root = env_->OpenAt(sys::Cwd(), root_, O_PATH | O_DIRECTORY);
  if (!root.ok()) return std::string();
  auto magic = env_->FsMagic(*root);
  if (!magic.ok() || *magic != kCgroup2Magic) return std::string();
  EnableControllers();
  Status s = env_->MkdirAt(*root, cid, 0755);
  if (!s.ok() && s.code() != Code::kAlreadyExists) {
    return s.WithContext("create cgroup of container " + Quote(cid));
  }
  return root_ + "/" + cid;
}

Status Cgroups::Remove(const std::string& dir, const CallContext& ctx, int64_t limit_ns) {
  const std::string what = "remove cgroup " + Quote(dir);
  if (!WriteFile(dir + "/cgroup.kill", "1").ok()) {
    // Kernels before 5.14: kill what is listed.
    auto pids = Pids(dir);
    if (pids.ok()) {
      for (pid_t p : *pids) env_->KillPid(p, SIGKILL).IgnoreError();
    }
  }
  const int64_t limit = limit_ns > 0 ? env_->NowNanos() + limit_ns : 0;
  for (;;) {
    auto events = ReadFile(dir + "/cgroup.events");
    if (!events.ok() || Lookup(KeyValues(*events), "populated") == 0) break;
    const int64_t now = env_->NowNanos();
    if ((ctx.deadline_ns != 0 && now > ctx.deadline_ns) || (limit != 0 && now > limit) ||
        (ctx.cancelled != nullptr && ctx.cancelled->load())) {
      return DeadlineExceededError(what + ": processes still running");
    }
    env_->SleepFor(std::chrono::milliseconds(10));
  }
  Status s = env_->UnlinkAt(sys::Cwd(), dir, AT_REMOVEDIR);
  if (!s.ok() && s.code() != Code::kNotFound) return s.WithContext(what);
  return Status::Ok();
}

Status Cgroups::Freeze(const std::string& dir, bool frozen) {
  return WriteFile(dir + "/cgroup.freeze", frozen ? "1" : "0");
}

Result<ContainerStats> Cgroups::Stats(const std::string& dir) {
  ContainerStats s;
  ASSIGN_OR_RETURN(std::string cpu, ReadFile(dir + "/cpu.stat"));  // core: always there
  const auto c = KeyValues(cpu);
  s.cpu_total_ns = Lookup(c, "usage_usec") * 1000;
  s.cpu_user_ns = Lookup(c, "user_usec") * 1000;
  s.cpu_kernel_ns = Lookup(c, "system_usec") * 1000;
  s.cpu_periods = Lookup(c, "nr_periods");
  s.cpu_throttled_periods = Lookup(c, "nr_throttled");
  s.cpu_throttled_ns = Lookup(c, "throttled_usec") * 1000;
  auto read = [&](const char* name) -> uint64_t {
    auto v = ReadFile(dir + "/" + name);
    return v.ok() ? ParseU64(*v) : 0;
  };
  s.memory_usage = read("memory.current");
  s.memory_max_usage = read("memory.peak");
  s.memory_limit = read("memory.max");
  s.swap_usage = read("memory.swap.current");
  s.swap_limit = read("memory.swap.max");
  if (auto stat = ReadFile(dir + "/memory.stat"); stat.ok()) {
    s.memory_stats = KeyValues(*stat);
    std::sort(s.memory_stats.begin(), s.memory_stats.end());
    s.memory_cache = Lookup(s.memory_stats, "file");
  }
  if (auto ev = ReadFile(dir + "/memory.events"); ev.ok()) {
    s.memory_failcnt = Lookup(KeyValues(*ev), "max");
  }
  s.pids_current = read("pids.current");
  s.pids_limit = read("pids.max");
  if (s.pids_limit == UINT64_MAX) s.pids_limit = 0;
  return s;
}

Status Cgroups::Update(const std::string& dir, const LinuxResources& r) {
  if (r.memory_limit) RETURN_IF_ERROR(WriteFile(dir + "/memory.max", Limit(*r.memory_limit)));
  if (r.memory_reservation) {
    RETURN_IF_ERROR(WriteFile(dir + "/memory.low", Limit(*r.memory_reservation)));
  }
  if (r.memory_swap) {
    // OCI's swap is memory+swap; cgroup v2 limits swap alone.
    std::string swap = "max";
    if (*r.memory_swap >= 0 && r.memory_limit && *r.memory_limit >= 0) {
      swap = std::to_string(std::max<int64_t>(0, *r.memory_swap - *r.memory_limit));
    }
    RETURN_IF_ERROR(WriteFile(dir + "/memory.swap.max", swap));
  }
  if (r.cpu_shares) {
    // The runc/crun mapping of v1 shares [2, 262144] onto v2 weight [1, 10000].
    const uint64_t shares = std::clamp<uint64_t>(*r.cpu_shares, 2, 262144);
    RETURN_IF_ERROR(
        WriteFile(dir + "/cpu.weight", std::to_string(1 + ((shares - 2) * 9999) / 262142)));
  }
  if (r.cpu_quota || r.cpu_period) {
    const std::string quota = r.cpu_quota ? Limit(*r.cpu_quota) : "max";
    const uint64_t period = r.cpu_period.value_or(100000);
    RETURN_IF_ERROR(WriteFile(dir + "/cpu.max", quota + " " + std::to_string(period)));
  }
  if (!r.cpu_cpus.empty()) RETURN_IF_ERROR(WriteFile(dir + "/cpuset.cpus", r.cpu_cpus));
  if (!r.cpu_mems.empty()) RETURN_IF_ERROR(WriteFile(dir + "/cpuset.mems", r.cpu_mems));
  if (r.pids_limit) {
    RETURN_IF_ERROR(WriteFile(
        dir + "/pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : std::string("max")));
  }
  return Status::Ok();
}

Result<std::vector<pid_t>> Cgroups::Pids(const std::string& dir) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(dir + "/cgroup.procs"));
  std::vector<pid_t> out;
  std::istringstream in(text);
  pid_t p;
  while (in >> p) out.push_back(p);
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t Cgroups::OomKills(const std::string& dir) {
  auto ev = ReadFile(dir + "/memory.events");
  return ev.ok() ? Lookup(KeyValues(*ev), "oom_kill") : 0;
}

}  // namespace vmshare::agent
