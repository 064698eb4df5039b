// containerd-shim-vmsharefake-v2: the real shim program (serve.h) over the
// fake backend, so that the containerd protocol test drives start, the
// daemon, the Task API, FIFOs, events and delete with real containerd
// without booting a guest.
#include "fake_backend.h"
#include "shim/serve.h"

int main(int argc, char** argv) {
  using namespace vmshare;
  shim::SandboxOps ops;
  ops.make_backend = [](const shim::ShimConfig&, shim::MainLoop*, shim::ShimLog*) {
    return std::make_unique<shim::testing::FakeBackend>();
  };
  ops.collect = [](const shim::ShimConfig&, const std::string&) { return Status::Ok(); };
  return shim::ShimMain(argc, argv, ops);
}
