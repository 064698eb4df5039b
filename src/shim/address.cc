#include "shim/address.h"

#include <fcntl.h>

#include <cstdint>
#include <cstdio>

#include "persist/atomic_file.h"

namespace vmshare::shim {
namespace {

// 64-bit FNV-1a from a given basis: two bases give 128 bits, enough that
// two (namespace, sandbox) pairs on one host never share a socket name.
uint64_t Fnv1a(std::string_view s, uint64_t basis) {
  uint64_t h = basis;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::string ShimSocketPath(const std::string& socket_dir, const std::string& ns,
                           const std::string& sandbox_id) {
  const std::string key = ns + "/" + sandbox_id;
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx",
                static_cast<unsigned long long>(Fnv1a(key, 0xcbf29ce484222325ull)),
                static_cast<unsigned long long>(Fnv1a(key, 0x84222325cbf29ce4ull)));
  return socket_dir + "/vmshare-" + hex;
}

std::string AddressOf(const std::string& socket_path) { return "unix://" + socket_path; }

Status WriteAddressFile(sys::Env* env, const std::string& bundle, const std::string& address) {
  ASSIGN_OR_RETURN(sys::Fd dir, env->OpenAt(sys::Cwd(), bundle, O_RDONLY | O_DIRECTORY));
  return persist::WriteFileAtomic(env, dir, "address", address)
      .WithContext("write " + bundle + "/address");
}

bool SocketAnswers(sys::Env* env, const std::string& socket_path) {
  return env->UnixConnect(socket_path).ok();
}

}  // namespace vmshare::shim
