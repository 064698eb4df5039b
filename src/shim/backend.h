// SandboxBackend: what the Task service needs from one pod sandbox (one VM),
// in the Task API's own terms.
//
// sandbox_backend.cc implements it over the sandbox layer (sandbox/); the
// task service tests use a fake. One backend serves every container of one
// sandbox. Processes are named by container id and exec id (empty: the
// container's init process).
//
// Thread safety: every method may be called from any thread, concurrently;
// the blocking ones (WaitProcess, ReadOutput) must not stall the others.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "shim/oci_spec.h"

namespace vmshare::shim {

// A container as the backend creates it.
struct ContainerSpecIn {
  std::string id;
  std::string bundle;
  std::string rootfs;  // absolute host path of the root filesystem
  OciSpec spec;
};

class SandboxBackend {
 public:
  virtual ~SandboxBackend() = default;

  // Boots the sandbox's guest. REQUIRES: called once, before anything else.
  virtual Status Boot(const std::string& sandbox_id, const OciSpec& first) = 0;
  // Shares the container's rootfs and bind mounts with the guest and creates
  // it there (its init process not started yet).
  virtual Status CreateContainer(const ContainerSpecIn& c) = 0;
  virtual Status StartContainer(const std::string& cid) = 0;
  // Starts another process in a running container.
  virtual Status ExecProcess(const std::string& cid, const std::string& exec_id,
                             const SpecProcess& process) = 0;
  // Blocks until the process exits: its exit code, or 128 + n when signal n
  // killed it. kUnavailable when the guest went away.
  virtual Result<int32_t> WaitProcess(const std::string& cid, const std::string& exec_id) = 0;
  virtual Status SignalProcess(const std::string& cid, const std::string& exec_id, int sig) = 0;
  // Up to `max` bytes of stdout (stream 1) or stderr (2); blocks until some
  // are there; "" at end of stream.
  virtual Result<std::string> ReadOutput(const std::string& cid, const std::string& exec_id,
                                         int stream, uint32_t max) = 0;
  virtual Status WriteStdin(const std::string& cid, const std::string& exec_id,
                            std::string_view data) = 0;
  virtual Status CloseStdin(const std::string& cid, const std::string& exec_id) = 0;
  virtual Status ResizeTerminal(const std::string& cid, const std::string& exec_id, uint32_t width,
                                uint32_t height) = 0;
  // Removes the container from the guest and unshares its files.
  virtual Status RemoveContainer(const std::string& cid) = 0;
  // Shuts the guest down and cleans the sandbox up; nothing is left.
  virtual Status Shutdown() = 0;
  // A host pid standing for the sandbox's processes (QEMU's); 0 if the
  // backend does not know one (the shim's pid is reported then).
  virtual uint32_t pid() = 0;
};

}  // namespace vmshare::shim
