// The chaos loop: prepare / share / share / share of 40 mounts / unshare /
// cleanup with the vmshare binary, one of them (or the first gc) SIGKILLed at a random
// instant, then `vmshare gc`. After every trial: every state file that
// exists after the crash parses; after gc no mount under --root, no entry
// left in its sandboxes/, sbs/ or vm/, no recorded process alive; and every
// shared source's files are byte-identical to before.
//
// A stand-in for virtiofsd (a sleeping child) is recorded in the sandbox's
// state after prepare, as the vm runner records its processes; gc must kill
// it when the trial crashed before it was stopped.
//
// VMSHARE_CHAOS_TRIALS (default 300) and VMSHARE_CHAOS_SEED (default: time)
// select the run; `make chaos` runs a long one.
#include <algorithm>
#include <cstdlib>
#include <random>

#include "chaos/chaos_support.h"
#include "persist/processes.h"
#include "persist/store.h"

namespace vmshare::chaos {
namespace {

using std::chrono::microseconds;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

struct Stats {
  int trials = 0;
  int killed_mid_command = 0;  // the SIGKILL landed while a command ran
  int gc_killed = 0;           // the first gc itself was killed
  int processes_killed_by_gc = 0;
  // Kills that left c3's intent record (host paths set, not yet marked
  // mounted): between its intent write and its mounted write.
  int killed_after_intent = 0;
  int failures = 0;
  std::vector<std::string> failure_notes;
};

// True when the container record at `path` holds a share recorded as an
// intent: a host path not (yet) marked mounted.
bool IntentRecorded(const std::string& path) {
  if (!fs::exists(path)) return false;
  auto doc = persist::ParseDocument(ReadFile(path), path);
  if (!doc.ok()) return false;
  auto c = persist::ContainerFromJson(*doc, path);
  if (!c.ok()) return false;
  for (const Mount& m : c->mounts)
    if (!m.host_path.empty() && !m.mounted) return true;
  return false;
}

TEST(Chaos, KillAtRandomThenGcLeavesNothingAndLosesNothing) {
  REQUIRE_ROOT();
  const int trials = EnvInt("VMSHARE_CHAOS_TRIALS", 300);
  const unsigned seed =
      static_cast<unsigned>(EnvInt("VMSHARE_CHAOS_SEED", static_cast<int>(::time(nullptr))));
  std::mt19937 rng(seed);
  World w;
  sys::Env* env = sys::Env::Default();
  Stats st;

  const std::vector<std::vector<std::string>> steps = {
      {"sandbox", "prepare", "s1"},
      {"container", "share", "s1", "c1", "--bundle", w.bundle()},
      {"container", "share", "s1", "c2", "--bundle", w.bundle()},
      {"container", "share", "s1", "c3", "--bundle", w.many_bundle()},
      {"container", "unshare", "s1", "c1"},
      {"sandbox", "cleanup", "s1", "--force"},
  };

  // How long each step takes when it is not killed (a running mean), so the
  // kill instant is drawn from the step's own duration, not a fixed window.
  std::vector<double> step_us(steps.size(), 15000.0);
  for (int t = 0; t < trials; ++t) {
    ++st.trials;
    std::vector<std::string> problems;
    // Which step is killed (steps.size(): none), and when.
    const size_t kill_step = std::uniform_int_distribution<size_t>(0, steps.size())(rng);
    const double window = kill_step < steps.size() ? step_us[kill_step] * 1.1 : 0.0;
    const microseconds delay(std::uniform_int_distribution<int>(0, static_cast<int>(window))(rng));
    std::optional<sys::Child> helper;
    bool crashed = false;

    for (size_t i = 0; i < steps.size() && !crashed; ++i) {
      if (i == steps.size() - 1 && helper) {
        // An orderly run stops its processes before cleaning up.
        env->Kill(*helper, SIGKILL).IgnoreError();
        (void)env->Wait(*helper);
        persist::StateStore store(env, w.root() + "/sbs");
        Status s = persist::RecordProcessExited(store, "s1", "virtiofsd");
        if (!s.ok()) problems.push_back("record exited: " + s.ToString());
        helper.reset();
      }
      const int64_t t0 = env->NowNanos();
      CmdResult r = i == kill_step ? w.Vmshare(steps[i], delay) : w.Vmshare(steps[i]);
      if (i != kill_step)
        step_us[i] = 0.8 * step_us[i] + 0.2 * static_cast<double>(env->NowNanos() - t0) / 1000.0;
      if (i == kill_step) {
        crashed = true;
        if (r.killed) ++st.killed_mid_command;
      } else if (r.code != 0) {
        problems.push_back("step " + std::to_string(i) + " failed: " + r.err);
        crashed = true;
      }
      if (i == 0 && !crashed && std::uniform_int_distribution<int>(0, 1)(rng) == 1) {
        auto child = SpawnSleeper();
        if (!child.ok()) {
          problems.push_back("spawn: " + child.status().ToString());
        } else {
          persist::StateStore store(env, w.root() + "/sbs");
          Status s = persist::RecordProcessStarted(store, env, "s1", "virtiofsd", child->pid);
          if (!s.ok()) problems.push_back("record started: " + s.ToString());
          helper = std::move(*child);
        }
      }
    }

    for (const std::string& p : w.StateFileProblems()) problems.push_back("state file: " + p);
    if (crashed && IntentRecorded(w.root() + "/sbs/s1/c3/persist.json")) ++st.killed_after_intent;

    // Sometimes the first gc is killed too; the second must finish the job.
    if (std::uniform_int_distribution<int>(0, 9)(rng) == 0) {
      CmdResult g =
          w.Vmshare({"gc"}, microseconds(std::uniform_int_distribution<int>(0, 8000)(rng)));
      if (g.killed) ++st.gc_killed;
    }
    CmdResult g = w.Vmshare({"gc"});
    if (g.code != 0)
      problems.push_back("gc failed (" + std::to_string(g.code) + "): " + g.err + g.out);
    if (helper) {
      // gc kills it, through its pidfd; give the kill a moment to land.
      auto ev = env->PollOne(helper->pidfd, POLLIN, std::chrono::milliseconds(5000));
      if (ev.ok() && *ev != 0)
        ++st.processes_killed_by_gc;
      else
        problems.push_back("recorded process " + std::to_string(helper->pid) + " survived gc");
      env->Kill(*helper, SIGKILL).IgnoreError();
      (void)env->Wait(*helper);
    }
    for (const std::string& l : w.Leftovers()) problems.push_back("left after gc: " + l);
    if (w.AllSums() != w.initial_sums()) problems.push_back("a source file changed or was lost");
    if (t % 10 == 0) {
      CmdResult again = w.Vmshare({"gc"});
      if (again.code != 0 ||
          nlohmann::json::parse(again.out, nullptr, false)["sandboxes"].size() != 0)
        problems.push_back("second gc was not a no-op: " + again.out + again.err);
    }

    if (!problems.empty()) {
      ++st.failures;
      std::string note = "trial " + std::to_string(t) + " (kill step " + std::to_string(kill_step) +
                         " after " + std::to_string(delay.count()) + " us):";
      for (const auto& p : problems) note += "\n  " + p;
      if (st.failure_notes.size() < 5) st.failure_notes.push_back(note);
      w.Vmshare({"sandbox", "cleanup", "s1", "--force"});  // don't let one failure cascade
      w.Vmshare({"gc"});
    }
  }

  std::printf(
      "chaos: seed %u, %d trials, %d SIGKILLs mid-command (%d after an intent write), %d gc runs "
      "killed, %d recorded processes killed by gc, %d failures\n",
      seed, st.trials, st.killed_mid_command, st.killed_after_intent, st.gc_killed,
      st.processes_killed_by_gc, st.failures);
  ::testing::Test::RecordProperty("trials", st.trials);
  ::testing::Test::RecordProperty("failures", st.failures);
  for (const auto& n : st.failure_notes) ADD_FAILURE() << n;
  EXPECT_EQ(st.failures, 0);
  EXPECT_GE(st.killed_mid_command, trials / 10) << "the kills should land mid-command often";
  // One share step in seven, most of it spent mounting: a long run must have
  // hit that window.
  if (trials >= 200) {
    EXPECT_GE(st.killed_after_intent, 1);
  }
}

// Processes whose command line mentions `needle` (a run's qemu and
// virtiofsd name the run's directories).
std::vector<std::string> ProcessesMentioning(const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos ||
        pid == std::to_string(::getpid()))
      continue;
    std::string cmd = ReadFile(e.path().string() + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(needle) != std::string::npos && cmd.find("chaos_test") == std::string::npos)
      found.push_back(pid + ": " + cmd);
  }
  return found;
}

