// The container state the crash test writes for version v: its size varies
// with v so that a torn or mixed file cannot pass for a whole one.
#pragma once

#include <string>

#include "core/types.h"

namespace vmshare::testing {

inline ContainerState CrashState(int v) {
  ContainerState s;
  s.state = "running";
  s.cgroup_path = "/vmshare/v" + std::to_string(v);
  s.bundle_path = "/run/bundles/c1";
  s.rootfs = {.source = "/bundles/c1/rootfs",
              .destination = "/",
              .type = "bind",
              .options = {"rbind"},
              .host_path = "/run/vmshare/s1/mounts/c1/rootfs",
              .mounted = true};
  for (int i = 0; i < v % 7; ++i)
    s.mounts.push_back({.source = "/src/" + std::to_string(i),
                        .destination = "/dst/" + std::to_string(i),
                        .type = "bind",
                        .options = {"rbind", std::string(v % 50, 'x')},
                        .host_path = "/h/" + std::to_string(v),
                        .read_only = i % 2 == 0,
                        .mounted = true});
  s.process.push_back({.token = "token-" + std::to_string(v),
                       .pid = v,
                       .start_time = "2026-11-22T23:00:00.123456789Z"});
  return s;
}

// The version CrashState(v) was made from (its cgroup path), or -1.
inline int CrashVersion(const ContainerState& s) {
  const std::string prefix = "/vmshare/v";
  if (s.cgroup_path.rfind(prefix, 0) != 0) return -1;
  return std::stoi(s.cgroup_path.substr(prefix.size()));
}

}  // namespace vmshare::testing
