#include "agent/server/oci_process.h"

#include <sched.h>
#include <sys/resource.h>

#include <array>
#include <string_view>
#include <utility>

#include "core/ids.h"

namespace vmshare::agent {
namespace {

// capability.h's numbering, CAP_CHOWN = 0 to CAP_CHECKPOINT_RESTORE = 40.
constexpr std::array<std::string_view, 41> kCaps = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

constexpr std::pair<std::string_view, int> kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

Result<uint64_t> CapMask(const std::vector<std::string>& names, const std::string& set,
                         int cap_last) {
  uint64_t mask = 0;
  for (const auto& n : names) {
    const int c = CapabilityNumber(n);
    if (c < 0) {
      return InvalidArgumentError("process.capabilities." + set + ": unknown capability " +
                                  Quote(n));
    }
    if (c <= cap_last) mask |= uint64_t{1} << c;  // runc drops what the kernel lacks
  }
  return mask;
}

Status ApplyNamespaces(const ContainerSpec& spec, sys::ContainedProcessOptions* o) {
  constexpr std::pair<std::string_view, int> kTypes[] = {
      {"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET},   {"ipc", CLONE_NEWIPC},
      {"uts", CLONE_NEWUTS}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
      {"mount", 0},
  };
  for (const auto& ns : spec.namespaces) {
    if (ns.type == "user") {
      return InvalidArgumentError(
          "linux.namespaces: a user namespace is not supported (vmshare has no uid/gid "
          "mappings; the VM is the isolation boundary)");
    }
    int flag = -1;
    for (const auto& [name, f] : kTypes) {
      if (ns.type == name) flag = f;
    }
    if (flag < 0) {
      return InvalidArgumentError("linux.namespaces: unknown namespace type " + Quote(ns.type));
    }
    // A path is a namespace of the host; the guest's own stands for it.
    if (ns.path.empty()) o->clone_flags |= flag;
  }
  return Status::Ok();
}

Status ApplySysctl(const ContainerSpec& spec, sys::ContainedProcessOptions* o) {
  for (const auto& [key, value] : spec.sysctl) {
    const std::string what = "linux.sysctl " + Quote(key);
    if (key.empty() || key[0] == '/' || key[0] == '.' || key.find("..") != std::string::npos) {
      return InvalidArgumentError(what + ": not a sysctl name");
    }
    const bool net = key.rfind("net.", 0) == 0;
    const bool ipc = key.rfind("kernel.msg", 0) == 0 || key.rfind("kernel.sem", 0) == 0 ||
                     key.rfind("kernel.shm", 0) == 0 || key.rfind("fs.mqueue.", 0) == 0;
    const bool uts = key == "kernel.hostname" || key == "kernel.domainname";
    if (net && (o->clone_flags & CLONE_NEWNET) == 0) {
      return InvalidArgumentError(what + ": needs a new network namespace");
    }
    if (ipc && (o->clone_flags & CLONE_NEWIPC) == 0) {
      return InvalidArgumentError(what + ": needs a new ipc namespace");
    }
    if (uts && (o->clone_flags & CLONE_NEWUTS) == 0) {
      return InvalidArgumentError(what + ": needs a new uts namespace");
    }
    std::string path = "/proc/sys/";
    for (char c : key) path += c == '.' ? '/' : c;
    o->sysctl.emplace_back(path, value);
  }
  return Status::Ok();
}

Status CheckPaths(const std::vector<std::string>& paths, const std::string& field) {
  for (const auto& p : paths) {
    if (p.empty() || p[0] != '/') {
      return InvalidArgumentError(field + " " + Quote(p) + ": not an absolute path");
    }
  }
  return Status::Ok();
}

}  // namespace

int CapabilityNumber(const std::string& name) {
  for (size_t i = 0; i < kCaps.size(); ++i) {
    if (kCaps[i] == name) return static_cast<int>(i);
  }
  return -1;
}

int RlimitNumber(const std::string& name) {
  for (const auto& [n, r] : kRlimits) {
    if (n == name) return r;
  }
  return -1;
}

bool MadeInContainerNamespaces(const std::string& type) {
  return type == "proc" || type == "mqueue" || type == "sysfs" || type == "cgroup" ||
         type == "cgroup2";
}

Status ApplyProcessSpec(const ContainerSpec& spec, int cap_last, sys::ContainedProcessOptions* o) {
  RETURN_IF_ERROR(ApplyNamespaces(spec, o));
  if (!spec.hostname.empty()) {
    // With a uts namespace joined by path the sandbox's (the guest's) own is
    // named, which is where the hostname then goes, as for a Kata pod.
    bool uts = false;
    for (const auto& ns : spec.namespaces) uts |= ns.type == "uts";
    if (!uts) {
      return InvalidArgumentError("hostname " + Quote(spec.hostname) +
                                  ": needs a new uts namespace in linux.namespaces");
    }
    o->hostname = spec.hostname;
  }
  if (spec.capabilities) {
    const SpecCapabilities& c = *spec.capabilities;
    sys::ContainerCaps caps;
    ASSIGN_OR_RETURN(caps.bounding, CapMask(c.bounding, "bounding", cap_last));
    ASSIGN_OR_RETURN(caps.effective, CapMask(c.effective, "effective", cap_last));
    ASSIGN_OR_RETURN(caps.permitted, CapMask(c.permitted, "permitted", cap_last));
    ASSIGN_OR_RETURN(caps.inheritable, CapMask(c.inheritable, "inheritable", cap_last));
    ASSIGN_OR_RETURN(caps.ambient, CapMask(c.ambient, "ambient", cap_last));
    // The kernel raises an ambient capability only if it is permitted and
    // inheritable; runc leaves the others out (runc spec lists ambient
    // capabilities without inheritable ones), and so do we.
    caps.ambient &= caps.permitted & caps.inheritable;
    o->caps = caps;
  }
  for (const auto& r : spec.rlimits) {
    const int n = RlimitNumber(r.type);
    if (n < 0) return InvalidArgumentError("process.rlimits: unknown type " + Quote(r.type));
    if (r.soft > r.hard) {
      return InvalidArgumentError("process.rlimits " + r.type + ": soft limit above hard limit");
    }
    o->rlimits.push_back({n, r.soft, r.hard});
  }
  o->no_new_privileges = spec.no_new_privileges;
  if (spec.umask) {
    if (*spec.umask > 0777) return InvalidArgumentError("process.user.umask is above 0777");
    o->umask = static_cast<mode_t>(*spec.umask);
  }
  RETURN_IF_ERROR(ApplySysctl(spec, o));
  RETURN_IF_ERROR(CheckPaths(spec.masked_paths, "linux.maskedPaths"));
  RETURN_IF_ERROR(CheckPaths(spec.readonly_paths, "linux.readonlyPaths"));
  o->masked_paths = spec.masked_paths;
  o->readonly_paths = spec.readonly_paths;
  return Status::Ok();
}

}  // namespace vmshare::agent
