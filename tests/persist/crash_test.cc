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
#include <string>
#include <vector>

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
    // One round in four, the writer stops right after its second save's
    // rename and the kill lands there: the in-flight case, for certain.
    const bool in_flight = i % 4 == 3;
    std::vector<std::string> argv = {
        PERSIST_TEST_HELPER,     "write", root, "s1", "c1", std::to_string(last + 1),
        std::to_string(wr.get())};
    if (in_flight) argv.push_back("pause-after-rename");
    auto child = env->Spawn({.argv = argv, .die_with_parent = true, .keep_fds = {wr.get()}});
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    wr.Reset();
    // In the other odd rounds, the kill waits for the writer's first report,
    // so that it makes progress however slow the disk's fsyncs are; the even
    // rounds may kill it before it has saved anything.
    std::string out;
    while (i % 2 == 1 && out.find(in_flight ? "renamed\n" : "\n") == std::string::npos) {
      auto got = env->Read(rd, 64);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_FALSE(got->empty()) << "writer ended in round " << i;
      out += *got;
    }
    if (!in_flight) env->SleepFor(std::chrono::microseconds(delay_us(rng)));
    ASSERT_OK(env->Kill(*child, SIGKILL));
    auto st = env->Wait(*child);
    ASSERT_TRUE(st.ok());
    // Exiting on its own means the writer hit an error (it printed it).
    ASSERT_FALSE(st->exited) << "writer exited with " << st->code << " in round " << i;
    auto rest = env->ReadAll(rd, 1 << 24);
    ASSERT_TRUE(rest.ok());
    out += *rest;
    if (in_flight) out.erase(out.find("renamed\n"));
    const int reported = LastReported(out, last);

    auto rec = store.LoadSandbox("s1");
    ASSERT_TRUE(rec.ok()) << "round " << i << ": " << rec.status().ToString();
    ASSERT_EQ(rec->containers.count("c1"), 1u) << "round " << i;
    const ContainerState& got = rec->containers["c1"];
    const int v = CrashVersion(got);
    ASSERT_TRUE(v == reported || v == reported + 1)
        << "round " << i << ": loaded version " << v << ", last reported " << reported;
    ASSERT_EQ(got, CrashState(v)) << "round " << i << ": version " << v << " is not whole";
    if (in_flight) {
      ASSERT_EQ(v, reported + 1) << "round " << i << ": the save stopped after its rename";
    }
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
  // The child made progress, and kills landed in the middle of a save (the
  // renamed file there but not yet reported), not only before the first save.
  EXPECT_GE(last, kKills / 2);
  EXPECT_GE(interrupted, kKills / 4);
  std::printf("crash test: %d kills, %d versions written, %d kills caught a save in flight\n",
              kKills, last, interrupted);
}

}  // namespace
}  // namespace vmshare::persist
