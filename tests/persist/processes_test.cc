// Recorded sandbox processes: the JSON shape under "Vmshare", the record's
// life (intent, started, exited), start times read from /proc, and the
// same-process test that keeps a recycled pid from being taken for ours.
#include "persist/processes.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "persist/schema.h"
#include "support/test_util.h"

namespace vmshare::persist {
namespace {

using testing::TempDir;

TEST(Processes, RoundTripUnderTheVmshareKey) {
  SandboxState s;
  s.processes = {{"virtiofsd", 42, 12345, "running"}, {"qemu", 0, 0, "starting"}};
  Json j = SandboxToJson(s, nullptr);
  ASSERT_TRUE(j[kVmshareKey].contains("Processes")) << j.dump();
  EXPECT_EQ(j[kVmshareKey]["Processes"][0]["StartTimeTicks"], 12345);
  auto back = SandboxFromJson(j, "p");
  ASSERT_OK(back.status());
  EXPECT_EQ(back->processes, s.processes);
  // None recorded: no key at all, so documents without processes stay as they were.
  EXPECT_FALSE(SandboxToJson(SandboxState{}, nullptr)[kVmshareKey].contains("Processes"));
}

TEST(Processes, AWrongTypeIsCorruptionNamingTheField) {
  auto doc = ParseDocument(R"({"PersistVersion":2,"Vmshare":{"Processes":[{"Pid":"x"}]}})",
                           "/s/persist.json");
  ASSERT_OK(doc.status());
  auto s = SandboxFromJson(*doc, "/s/persist.json");
  EXPECT_EQ(s.status().code(), Code::kCorruption);
  EXPECT_NE(s.status().message().find("Vmshare.Processes[0].Pid"), std::string::npos)
      << s.status().ToString();
}

TEST(Processes, StartTicksOfThisProcessAndOfNone) {
  sys::Env* env = sys::Env::Default();
  auto mine = ProcessStartTicks(env, env->GetPid());
  ASSERT_OK(mine.status());
  EXPECT_GT(*mine, 0u);
  auto again = ProcessStartTicks(env, env->GetPid());
  ASSERT_OK(again.status());
  EXPECT_EQ(*mine, *again);
  EXPECT_EQ(ProcessStartTicks(env, 0x3fffffff).status().code(), Code::kNotFound);
}

TEST(Processes, RecordLifeAndSameProcess) {
  TempDir tmp;
  sys::Env* env = sys::Env::Default();
  StateStore store(env, tmp / "sbs");
  EXPECT_EQ(RecordProcessIntent(store, "s1", "virtiofsd").code(), Code::kNotFound)
      << "no sandbox yet";
  ASSERT_OK(store.SaveSandbox("s1", SandboxState{}));
  ASSERT_OK(RecordProcessIntent(store, "s1", "virtiofsd"));
  auto child = env->Spawn({.argv = {"sleep", "1000"}});
  ASSERT_OK(child.status());
  ASSERT_OK(RecordProcessStarted(store, env, "s1", "virtiofsd", child->pid));
  auto rec = store.LoadSandbox("s1");
  ASSERT_OK(rec.status());
  ASSERT_EQ(rec->sandbox.processes.size(), 1u);
  RecordedProcess p = rec->sandbox.processes[0];
  EXPECT_EQ(p.state, "running");
  EXPECT_EQ(p.pid, child->pid);
  EXPECT_TRUE(*IsSameProcess(env, p));
  RecordedProcess recycled = p;
  recycled.start_time_ticks += 1;
  EXPECT_FALSE(*IsSameProcess(env, recycled));
  ASSERT_OK(env->Kill(*child, SIGKILL));
  (void)env->Wait(*child);
  EXPECT_FALSE(*IsSameProcess(env, p)) << "reaped: the pid names nothing";
  ASSERT_OK(RecordProcessExited(store, "s1", "virtiofsd"));
  rec = store.LoadSandbox("s1");
  ASSERT_OK(rec.status());
  EXPECT_EQ(rec->sandbox.processes[0].state, "exited");
  EXPECT_FALSE(*IsSameProcess(env, rec->sandbox.processes[0]));
}

}  // namespace
}  // namespace vmshare::persist
