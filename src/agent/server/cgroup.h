// Container cgroups (cgroup v2): one directory per container under a root,
// the guest's /sys/fs/cgroup (or, in tests, a cgroup of the test's own).
//
// The container's processes join it before they exec
// (ContainedProcessOptions::cgroup_procs). StatsContainer reads it,
// UpdateContainer writes its limits, Pause/Resume use cgroup.freeze, OOM
// kills are counted from memory.events, and RemoveContainer kills what is
// left in it (cgroup.kill) before it is removed. Files of a controller that
// is not enabled read as zero; writing one is an error naming the file.
// Stateless; every call names the container's directory.
#pragma once

#include <string>
#include <vector>

#include "agent/messages.h"
#include "agent/ttrpc_server.h"
#include "core/result.h"
#include "sys/env.h"

namespace vmshare::agent {

class Cgroups {
 public:
  // `root` "" turns cgroups off (every container is without one).
  Cgroups(sys::Env* env, std::string root) : env_(env), root_(std::move(root)) {}

  // Makes <root>/<cid> and returns it; "" when the root is not a cgroup v2
  // directory (no cgroups in this guest). The first call enables the
  // cpu, memory, pids and io controllers for the root's children where it can.
  Result<std::string> Create(const std::string& container_id);
  // Kills every process left in `dir`, waits (up to `limit_ns`, 0: the
  // call's deadline only) until it is empty, and removes it.
  Status Remove(const std::string& dir, const CallContext& ctx, int64_t limit_ns);
  Status Freeze(const std::string& dir, bool frozen);
  Result<ContainerStats> Stats(const std::string& dir);
  Status Update(const std::string& dir, const LinuxResources& r);
  Result<std::vector<pid_t>> Pids(const std::string& dir);
  // memory.events oom_kill: how many processes the OOM killer took (0 when
  // the memory controller is off).
  uint64_t OomKills(const std::string& dir);

 private:
  Result<std::string> ReadFile(const std::string& path);
  Status WriteFile(const std::string& path, const std::string& value);
  void EnableControllers();

  sys::Env* env_;
  std::string root_;
  bool enabled_ = false;
};

}  // namespace vmshare::agent
