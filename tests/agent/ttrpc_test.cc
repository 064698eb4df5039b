// ttrpc framing, server and client over socketpairs: malformed and
// oversized frames get the documented errors, calls are matched by stream id,
// deadlines hold, and a closed channel fails every call.
#include "agent/ttrpc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/translate.h"
#include "agent/ttrpc_client.h"
#include "agent/ttrpc_server.h"
#include "support/test_util.h"
#include "sys/env.h"

namespace vmshare::agent {
namespace {

sys::Env* env() { return sys::Env::Default(); }

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env()->SocketPair(&server_end_, &peer_).ok());
    server_.Register("grpc.Test", "Echo",
                     [](std::string_view payload, const CallContext&) -> Result<std::string> {
                       return std::string(payload);
                     });
    server_.Register("grpc.Test", "Fail",
                     [](std::string_view, const CallContext&) -> Result<std::string> {
                       return NotFoundError("no such thing");
                     });
    // Past any deadline shorter than 20 ms, however fast the machine.
    server_.Register("grpc.Test", "Slow",
                     [](std::string_view, const CallContext&) -> Result<std::string> {
                       env()->SleepFor(std::chrono::milliseconds(20));
                       return std::string("done");
                     });
    server_.SetAfterReply([this](const std::string& method) {
      std::lock_guard<std::mutex> lock(mu_);
      replied_.push_back(method);
      cv_.notify_all();
    });
    thread_ = std::thread([this] { served_ = server_.Serve(server_end_); });
  }
  void TearDown() override {
    peer_.Reset();
    if (thread_.joinable()) thread_.join();
  }

  void Send(uint32_t id, FrameType type, uint8_t flags, const std::string& data) {
    ASSERT_TRUE(WriteFrame(env(), peer_, id, type, flags, data).ok());
  }
  void SendRequest(uint32_t id, const std::string& service, const std::string& method,
                   const std::string& payload) {
    Send(id, FrameType::kRequest, 0, EncodeRpcRequest({service, method, payload, 0, {}}));
  }
  // Reads the next frame and decodes it as a Response.
  std::pair<uint32_t, RpcResponse> Receive() {
    auto f = ReadFrame(env(), peer_, nullptr);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return {};
    EXPECT_EQ(f->header.type, static_cast<uint8_t>(FrameType::kResponse));
    EXPECT_EQ(f->header.flags, 0);
    auto r = DecodeRpcResponse(f->data);
    EXPECT_TRUE(r.ok());
    return {f->header.stream_id, r.ok() ? *r : RpcResponse{}};
  }

  // Until the after-reply hook has seen `method` (10 s: a hang guard).
  bool HookSaw(const std::string& method) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      return std::find(replied_.begin(), replied_.end(), method) != replied_.end();
    });
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> replied_;  // GUARDED_BY(mu_)
  sys::Fd server_end_, peer_;
  TtrpcServer server_{env()};
  std::thread thread_;
  Status served_;
};

TEST_F(ServerTest, EchoAndHandlerErrors) {
  SendRequest(1, "grpc.Test", "Echo", "hello");
  auto [id, r] = Receive();
  EXPECT_EQ(id, 1u);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.payload, "hello");
  SendRequest(3, "grpc.Test", "Fail", "");
  auto [id2, r2] = Receive();
  EXPECT_EQ(id2, 3u);
  EXPECT_EQ(r2.code, static_cast<int32_t>(RpcCode::kNotFound));
  EXPECT_EQ(r2.message, "no such thing");
}

TEST_F(ServerTest, ALateReplyIsDeadlineExceededAndStillRunsTheAfterReplyHook) {
  // What the handler did stands (a destroyed sandbox must still power off).
  Send(1, FrameType::kRequest, 0, EncodeRpcRequest({"grpc.Test", "Slow", "", 1'000'000, {}}));
  auto [id, r] = Receive();
  EXPECT_EQ(id, 1u);
  EXPECT_EQ(r.code, static_cast<int32_t>(RpcCode::kDeadlineExceeded));
  EXPECT_EQ(r.message, "timeout");
  EXPECT_TRUE(HookSaw("Slow"));
  SendRequest(3, "grpc.Test", "Echo", "x");
  EXPECT_EQ(Receive().second.payload, "x");
  EXPECT_TRUE(HookSaw("Echo"));
}

