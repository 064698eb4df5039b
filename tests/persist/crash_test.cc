// The crash test: a child process saves a container's state with an
// increasing version, reporting each version once its save returned; it is
// SIGKILLed at random moments, over and over. After every kill the state
// loads and is exactly the last reported version or the one after it (the
// save that was in flight), and no temp file survives the next load.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "persist/crash_state.h"
#include "persist/store.h"
#include "support/test_util.h"

namespace vmshare::persist {
namespace {

using vmshare::testing::CrashState;
using vmshare::testing::CrashVersion;
using vmshare::testing::TempDir;

constexpr int kKills = 220;

// The last complete "v\n" line of what the child reported, or `fallback`.
int LastReported(const std::string& out, int fallback) {
  const size_t end = out.rfind('\n');
  if (end == std::string::npos) return fallback;
  const size_t start = out.rfind('\n', end - 1);
  return std::stoi(out.substr(start == std::string::npos ? 0 : start + 1, end));
}

TEST(CrashTest, StateIsTheLastOrNextVersionAfterEverySigkill) {
  sys::Env* env = sys::Env::Default();
  TempDir tmp;
  const std::string root = tmp / "sbs";
  StateStore store(env, root);
  ASSERT_OK(store.SaveSandbox("s1", {.state = "running"}));
  ASSERT_OK(store.SaveContainer("s1", "c1", CrashState(0)));

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_us(0, 6000);
  int last = 0, interrupted = 0;
  for (int i = 0; i < kKills; ++i) {
    sys::Fd rd, wr;
    ASSERT_OK(env->Pipe(&rd, &wr));
    auto child = env->Spawn({.argv = {PERSIST_TEST_HELPER, "write", root, "s1", "c1",
                                      std::to_string(last + 1), std::to_string(wr.get())},
                             .die_with_parent = true,
                             .keep_fds = {wr.get()}});
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    wr.Reset();
    env->SleepFor(std::chrono::microseconds(delay_us(rng)));
    ASSERT_OK(env->Kill(*child, SIGKILL));
    auto st = env->Wait(*child);
    ASSERT_TRUE(st.ok());
    // Exiting on its own means the writer hit an error (it printed it).
    ASSERT_FALSE(st->exited) << "writer exited with " << st->code << " in round " << i;
    auto out = env->ReadAll(rd, 1 << 24);
    ASSERT_TRUE(out.ok());
    const int reported = LastReported(*out, last);

    auto rec = store.LoadSandbox("s1");
    ASSERT_TRUE(rec.ok()) << "round " << i << ": " << rec.status().ToString();
    ASSERT_EQ(rec->containers.count("c1"), 1u) << "round " << i;
    const ContainerState& got = rec->containers["c1"];
    const int v = CrashVersion(got);
    ASSERT_TRUE(v == reported || v == reported + 1)
        << "round " << i << ": loaded version " << v << ", last reported " << reported;
    ASSERT_EQ(got, CrashState(v)) << "round " << i << ": version " << v << " is not whole";
    if (v != reported) ++interrupted;
    last = v;
    // The dead writer's temp file goes when the next writer locks.
    {
      auto lock = store.Lock("s1", LockMode::kExclusive);
      ASSERT_TRUE(lock.ok()) << lock.status().ToString();
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(root))
      ASSERT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
  // The child made progress, and some kills landed in the middle of a save
  // (the renamed file was there but not yet reported), so the in-flight case
  // was exercised and not only kills before the first save.
  EXPECT_GT(last, 0);
  EXPECT_GT(interrupted, 0);
  std::printf("crash test: %d kills, %d versions written, %d kills caught a save in flight\n",
              kKills, last, interrupted);
}

}  // namespace
}  // namespace vmshare::persist
