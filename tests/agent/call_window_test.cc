// CallWindow and TtrpcClient::Start: many calls in flight on one connection,
// replies out of order matched to their calls, held calls, the bound, the
// first failure in ticket order, deadlines, and nothing left in flight.
#include "agent/call_window.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/ttrpc.h"
#include "agent/ttrpc_client.h"
#include "agent/ttrpc_server.h"
#include "support/test_util.h"

namespace vmshare::agent {
namespace {

using std::chrono::milliseconds;

sys::Env* env() { return sys::Env::Default(); }

// A server whose "s/Work" call takes a payload "<sleep ms>[:fail]" and
// answers with the payload; it records the calls' start order and how many
// ran at once.
class WindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sys::Fd client_end;
    ASSERT_OK(env()->SocketPair(&client_end, &server_end_));
    server_.Register("s", "Work", [this](std::string_view p, const CallContext&) {
      return Work(std::string(p));
    });
    thread_ = std::thread([this] { (void)server_.Serve(server_end_); });
    client_ = std::move(AgentClient::Create(env(), std::move(client_end)).value());
  }
  void TearDown() override {
    client_.reset();
    server_.Stop();
    thread_.join();
  }
  Result<std::string> Work(const std::string& p) {
    const int now = ++running_;
    for (int seen = max_running_.load();
         now > seen && !max_running_.compare_exchange_weak(seen, now);) {
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      started_.push_back(p);
    }
    env()->SleepFor(milliseconds(std::stoi(p)));
    ++finished_;
    --running_;
    if (p.find(":fail") != std::string::npos) return InvalidArgumentError("refused " + p);
    return p;
  }
  std::vector<std::string> Started() {
    std::lock_guard<std::mutex> lock(mu_);
    return started_;
  }

  sys::Fd server_end_;
  TtrpcServer server_{env()};
  std::thread thread_;
  std::unique_ptr<AgentClient> client_;
  std::atomic<int> running_{0}, max_running_{0}, finished_{0};
  std::mutex mu_;
  std::vector<std::string> started_;
};

TEST_F(WindowTest, StartedCallsGetTheirOwnRepliesOutOfOrder) {
  // The slowest first: replies come back in reverse order.
  std::mutex mu;
  std::vector<std::pair<int, std::string>> got;
  for (int i = 0; i < 3; ++i) {
    auto id = client_->StartCall("s", "Work", std::to_string(300 - 100 * i), milliseconds(5000),
                                 [&, i](Result<std::string> r) {
                                   std::lock_guard<std::mutex> lock(mu);
                                   got.emplace_back(i, r.ok() ? *r : r.status().ToString());
                                 });
    ASSERT_OK(id.status());
  }
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (got.size() == 3) break;
    }
    env()->SleepFor(milliseconds(10));
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(2, std::string("100")));
  EXPECT_EQ(got[1], std::make_pair(1, std::string("200")));
  EXPECT_EQ(got[2], std::make_pair(0, std::string("300")));
}

TEST_F(WindowTest, AbandonedCallNeverCompletes) {
  std::atomic<int> done{0};
  auto id = client_->StartCall("s", "Work", "100", milliseconds(5000),
                               [&](Result<std::string>) { ++done; });
  ASSERT_OK(id.status());
  EXPECT_TRUE(client_->Abandon(*id));
  EXPECT_FALSE(client_->Abandon(*id));
  // Its late reply is dropped; the channel still works.
  auto r = client_->Call("s", "Work", "150", milliseconds(5000));
  ASSERT_OK(r.status());
  EXPECT_EQ(*r, "150");
  EXPECT_EQ(done.load(), 0);
}

TEST_F(WindowTest, ManyCallsRunAtOnceWithinTheBound) {
  CallWindow w(client_.get(), {.calls = 8, .bytes = 1 << 20});
  for (int i = 0; i < 40; ++i) ASSERT_OK(w.Send("s", "Work", "20", milliseconds(5000)).status());
  ASSERT_OK(w.Drain());
  EXPECT_EQ(finished_.load(), 40);
  EXPECT_EQ(running_.load(), 0);
  EXPECT_GT(max_running_.load(), 1);
  EXPECT_LE(max_running_.load(), 8);
}

TEST_F(WindowTest, ByteBoundKeepsBigPayloadsApart) {
  // 3 payloads of 600 KiB in a 1 MiB window: one at a time.
  CallWindow w(client_.get(), {.calls = 8, .bytes = 1 << 20});
  for (int i = 0; i < 3; ++i) {
    std::string p = "30" + std::string(600 << 10, ' ');
    ASSERT_OK(w.Send("s", "Work", std::move(p), milliseconds(5000)).status());
  }
  ASSERT_OK(w.Drain());
  EXPECT_EQ(max_running_.load(), 1);
}

TEST_F(WindowTest, HeldCallStartsAfterItsPredecessor) {
  CallWindow w(client_.get());
  auto slow = w.Send("s", "Work", "500", milliseconds(5000));
  ASSERT_OK(slow.status());
  ASSERT_OK(w.Send("s", "Work", "1", milliseconds(5000), *slow).status());
  ASSERT_OK(w.Send("s", "Work", "2", milliseconds(5000)).status());
  ASSERT_OK(w.Drain());
  // "2" ran beside "500"; "1" only once "500" had answered.
  std::vector<std::string> started = Started();
  ASSERT_EQ(started.size(), 3u);
  EXPECT_EQ(started.back(), "1");
}

TEST_F(WindowTest, FirstFailureInTicketOrderWinsAndNothingStaysInFlight) {
  CallWindow w(client_.get());
  ASSERT_OK(w.Send("s", "Work", "10", milliseconds(5000)).status());
  auto early = w.Send("s", "Work", "300:fail", milliseconds(5000));
  ASSERT_OK(early.status());
  ASSERT_OK(w.Send("s", "Work", "5:fail", milliseconds(5000)).status());
  // Held behind the early failure: never sent.
  ASSERT_OK(w.Send("s", "Work", "7", milliseconds(5000), *early).status());
  // The late failure (sent later, answered first) stops new calls...
  while (w.status().ok()) {
    auto more = w.Send("s", "Work", "1", milliseconds(5000));
    if (!more.ok()) {
      EXPECT_NE(more.status().message().find("refused 5:fail"), std::string::npos);
      break;
    }
    env()->SleepFor(milliseconds(5));
  }
  // ...but the earlier one is what the window reports once drained.
  Status s = w.Drain();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "agent Work: refused 300:fail (INVALID_ARGUMENT)");
  EXPECT_EQ(running_.load(), 0);
  const int finished = finished_.load();
  for (const auto& p : Started()) EXPECT_NE(p, "7");
  env()->SleepFor(milliseconds(100));
  EXPECT_EQ(finished_.load(), finished) << "a call was still on its way";
}

TEST_F(WindowTest, CallWithoutReplyInTimeIsAbandoned) {
  {
    CallWindow w(client_.get());
    ASSERT_OK(w.Send("s", "Work", "400", milliseconds(50)).status());
    ASSERT_OK(w.Send("s", "Work", "5", milliseconds(5000)).status());
    Status s = w.Drain();
    EXPECT_EQ(s.code(), Code::kDeadlineExceeded);
    EXPECT_EQ(s.message(), "agent Work: timed out after 50 ms");
  }
  // The window is gone before the late reply: it is dropped, and the
  // connection still serves calls.
  env()->SleepFor(milliseconds(450));
  auto r = client_->Call("s", "Work", "1", milliseconds(5000));
  ASSERT_OK(r.status());
}

}  // namespace
}  // namespace vmshare::agent
