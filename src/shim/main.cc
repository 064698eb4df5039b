// containerd-shim-vmshare-v2: containerd's shim v2 for vmshare sandboxes.
// containerd runs it as `... start` and `... delete` (serve.h); `start`
// runs it again as the daemon (`... serve`).
#include "shim/sandbox_backend.h"
#include "shim/serve.h"
#include "sys/heap.h"

int main(int argc, char** argv) {
  using namespace vmshare;
  // Copy mode sends files through the agent channel in 1 MiB calls.
  sys::TuneHeapForBulkCopies();
  sys::Env* env = sys::Env::Default();
  shim::SandboxOps ops;
  ops.make_backend = [env](const shim::ShimConfig& c, shim::MainLoop* loop, shim::ShimLog* log) {
    return shim::MakeSandboxBackend(env, c, loop, log);
  };
  ops.collect = [env](const shim::ShimConfig& c, const std::string& sid) {
    return shim::CollectSandbox(env, c, sid);
  };
  return shim::ShimMain(argc, argv, ops);
}