TEST_F(ServerTest, UnknownServiceAndMethod) {
  SendRequest(1, "grpc.Nope", "Echo", "");
  auto [id, r] = Receive();
  EXPECT_EQ(r.code, static_cast<int32_t>(RpcCode::kInvalidArgument));
  EXPECT_EQ(r.message, "grpc.Nope service does not exist");
  SendRequest(3, "grpc.Test", "Nope", "");
  auto [id2, r2] = Receive();
  EXPECT_EQ(r2.code, static_cast<int32_t>(RpcCode::kUnimplemented));
}

TEST_F(ServerTest, EvenStreamIdIsInvalidArgument) {
  SendRequest(2, "grpc.Test", "Echo", "x");
  auto [id, r] = Receive();
  EXPECT_EQ(id, 2u);
  EXPECT_EQ(r.code, static_cast<int32_t>(RpcCode::kInvalidArgument));
}

TEST_F(ServerTest, UndecodableRequestIsInvalidArgument) {
  Send(5, FrameType::kRequest, 0, std::string("\xff\xff\xff\xff", 4));
  auto [id, r] = Receive();
  EXPECT_EQ(id, 5u);
  EXPECT_EQ(r.code, static_cast<int32_t>(RpcCode::kInvalidArgument));
  EXPECT_NE(r.message.find("malformed"), std::string::npos);
}

TEST_F(ServerTest, StreamingRequestIsUnimplementedAndDataIgnored) {
  Send(7, FrameType::kRequest, kFlagRemoteOpen, EncodeRpcRequest({"grpc.Test", "Echo", "", 0, {}}));
  auto [id, r] = Receive();
  EXPECT_EQ(id, 7u);
  EXPECT_EQ(r.code, static_cast<int32_t>(RpcCode::kUnimplemented));
  Send(7, FrameType::kData, kFlagRemoteClosed, "junk");
  SendRequest(9, "grpc.Test", "Echo", "after");
  auto [id2, r2] = Receive();
  EXPECT_EQ(id2, 9u);
  EXPECT_EQ(r2.payload, "after");
}

TEST_F(ServerTest, OversizedFrameIsDrainedAndRefused) {
  // Header claims 4 MiB + 1; the body follows (a writer thread, since the
  // socket buffer is smaller). The server must answer without buffering it
  // and stay in sync for the next call.
  const uint32_t size = kMaxFrameData + 1;
  std::thread writer([&] {
    std::string frame = EncodeFrameHeader({size, 11, 1, 0}) + std::string(size, 'z');
    EXPECT_TRUE(env()->WriteAll(peer_, frame).ok());
  });
  auto [id, r] = Receive();
  writer.join();
  EXPECT_EQ(id, 11u);
  EXPECT_EQ(r.code, static_cast<int32_t>(RpcCode::kInvalidArgument));
  EXPECT_NE(r.message.find("exceeds the 4 MiB limit"), std::string::npos);
  SendRequest(13, "grpc.Test", "Echo", "still here");
  auto [id2, r2] = Receive();
  EXPECT_EQ(id2, 13u);
  EXPECT_EQ(r2.payload, "still here");
}

TEST_F(ServerTest, TruncatedFrameEndsTheConnection) {
  std::string frame = EncodeFrameHeader({100, 1, 1, 0}) + "short";
  ASSERT_TRUE(env()->WriteAll(peer_, frame).ok());
  peer_.Reset();
  thread_.join();
  EXPECT_EQ(served_.code(), Code::kUnavailable);
  EXPECT_NE(served_.message().find("truncated frame"), std::string::npos) << served_.message();
}

TEST(FrameTest, WriteRefusesOversizedData) {
  sys::Fd a, b;
  ASSERT_TRUE(env()->SocketPair(&a, &b).ok());
  Status s = WriteFrame(env(), a, 1, FrameType::kRequest, 0, std::string(kMaxFrameData + 1, 'x'));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
}

