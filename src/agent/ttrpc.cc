#include "agent/ttrpc.h"

#include <poll.h>

#include <array>
#include <chrono>

namespace vmshare::agent {
namespace {

constexpr std::array<const char*, 17> kRpcNames = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

void PutU32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

uint32_t GetU32(std::string_view b, size_t at) {
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(b[at + i])); };
  return u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);
}

// Waits until fd is readable or stop is set. Waking every 100 ms is what lets
// a reader blocked on a channel (where shutdown(2) may not exist, as on a
// virtio-serial port) notice that its owner is closing.
Status WaitReadable(sys::Env* env, const sys::Fd& fd, const std::atomic<bool>* stop) {
  for (;;) {
    if (stop != nullptr && stop->load()) return UnavailableError("agent channel: closing");
    ASSIGN_OR_RETURN(short revents, env->PollOne(fd, POLLIN, std::chrono::milliseconds(100)));
    if (revents & POLLIN) return Status::Ok();
    if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
      return UnavailableError("agent channel: peer hung up");
    }
  }
}

// Reads exactly n bytes into out (appending). `started` says whether part of
// the frame was already read, which decides how EOF is described.
Status ReadExact(sys::Env* env, const sys::Fd& fd, const std::atomic<bool>* stop, size_t n,
                 std::string* out, bool started) {
  while (n > 0) {
    RETURN_IF_ERROR(WaitReadable(env, fd, stop));
    // Straight into `out`, past what it holds: no zero-fill, no second copy.
    const size_t had = out->size();
    Result<size_t> got = size_t{0};
    out->resize_and_overwrite(had + n, [&](char* p, size_t) {
      got = env->ReadInto(fd, p + had, n);
      return had + (got.ok() ? *got : 0);
    });
    if (!got.ok()) return got.status();
    if (*got == 0) {
      return UnavailableError(started || had > 0 ? "read agent frame: truncated frame"
                                                 : "agent channel closed");
    }
    n -= *got;
    started = true;
  }
  return Status::Ok();
}

}  // namespace

std::string RpcCodeName(int32_t code) {
  if (code >= 0 && code < static_cast<int32_t>(kRpcNames.size())) return kRpcNames[code];
  return "CODE_" + std::to_string(code);
}

Code CodeFromRpc(int32_t code) {
  switch (static_cast<RpcCode>(code)) {
    case RpcCode::kOk:
      return Code::kOk;
    case RpcCode::kInvalidArgument:
    case RpcCode::kOutOfRange:
      return Code::kInvalidArgument;
    case RpcCode::kDeadlineExceeded:
      return Code::kDeadlineExceeded;
    case RpcCode::kNotFound:
      return Code::kNotFound;
    case RpcCode::kAlreadyExists:
      return Code::kAlreadyExists;
    case RpcCode::kPermissionDenied:
    case RpcCode::kUnauthenticated:
      return Code::kPermissionDenied;
    case RpcCode::kFailedPrecondition:
      return Code::kFailedPrecondition;
    case RpcCode::kUnimplemented:
      return Code::kUnimplemented;
    case RpcCode::kUnavailable:
      return Code::kUnavailable;
    case RpcCode::kResourceExhausted:
    case RpcCode::kAborted:
      return Code::kBusy;
    default:
      return Code::kInternal;
  }
}

RpcCode RpcFromCode(Code code) {
  switch (code) {
    case Code::kOk:
      return RpcCode::kOk;
    case Code::kInvalidArgument:
      return RpcCode::kInvalidArgument;
    case Code::kNotFound:
      return RpcCode::kNotFound;
    case Code::kAlreadyExists:
      return RpcCode::kAlreadyExists;
    case Code::kPermissionDenied:
      return RpcCode::kPermissionDenied;
    case Code::kFailedPrecondition:
      return RpcCode::kFailedPrecondition;
    case Code::kUnimplemented:
      return RpcCode::kUnimplemented;
    case Code::kDeadlineExceeded:
      return RpcCode::kDeadlineExceeded;
    case Code::kUnavailable:
      return RpcCode::kUnavailable;
    case Code::kBusy:
      return RpcCode::kResourceExhausted;
    default:
      return RpcCode::kInternal;
  }
}

std::string EncodeFrameHeader(const FrameHeader& h) {
  std::string out;
  out.reserve(kFrameHeaderSize);
  PutU32(out, h.length);
  PutU32(out, h.stream_id);
  out.push_back(static_cast<char>(h.type));
  out.push_back(static_cast<char>(h.flags));
  return out;
}

FrameHeader DecodeFrameHeader(std::string_view b) {
  FrameHeader h;
  h.length = GetU32(b, 0);
  h.stream_id = GetU32(b, 4);
  h.type = static_cast<uint8_t>(b[8]);
  h.flags = static_cast<uint8_t>(b[9]);
  return h;
}

Result<Frame> ReadFrame(sys::Env* env, const sys::Fd& fd, const std::atomic<bool>* stop,
                        uint32_t max_data) {
  std::string head;
  RETURN_IF_ERROR(ReadExact(env, fd, stop, kFrameHeaderSize, &head, /*started=*/false));
  Frame frame;
  frame.header = DecodeFrameHeader(head);
  if (frame.header.length > max_data) {
    // Drain in 64 KiB pieces so the stream stays in sync without buffering.
    frame.oversized = true;
    size_t left = frame.header.length;
    while (left > 0) {
      std::string sink;
      const size_t n = left < (64u << 10) ? left : (64u << 10);
      RETURN_IF_ERROR(ReadExact(env, fd, stop, n, &sink, /*started=*/true));
      left -= n;
    }
    return frame;
  }
  frame.data.reserve(frame.header.length);
  RETURN_IF_ERROR(ReadExact(env, fd, stop, frame.header.length, &frame.data, /*started=*/true));
  return frame;
}

namespace {
constexpr size_t kSeparateWrite = 64 << 10;
}  // namespace

Status WriteFrame(sys::Env* env, const sys::Fd& fd, uint32_t stream_id, FrameType type,
                  uint8_t flags, std::string_view data) {
  if (data.size() > kMaxFrameData) {
    return InvalidArgumentError("write agent frame: " + std::to_string(data.size()) +
                                " bytes exceed the 4 MiB frame limit");
  }
  std::string out = EncodeFrameHeader(
      {static_cast<uint32_t>(data.size()), stream_id, static_cast<uint8_t>(type), flags});
  // A big frame (a CopyFile chunk) is not copied behind its header: callers
  // hold a write lock, so the two writes stay one frame on the stream.
  if (data.size() >= kSeparateWrite) {
    RETURN_IF_ERROR(env->WriteAll(fd, out));
    return env->WriteAll(fd, data);
  }
  out.append(data);
  return env->WriteAll(fd, out);
}

}  // namespace vmshare::agent