// The long run's second loop: `vmshare run` (a real guest under TCG) SIGKILLed
// at a random instant between start and a few seconds past boot, then gc.
// Its guest dies with it (parent-death signal); gc removes the mounts, the
// directories and the state, and kills any recorded process still alive.
// Off by default (each trial boots a guest); `make chaos` sets
// VMSHARE_CHAOS_RUN_TRIALS.
TEST(Chaos, KillVmshareRunAtRandomThenGcLeavesNothing) {
  REQUIRE_ROOT();
  const int trials = EnvInt("VMSHARE_CHAOS_RUN_TRIALS", 0);
  if (trials <= 0) GTEST_SKIP() << "set VMSHARE_CHAOS_RUN_TRIALS (make chaos does)";
  const unsigned seed =
      static_cast<unsigned>(EnvInt("VMSHARE_CHAOS_SEED", static_cast<int>(::time(nullptr))));
  std::mt19937 rng(seed);
  World w;
  // The example bundle's busybox rootfs (read-only), with the world's volumes.
  nlohmann::json config = {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"args", {"/bin/sh", "-c", "ls /data /readonly >/dev/null; sleep 3"}}, {"cwd", "/"}}},
      {"root", {{"path", std::string(VMSHARE_EXAMPLE_BUNDLE) + "/rootfs"}, {"readonly", true}}},
      {"mounts",
       {{{"destination", "/data"},
         {"type", "bind"},
         {"source", w.path("data")},
         {"options", {"rbind", "rw"}}},
        {{"destination", "/readonly"},
         {"type", "bind"},
         {"source", w.path("config")},
         {"options", {"rbind", "ro"}}}}}};
  fs::create_directories(w.path("runbundle"));
  WriteFile(w.path("runbundle/config.json"), config.dump());

  int failures = 0, killed = 0;
  for (int t = 0; t < trials; ++t) {
    std::vector<std::string> problems;
    const microseconds delay(std::uniform_int_distribution<int>(0, 6'000'000)(rng));
    CmdResult r = w.Vmshare({"run", "--bundle", w.path("runbundle"), "--accel", "tcg"}, delay);
    if (r.killed)
      ++killed;
    else if (r.code != 0)
      problems.push_back("run failed: " + r.err);
    for (const std::string& p : w.StateFileProblems()) problems.push_back("state file: " + p);
    CmdResult g = w.Vmshare({"gc"});
    if (g.code != 0) problems.push_back("gc failed: " + g.err + g.out);
    // The guest's processes die with vmshare, on their own schedule (30 s:
    // a hang guard).
    std::vector<std::string> procs;
    for (int i = 0; i < 300; ++i) {
      procs = ProcessesMentioning(w.root() + "/");
      if (procs.empty()) break;
      sys::Env::Default()->SleepFor(std::chrono::milliseconds(100));
    }
    for (const auto& p : procs) problems.push_back("process left: " + p);
    for (const std::string& l : w.Leftovers()) problems.push_back("left after gc: " + l);
    if (w.AllSums() != w.initial_sums()) problems.push_back("a source file changed or was lost");
    if (!problems.empty()) {
      ++failures;
      std::string note = "run trial " + std::to_string(t) + " (kill after " +
                         std::to_string(delay.count()) + " us):";
      for (const auto& p : problems) note += "\n  " + p;
      ADD_FAILURE() << note;
      w.Vmshare({"gc"});
    }
  }
  std::printf("chaos run: seed %u, %d trials, %d killed mid-run, %d failures\n", seed, trials,
              killed, failures);
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace vmshare::chaos
