// Fuzzes the ttrpc stream decoder: the input is a byte stream a peer sends.
// Frames are read with a small data limit (so the oversized-frame drain path
// runs) and every frame's data goes through the Request and Response
// envelope decoders. Properties: no crash, no frame data above the limit,
// every oversized frame is reported with no data, the read ends cleanly at
// the end of the input, and a decoded envelope re-encodes to something that
// decodes to the same value; the server's view decoder of the Request
// envelope agrees with protobuf's.
#include <fcntl.h>

#include <cstdint>
#include <string>
#include <thread>

#include "agent/translate.h"
#include "agent/ttrpc.h"
#include "fuzz_util.h"
#include "sys/env.h"

using namespace vmshare;
using namespace vmshare::agent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1 << 16)) return 0;
  sys::Env* env = sys::Env::Default();
  sys::Fd r, w;
  FUZZ_CHECK(env->SocketPair(&r, &w).ok(), "socketpair");
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::thread writer([&] {
    (void)env->WriteAll(w, input);
    w.Reset();
  });
  constexpr uint32_t kLimit = 256;
  size_t frames = 0;
  for (;;) {
    auto f = ReadFrame(env, r, nullptr, kLimit);
    if (!f.ok()) {
      FUZZ_CHECK(f.status().code() == Code::kUnavailable, f.status().ToString());
      break;
    }
    ++frames;
    FUZZ_CHECK(f->data.size() <= kLimit, "frame data above the limit");
    if (f->oversized) {
      FUZZ_CHECK(f->data.empty() && f->header.length > kLimit, "oversized frame with data");
      continue;
    }
    FUZZ_CHECK(f->data.size() == f->header.length, "short frame returned as whole");
    auto view = DecodeRpcRequestView(f->data);
    if (auto req = DecodeRpcRequest(f->data); req.ok()) {
      auto again = DecodeRpcRequest(EncodeRpcRequest(*req));
      FUZZ_CHECK(again.ok() && *again == *req, "Request does not round-trip");
      FUZZ_CHECK(view.ok() && view->service == req->service && view->method == req->method &&
                     view->payload == req->payload && view->timeout_nano == req->timeout_nano &&
                     view->metadata.size() == req->metadata.size(),
                 "Request view differs from protobuf's decoding");
      for (size_t i = 0; i < req->metadata.size(); ++i) {
        FUZZ_CHECK(view->metadata[i].first == req->metadata[i].first &&
                       view->metadata[i].second == req->metadata[i].second,
                   "Request view's metadata differs");
      }
    } else {
      FUZZ_CHECK(!view.ok() && view.status().code() == req.status().code() &&
                     view.status().message() == req.status().message(),
                 "Request view accepts what protobuf refuses");
    }
    if (auto resp = DecodeRpcResponse(f->data); resp.ok()) {
      auto again = DecodeRpcResponse(EncodeRpcResponse(*resp));
      FUZZ_CHECK(again.ok() && *again == *resp, "Response does not round-trip");
    }
  }
  writer.join();
  FUZZ_CHECK(frames <= size / kFrameHeaderSize + 1, "more frames than headers");
  return 0;
}