// A hand-driven peer for the client: reads requests, answers as told.
class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sys::Fd client_end;
    ASSERT_TRUE(env()->SocketPair(&client_end, &peer_).ok());
    client_ = std::make_unique<TtrpcClient>(env(), std::move(client_end));
  }
  std::pair<uint32_t, RpcRequest> ReadRequest() {
    auto f = ReadFrame(env(), peer_, nullptr);
    EXPECT_TRUE(f.ok());
    auto r = DecodeRpcRequest(f->data);
    EXPECT_TRUE(r.ok());
    return {f->header.stream_id, *r};
  }
  void Answer(uint32_t id, const RpcResponse& r) {
    ASSERT_TRUE(WriteFrame(env(), peer_, id, FrameType::kResponse, 0, EncodeRpcResponse(r)).ok());
  }
  sys::Fd peer_;
  std::unique_ptr<TtrpcClient> client_;
};

TEST_F(ClientTest, ConcurrentCallsAreMatchedByStreamId) {
  Result<RpcResponse> a = InternalError("unset"), b = InternalError("unset");
  std::thread ta([&] { a = client_->Call({"s", "A", "", 0, {}}, std::chrono::seconds(10)); });
  auto [id1, r1] = ReadRequest();
  std::thread tb([&] { b = client_->Call({"s", "B", "", 0, {}}, std::chrono::seconds(10)); });
  auto [id2, r2] = ReadRequest();
  EXPECT_EQ(id1 % 2, 1u);
  EXPECT_EQ(id2 % 2, 1u);
  EXPECT_NE(id1, id2);
  // The request carries the deadline.
  EXPECT_EQ(r1.timeout_nano, 10'000'000'000);
  // Answer in reverse order.
  Answer(id2, {0, "", "for " + r2.method});
  Answer(id1, {0, "", "for " + r1.method});
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->payload, "for A");
  EXPECT_EQ(b->payload, "for B");
}

TEST_F(ClientTest, DeadlineExceededWhenNoReply) {
  auto r = client_->Call({"s", "Slow", "", 0, {}}, std::chrono::milliseconds(200));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  // A late reply is dropped and the channel keeps working.
  auto [id, req] = ReadRequest();
  Answer(id, {0, "", "late"});
  std::thread t([&] {
    auto [id2, req2] = ReadRequest();
    Answer(id2, {0, "", "on time"});
  });
  auto r2 = client_->Call({"s", "Fast", "", 0, {}}, std::chrono::seconds(10));
  t.join();
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->payload, "on time");
}

TEST_F(ClientTest, OversizedReplyBreaksTheChannel) {
  Result<RpcResponse> a = InternalError("unset");
  std::thread t([&] { a = client_->Call({"s", "Big", "", 0, {}}, std::chrono::seconds(30)); });
  auto [id, req] = ReadRequest();
  const uint32_t size = kMaxFrameData + 100;
  std::string frame = EncodeFrameHeader({size, id, 2, 0}) + std::string(size, 'z');
  ASSERT_TRUE(env()->WriteAll(peer_, frame).ok());
  t.join();
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kUnavailable);
  EXPECT_NE(a.status().message().find("exceeds the 4 MiB limit"), std::string::npos);
  auto later = client_->Call({"s", "After", "", 0, {}}, std::chrono::seconds(1));
  EXPECT_EQ(later.status().code(), Code::kUnavailable);
}

TEST_F(ClientTest, ClosedChannelFailsPendingCalls) {
  Result<RpcResponse> a = InternalError("unset");
  std::thread t([&] { a = client_->Call({"s", "X", "", 0, {}}, std::nullopt); });
  ReadRequest();
  peer_.Reset();
  t.join();
  EXPECT_EQ(a.status().code(), Code::kUnavailable);
}

TEST_F(ClientTest, OversizedRequestIsRefusedBeforeSending) {
  auto r =
      client_->Call({"s", "X", std::string(kMaxFrameData, 'x'), 0, {}}, std::chrono::seconds(1));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace vmshare::agent
