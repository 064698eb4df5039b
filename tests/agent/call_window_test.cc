// CallWindow and TtrpcClient::Start: many calls in flight on one connection,
// replies out of order matched to their calls, held calls, the bound, the
// first failure in ticket order, deadlines, and nothing left in flight.
#include "agent/call_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/ttrpc.h"
#include "agent/ttrpc_client.h"
#include "agent/ttrpc_server.h"
#include "support/test_util.h"

namespace vmshare::agent {
namespace {

using std::chrono::milliseconds;

sys::Env* env() { return sys::Env::Default(); }

// A server whose "s/Work" call takes a payload "<label>[:fail]" and answers
// with the payload (or, for ":fail", refuses it). It records when each call
// starts and ends, and how many ran at once. Tests order the calls with
// holds, not sleeps: a held payload waits in Work until the test releases it
// or its condition holds, so a stalled thread delays a test but cannot
// reorder it. Every wait gives up after 10 s, and the test fails instead of
// hanging.
class WindowTest : public ::testing::Test {
 protected:
  static constexpr std::chrono::seconds kPatience{10};

  void SetUp() override {
    sys::Fd client_end;
    ASSERT_OK(env()->SocketPair(&client_end, &server_end_));
    server_.Register("s", "Work", [this](std::string_view p, const CallContext&) {
      return Work(std::string(p));
    });
    server_.SetAfterReply([this](const std::string&) {
      std::lock_guard<std::mutex> lock(mu_);
      ++replied_;
      cv_.notify_all();
    });
    thread_ = std::thread([this] { (void)server_.Serve(server_end_); });
    client_ = std::move(AgentClient::Create(env(), std::move(client_end)).value());
  }
  void TearDown() override {
    {
      // A test that failed early lets its held calls go.
      std::lock_guard<std::mutex> lock(mu_);
      holds_.clear();
      cv_.notify_all();
    }
    client_.reset();
    server_.Stop();
    thread_.join();
  }
  Result<std::string> Work(const std::string& p) {
    std::unique_lock<std::mutex> lock(mu_);
    max_running_ = std::max(max_running_, ++running_);
    log_.push_back("+" + p);
    cv_.notify_all();
    if (!cv_.wait_for(lock, kPatience, [&] {
          auto h = holds_.find(p);
          return h == holds_.end() || (h->second && h->second());
        })) {
      ADD_FAILURE() << "call " << p << " was held for " << kPatience.count() << " s";
    }
    if (auto pause = pauses_.find(p); pause != pauses_.end()) {
      const milliseconds ms = pause->second;
      lock.unlock();
      env()->SleepFor(ms);
      lock.lock();
    }
    ++finished_;
    --running_;
    log_.push_back("-" + p);
    cv_.notify_all();
    if (p.find(":fail") != std::string::npos) return InvalidArgumentError("refused " + p);
    return p;
  }

  // Calls with payload p wait in Work until Release(p) or, given `until`,
  // until it returns true (it runs under mu_ and may read what mu_ guards).
  void Hold(const std::string& p, std::function<bool()> until = nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    holds_[p] = std::move(until);
  }
  // Calls with payload p take `ms` in Work once let go: for showing what
  // does not overlap, which no hold can show.
  void Pause(const std::string& p, milliseconds ms) {
    std::lock_guard<std::mutex> lock(mu_);
    pauses_[p] = ms;
  }
  void Release(const std::string& p) {
    std::lock_guard<std::mutex> lock(mu_);
    holds_.erase(p);
    cv_.notify_all();
  }
  // Until `done` (run under mu_) returns true: false after 10 s.
  template <typename Pred>
  bool WaitUntil(Pred done) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kPatience, done);
  }
  bool HasStarted(const std::string& p) const {  // REQUIRES: mu_ held
    return std::find(log_.begin(), log_.end(), "+" + p) != log_.end();
  }
  std::vector<std::string> Started() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> started;
    for (const auto& e : log_) {
      if (e[0] == '+') started.push_back(e.substr(1));
    }
    return started;
  }
  // "+p" as a call with payload p starts, "-p" as it ends, in order.
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  int Running() {
    std::lock_guard<std::mutex> lock(mu_);
    return running_;
  }
  int MaxRunning() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_running_;
  }
  int Finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }

  sys::Fd server_end_;
  TtrpcServer server_{env()};
  std::thread thread_;
  std::unique_ptr<AgentClient> client_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::function<bool()>> holds_;  // GUARDED_BY(mu_)
  std::map<std::string, milliseconds> pauses_;          // GUARDED_BY(mu_)
  int running_ = 0, max_running_ = 0, finished_ = 0;    // GUARDED_BY(mu_)
  int replied_ = 0;  // replies written (not those to calls past their deadline); GUARDED_BY(mu_)
  std::vector<std::string> log_;                  // GUARDED_BY(mu_)
  std::vector<std::pair<int, std::string>> got_;  // StartCall replies; GUARDED_BY(mu_)
};

