// containerd-shim-vmshare-v2: containerd's shim v2 for vmshare sandboxes.
// containerd runs it as `... start` and `... delete` (serve.h); `start`
// runs it again as the daemon (`... serve`).
#include <cstdio>
#include <string>
#include <vector>

#include "shim/serve.h"
#include "shim/shim_args.h"

int main(int argc, char** argv) {
  using namespace vmshare;
  std::vector<std::string> args(argv, argv + argc);
  Result<shim::ShimArgs> a = shim::ParseShimArgs(args);
  if (!a.ok()) {
    std::fprintf(stderr, "containerd-shim-vmshare-v2: %s\n", a.status().message().c_str());
    return 2;
  }
  sys::Env* env = sys::Env::Default();
  if (a->action == "version") {
    std::printf("containerd-shim-vmshare-v2 (vmshare)\n");
    return 0;
  }
  if (a->action == "start") {
    Result<std::string> self = env->ReadlinkAt(sys::Cwd(), "/proc/self/exe");
    if (!self.ok()) {
      std::fprintf(stderr, "containerd-shim-vmshare-v2 start: %s\n", self.status().message().c_str());
      return 1;
    }
    return shim::RunStart(env, *a, *self);
  }
  if (a->action == "delete") return shim::RunDelete(env, *a);
  return shim::RunServe(env, *a);
}
