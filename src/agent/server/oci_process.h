// How a container's init is started, from the process and linux parts of
// its OCI spec (runc's behaviour, as the runtime spec describes it):
// namespaces, hostname, capabilities, rlimits, no_new_privileges, umask,
// sysctl, masked and read-only paths. What cannot apply in the guest is
// refused with an error naming the field; nothing is ignored silently.
//
// Namespaces: each listed type without a path is made new (pid, ipc, uts,
// network with its loopback up, cgroup, time); a mount namespace is always
// made (the container needs its own root). A path names a namespace of the
// host, which the guest does not have: the container then shares the
// guest's (the VM is the sandbox, as with Kata). "user" is refused (no
// uid/gid mappings in vmshare).
#pragma once

#include <string>

#include "agent/messages.h"
#include "core/result.h"
#include "sys/env.h"

namespace vmshare::agent {

// Fills the namespace, identity and privilege fields of `o` from `spec`.
// `cap_last` is the guest kernel's last capability (capabilities it lacks
// are dropped, as runc does).
Status ApplyProcessSpec(const ContainerSpec& spec, int cap_last, sys::ContainedProcessOptions* o);

// Capability number of "CAP_CHOWN", ...; -1 when unknown.
int CapabilityNumber(const std::string& name);
// RLIMIT_* number of "RLIMIT_NOFILE", ...; -1 when unknown.
int RlimitNumber(const std::string& name);

// Filesystems bound to a namespace of their mounter (proc: pid, mqueue: ipc,
// sysfs: net, cgroup2: cgroup), made by the init in its namespaces.
bool MadeInContainerNamespaces(const std::string& type);

}  // namespace vmshare::agent
