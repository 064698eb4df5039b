// Containers: the calls served from a container's cgroup (StatsContainer,
// UpdateContainer, Pause/ResumeContainer, ListProcesses, GetOOMEvent).
#include <fcntl.h>

#include <set>

#include "agent/server/container.h"
#include "core/ids.h"

namespace vmshare::agent {

Result<ContainerStats> Containers::Stats(const std::string& cid) {
  ASSIGN_OR_RETURN(std::string cg, CgroupOf(cid));
  auto stats = cgroups_->Stats(cg);
  if (!stats.ok()) return stats.status().WithContext("stats of container " + Quote(cid));
  return stats;
}

Status Containers::Update(const UpdateContainerRequest& r) {
  ASSIGN_OR_RETURN(std::string cg, CgroupOf(r.container_id));
  return cgroups_->Update(cg, r.resources).WithContext("update container " + Quote(r.container_id));
}

Status Containers::Pause(const std::string& cid, bool paused) {
  ASSIGN_OR_RETURN(std::string cg, CgroupOf(cid));
  return cgroups_->Freeze(cg, paused)
      .WithContext(std::string(paused ? "pause" : "resume") + " container " + Quote(cid));
}

Result<std::string> Containers::ListProcesses(const ListProcessesRequest& r) {
  const std::string what = "list processes of container " + Quote(r.container_id);
  if (r.format != "json" && r.format != "table") {
    return InvalidArgumentError(what + ": format " + Quote(r.format) +
                                " is neither \"json\" nor \"table\"");
  }
  ASSIGN_OR_RETURN(auto c, Find({r.container_id, ""}));
  std::set<pid_t> pids;
  if (!c->cgroup.empty()) {
    ASSIGN_OR_RETURN(auto listed, cgroups_->Pids(c->cgroup));
    pids.insert(listed.begin(), listed.end());
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    if (c->init && !processes_->Exited(c->init->process)) pids.insert(c->init->process->child.pid);
    for (const auto& [id, p] : c->execs) {
      if (!processes_->Exited(p->process)) pids.insert(p->process->child.pid);
    }
  }
  std::string out = r.format == "json" ? "[" : "PID CMD\n";
  for (pid_t pid : pids) {
    if (r.format == "json") {
      if (out.size() > 1) out += ",";
      out += std::to_string(pid);
      continue;
    }
    std::string comm = "?";
    if (auto fd = env_->OpenAt(sys::Cwd(), "/proc/" + std::to_string(pid) + "/comm", O_RDONLY);
        fd.ok()) {
      if (auto text = env_->ReadAll(*fd, 256); text.ok() && !text->empty()) {
        comm = *text;
        if (comm.back() == '\n') comm.pop_back();
      }
    }
    out += std::to_string(pid) + " " + comm + "\n";
  }
  if (r.format == "json") out += "]";
  return out;
}

Result<std::string> Containers::NextOomEvent(const CallContext& ctx) {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [id, c] : containers_) {
        if (c->cgroup.empty()) continue;
        const uint64_t kills = cgroups_->OomKills(c->cgroup);
        if (kills > c->oom_seen) {
          c->oom_seen = kills;
          return id;
        }
      }
    }
    if (ctx.cancelled != nullptr && ctx.cancelled->load()) {
      return UnavailableError("get OOM event: connection closed");
    }
    if (ctx.deadline_ns != 0 && env_->NowNanos() > ctx.deadline_ns) {
      return DeadlineExceededError("get OOM event: timed out");
    }
    env_->SleepFor(std::chrono::milliseconds(100));
  }
}

}  // namespace vmshare::agent
