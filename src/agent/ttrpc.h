// ttrpc framing: the byte layout both the host client and the guest server
// speak over any byte stream (unix socket, virtio-serial port, vsock).
//
// A frame is a 10-byte big-endian header {data length u32, stream id u32,
// type u8, flags u8} followed by `length` bytes. Data longer than kMaxData
// (4 MiB) is never buffered: ReadFrame drains it in bounded chunks and
// reports it as oversized, so a hostile peer cannot make us allocate.
// Functions here are stateless; callers serialize writes to one fd.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sys/env.h"
#include "sys/fd.h"

namespace vmshare::agent {

inline constexpr size_t kFrameHeaderSize = 10;
inline constexpr uint32_t kMaxFrameData = 4u << 20;  // 4 MiB, header not counted

enum class FrameType : uint8_t { kRequest = 0x01, kResponse = 0x02, kData = 0x03 };
inline constexpr uint8_t kFlagRemoteClosed = 0x01;
inline constexpr uint8_t kFlagRemoteOpen = 0x02;
inline constexpr uint8_t kFlagNoData = 0x04;

// grpc status codes carried in a ttrpc Response.
enum class RpcCode : int32_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "INVALID_ARGUMENT", ... or "CODE_<n>" for a number outside the enum.
std::string RpcCodeName(int32_t code);
// vmshare Code for an agent's status code, and back (for the server side).
Code CodeFromRpc(int32_t code);
RpcCode RpcFromCode(Code code);

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  bool operator==(const FrameHeader&) const = default;
};

std::string EncodeFrameHeader(const FrameHeader& header);
// REQUIRES: bytes.size() >= kFrameHeaderSize.
FrameHeader DecodeFrameHeader(std::string_view bytes);

struct Frame {
  FrameHeader header;
  std::string data;        // empty when oversized
  bool oversized = false;  // header.length > the reader's limit; data was drained
};

// Reads one whole frame from `fd`. Blocks, waking every 100 ms to check
// `stop` (may be null). Errors: kUnavailable when the peer closed the stream
// (cleanly between frames: "agent channel closed"; mid-frame: "truncated
// frame"), when `stop` was set, or on POLLHUP; an I/O error as the Env reports
// it. An oversized frame is not an error: it comes back with oversized set.
Result<Frame> ReadFrame(sys::Env* env, const sys::Fd& fd, const std::atomic<bool>* stop,
                        uint32_t max_data = kMaxFrameData);

// Writes header and data: in one write, or two for data of 64 KiB and more
// (not copied behind the header). kInvalidArgument (nothing written)
// when data is longer than kMaxFrameData. REQUIRES: the caller holds the
// fd's write lock.
Status WriteFrame(sys::Env* env, const sys::Fd& fd, uint32_t stream_id, FrameType type,
                  uint8_t flags, std::string_view data);

}  // namespace vmshare::agent
