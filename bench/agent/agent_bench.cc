// Agent channel costs, in process over a unix socketpair: a Health Check
// round trip (framing + envelope + dispatch), CopyFile of 4 KiB and 1 MiB
// chunks into the scratch dir, and the wire encoding alone. Whole copies
// into a real agent process are in copy_bench.cc.
#include <benchmark/benchmark.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "agent/client.h"
#include "agent/server/copy_file.h"
#include "agent/translate.h"
#include "agent/ttrpc_server.h"
#include "support/scratch.h"
#include "sys/env.h"

namespace vmshare::agent {
namespace {

// A server thread with Check and CopyFile (into `root`) on one end of a
// socketpair, an AgentClient on the other.
struct Loop {
  explicit Loop(const std::string& root) : server(sys::Env::Default()) {
    sys::Env* env = sys::Env::Default();
    sys::Fd a;
    (void)env->SocketPair(&a, &server_end);
    server.Register(kHealthService, "Check",
                    [](std::string_view, const CallContext&) -> Result<std::string> {
                      return EncodeHealthCheckResponse(ServingStatus::kServing);
                    });
    server.Register(kAgentService, "CopyFile",
                    [root, env](std::string_view p, const CallContext&) -> Result<std::string> {
                      ASSIGN_OR_RETURN(auto r, DecodeCopyFileRequestView(p));
                      RETURN_IF_ERROR(CopyFile(env, root, r.header, r.data));
                      return std::string();
                    });
    thread = std::thread([this] { (void)server.Serve(server_end); });
    client = std::move(AgentClient::Create(env, std::move(a)).value());
  }
  ~Loop() {
    client.reset();
    server.Stop();
    thread.join();
  }
  sys::Fd server_end;
  TtrpcServer server;
  std::thread thread;
  std::unique_ptr<AgentClient> client;
};

std::string TempRoot() { return bench::MakeScratchDir("agent"); }

void BM_CheckRoundTrip(benchmark::State& state) {
  const std::string root = TempRoot();
  Loop loop(root);
  for (auto _ : state) {
    auto r = loop.client->Check();
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
  }
  std::filesystem::remove_all(root);
}
BENCHMARK(BM_CheckRoundTrip);

void BM_CopyFile(benchmark::State& state) {
  const std::string root = TempRoot();
  Loop loop(root);
  CopyFileRequest r;
  r.path = std::string(kGuestSharedDir) + "/c1-0123456789abcdef-data/file";
  r.file_mode = S_IFREG | 0644;
  r.dir_mode = 0750;
  r.data.assign(static_cast<size_t>(state.range(0)), 'x');
  r.file_size = static_cast<int64_t>(r.data.size());
  for (auto _ : state) {
    Status s = loop.client->CopyFile(r);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  std::filesystem::remove_all(root);
}
BENCHMARK(BM_CopyFile)->Arg(4 << 10)->Arg(1 << 20);

void BM_EncodeDecodeCopyFile(benchmark::State& state) {
  CopyFileRequest r;
  r.path = std::string(kGuestSharedDir) + "/c1/rootfs/etc/hosts";
  r.data.assign(4096, 'x');
  r.file_size = 4096;
  for (auto _ : state) {
    std::string bytes =
        EncodeRpcRequest({kAgentService, "CopyFile", EncodeCopyFileRequest(r), 0, {}});
    auto req = DecodeRpcRequest(bytes);
    auto back = DecodeCopyFileRequest(req->payload);
    benchmark::DoNotOptimize(back);
  }
}
BENCHMARK(BM_EncodeDecodeCopyFile);

// What the guest does with a CopyFile frame before writing the chunk: the
// envelope, then the request, decoded by protobuf (/0: both copy the data)
// or as views into the frame (/1: the guest's way).
void BM_DecodeCopyFile(benchmark::State& state) {
  CopyFileRequest r;
  r.path = std::string(kGuestSharedDir) + "/c1/rootfs/usr/lib/libc.so.6";
  r.data.assign(static_cast<size_t>(state.range(0)), 'x');
  r.file_size = static_cast<int64_t>(r.data.size());
  const std::string frame =
      EncodeRpcRequest({kAgentService, "CopyFile", EncodeCopyFileRequest(r), 0, {}});
  const bool views = state.range(1) != 0;
  for (auto _ : state) {
    if (views) {
      auto req = DecodeRpcRequestView(frame);
      auto back = DecodeCopyFileRequestView(req->payload);
      benchmark::DoNotOptimize(back);
    } else {
      auto req = DecodeRpcRequest(frame);
      auto back = DecodeCopyFileRequest(req->payload);
      benchmark::DoNotOptimize(back);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_DecodeCopyFile)->ArgsProduct({{4 << 10, 1 << 20}, {0, 1}});

}  // namespace
}  // namespace vmshare::agent