TEST_F(WindowTest, StartedCallsGetTheirOwnRepliesOutOfOrder) {
  // Three calls at once, answered in reverse order of starting: each reply
  // goes to its own call.
  for (const char* p : {"100", "200", "300"}) Hold(p);
  for (int i = 0; i < 3; ++i) {
    auto id = client_->StartCall("s", "Work", std::to_string(300 - 100 * i), milliseconds(5000),
                                 [this, i](Result<std::string> r) {
                                   std::lock_guard<std::mutex> lock(mu_);
                                   got_.emplace_back(i, r.ok() ? *r : r.status().ToString());
                                   cv_.notify_all();
                                 });
    ASSERT_OK(id.status());
  }
  ASSERT_TRUE(WaitUntil([this] { return running_ == 3; })) << "the calls did not overlap";
  size_t replies = 0;
  for (const char* p : {"100", "200", "300"}) {
    Release(p);
    ++replies;
    ASSERT_TRUE(WaitUntil([&] { return got_.size() >= replies; })) << "no reply to " << p;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(got_.size(), 3u);
  EXPECT_EQ(got_[0], std::make_pair(2, std::string("100")));
  EXPECT_EQ(got_[1], std::make_pair(1, std::string("200")));
  EXPECT_EQ(got_[2], std::make_pair(0, std::string("300")));
}

TEST_F(WindowTest, AbandonedCallNeverCompletes) {
  Hold("abandoned");  // its reply comes only after Abandon
  auto id = client_->StartCall("s", "Work", "abandoned", milliseconds(5000),
                               [this](Result<std::string> r) {
                                 std::lock_guard<std::mutex> lock(mu_);
                                 got_.emplace_back(0, r.ok() ? *r : r.status().ToString());
                               });
  ASSERT_OK(id.status());
  EXPECT_TRUE(client_->Abandon(*id));
  EXPECT_FALSE(client_->Abandon(*id));
  Release("abandoned");
  ASSERT_TRUE(WaitUntil([this] { return replied_ == 1; })) << "no late reply";
  // Its late reply, written before the next one, is dropped; the channel
  // still works.
  auto r = client_->Call("s", "Work", "next", milliseconds(5000));
  ASSERT_OK(r.status());
  EXPECT_EQ(*r, "next");
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_TRUE(got_.empty()) << got_[0].second;
}

TEST_F(WindowTest, ManyCallsRunAtOnceWithinTheBound) {
  CallWindow w(client_.get(), {.calls = 8, .bytes = 1 << 20});
  // The first 8 calls wait until 8 run at once (the window fills up to its
  // bound), then take 20 ms, in which a window sending more than 8 would
  // start some of the others.
  Hold("first", [this] { return max_running_ >= 8; });
  Pause("first", milliseconds(20));
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK(w.Send("s", "Work", i < 8 ? "first" : "next", milliseconds(5000)).status());
  }
  ASSERT_OK(w.Drain());
  EXPECT_EQ(Finished(), 40);
  EXPECT_EQ(Running(), 0);
  EXPECT_EQ(MaxRunning(), 8);
}

