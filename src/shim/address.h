// Where a sandbox's shim listens, and how containerd learns it.
//
// The socket path is a function of containerd's namespace and the sandbox
// id, so that `start` for a later container of a pod finds the shim its
// sandbox container started (Kata's shim does the same):
//   <socket_dir>/vmshare-<32 hex digits of a hash of "ns/sandbox id">.
// `start` writes the address (unix://<path>) to <bundle>/address, where
// containerd reads it again when it restarts.
#pragma once

#include <string>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::shim {

// containerd's own shims' socket directory; a tmpfs in containerd's mount
// namespace.
inline constexpr char kDefaultSocketDir[] = "/run/containerd/s";

std::string ShimSocketPath(const std::string& socket_dir, const std::string& ns,
                           const std::string& sandbox_id);
std::string AddressOf(const std::string& socket_path);  // "unix://" + path

// Writes <bundle>/address atomically.
Status WriteAddressFile(sys::Env* env, const std::string& bundle, const std::string& address);

// True when something accepts connections on the socket.
bool SocketAnswers(sys::Env* env, const std::string& socket_path);

}  // namespace vmshare::shim
