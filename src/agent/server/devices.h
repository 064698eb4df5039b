// A container's /dev, as the runtime spec's "Default Devices" section and
// runc make it: after every spec mount (so a tmpfs at /dev is already
// there), the device nodes null, zero, full, random, urandom and tty (0666,
// root), then the spec's linux.devices (which win over a default of the same
// path), then the links /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr and
// /dev/ptmx (-> pts/ptmx). An entry that is a mount point (a bind such as
// /dev/termination-log) is left alone; an existing file is replaced by the
// node; an existing link is kept. Everything is resolved inside the root.
#pragma once

#include "agent/messages.h"
#include "core/result.h"
#include "sys/env.h"

namespace vmshare::agent {

Status CreateDevices(sys::Env* env, const sys::Fd& root, const ContainerSpec& spec);

}  // namespace vmshare::agent