TEST_F(WindowTest, ByteBoundKeepsBigPayloadsApart) {
  // 3 payloads of 600 KiB in a 1 MiB window: one at a time. Each takes 30
  // ms, in which a window sending them together would start the next.
  const std::string big = "big" + std::string(600 << 10, ' ');
  Pause(big, milliseconds(30));
  CallWindow w(client_.get(), {.calls = 8, .bytes = 1 << 20});
  for (int i = 0; i < 3; ++i) ASSERT_OK(w.Send("s", "Work", big, milliseconds(5000)).status());
  ASSERT_OK(w.Drain());
  EXPECT_EQ(MaxRunning(), 1);
}

TEST_F(WindowTest, HeldCallStartsAfterItsPredecessor) {
  CallWindow w(client_.get());
  // "slow" answers only once "beside" has started, 20 ms later: a window
  // sending "after" at once would start it before "slow" ends.
  Hold("slow", [this] { return HasStarted("beside"); });
  Pause("slow", milliseconds(20));
  auto slow = w.Send("s", "Work", "slow", milliseconds(5000));
  ASSERT_OK(slow.status());
  ASSERT_OK(w.Send("s", "Work", "after", milliseconds(5000), *slow).status());
  ASSERT_OK(w.Send("s", "Work", "beside", milliseconds(5000)).status());
  ASSERT_OK(w.Drain());
  // "beside" ran beside "slow"; "after" only once "slow" had answered.
  std::vector<std::string> started = Started();
  ASSERT_EQ(started.size(), 3u);
  EXPECT_EQ(started.back(), "after");
  const std::vector<std::string> log = Log();
  auto at = [&log](const char* e) { return std::find(log.begin(), log.end(), e) - log.begin(); };
  EXPECT_LT(at("-slow"), at("+after")) << ::testing::PrintToString(log);
}

TEST_F(WindowTest, FirstFailureInTicketOrderWinsAndNothingStaysInFlight) {
  CallWindow w(client_.get());
  // The early failure answers only once the late one has stopped the window.
  Hold("early:fail");
  ASSERT_OK(w.Send("s", "Work", "ok", milliseconds(5000)).status());
  auto early = w.Send("s", "Work", "early:fail", milliseconds(5000));
  ASSERT_OK(early.status());
  ASSERT_OK(w.Send("s", "Work", "late:fail", milliseconds(5000)).status());
  // Held behind the early failure: never sent.
  ASSERT_OK(w.Send("s", "Work", "held", milliseconds(5000), *early).status());
  int sent = 3;
  // The late failure (sent later, answered first) stops new calls...
  for (;;) {
    auto more = w.Send("s", "Work", "more", milliseconds(5000));
    if (!more.ok()) {
      EXPECT_NE(more.status().message().find("refused late:fail"), std::string::npos)
          << more.status().ToString();
      break;
    }
    ++sent;
    w.Wait(*more).IgnoreError();  // one more call at a time until the failure is in
  }
  Release("early:fail");
  // ...but the earlier one is what the window reports once drained.
  Status s = w.Drain();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "agent Work: refused early:fail (INVALID_ARGUMENT)");
  // Every call sent had been answered, so had run to its end; the held one
  // never started.
  EXPECT_EQ(Running(), 0);
  EXPECT_EQ(Finished(), sent) << "a call was still on its way";
  for (const auto& p : Started()) EXPECT_NE(p, "held");
}

TEST_F(WindowTest, CallWithoutReplyInTimeIsAbandoned) {
  // "late" answers only once the window has given up on it.
  Hold("late");
  {
    CallWindow w(client_.get());
    ASSERT_OK(w.Send("s", "Work", "late", milliseconds(50)).status());
    ASSERT_OK(w.Send("s", "Work", "quick", milliseconds(5000)).status());
    Status s = w.Drain();
    EXPECT_EQ(s.code(), Code::kDeadlineExceeded);
    EXPECT_EQ(s.message(), "agent Work: timed out after 50 ms");
  }
  // The window is gone before the late reply: it is dropped, and the
  // connection still serves calls.
  Release("late");
  ASSERT_TRUE(WaitUntil([this] { return finished_ == 2; }));
  auto r = client_->Call("s", "Work", "next", milliseconds(5000));
  ASSERT_OK(r.status());
}

}  // namespace
}  // namespace vmshare::agent
