// A child process for the persist tests.
//
//   persist_test_helper write ROOT SID CID FIRST FD
//     Holds the sandbox's exclusive lock and saves CrashState(v) for
//     v = FIRST, FIRST+1, ... forever, writing "v\n" to FD after each save
//     returns. The crash test SIGKILLs it.
//   persist_test_helper write ROOT SID CID FIRST FD pause-after-rename
//     The same, but the save after the first one stops for good once its
//     rename is done (before its directory fsync and its report), after
//     writing "renamed\n" to FD: the test kills it in the middle of a save.
//   persist_test_helper trylock ROOT SID shared|exclusive
//     Tries the lock without waiting: exit 0 when granted, 3 when busy.
// Exits 2 on any other error, with the message on stderr.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "persist/crash_state.h"
#include "persist/store.h"
#include "sys/env_wrapper.h"

using namespace vmshare;

namespace {

// Stops the process after the first rename once armed, saying so on `fd`.
class PauseAfterRename : public sys::EnvWrapper {
 public:
  PauseAfterRename(sys::Env* target, const sys::Fd* fd) : sys::EnvWrapper(target), fd_(fd) {}
  Status RenameAt(const sys::Fd& olddir, const std::string& oldpath, const sys::Fd& newdir,
                  const std::string& newpath, unsigned flags) override {
    Status s = sys::EnvWrapper::RenameAt(olddir, oldpath, newdir, newpath, flags);
    if (s.ok() && armed) {
      if (Status w = WriteAll(*fd_, "renamed\n", std::nullopt); !w.ok()) return w;
      for (;;) SleepFor(std::chrono::hours(1));
    }
    return s;
  }
  bool armed = false;

 private:
  const sys::Fd* fd_;
};

}  // namespace

int main(int argc, char** argv) {
  auto* env = sys::Env::Default();
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "persist_test_helper: %s\n", s.ToString().c_str());
    return 2;
  };
  const bool pause = argc == 8 && std::strcmp(argv[7], "pause-after-rename") == 0;
  if ((argc == 7 || pause) && std::strcmp(argv[1], "write") == 0) {
    sys::Fd progress(std::stoi(argv[6]));
    PauseAfterRename pausing(env, &progress);
    persist::StateStore store(&pausing, argv[2]);
    auto lock = store.Lock(argv[3], persist::LockMode::kExclusive);
    if (!lock.ok()) return fail(lock.status());
    for (int v = std::stoi(argv[5]);; ++v) {
      Status s = store.SaveContainer(argv[3], argv[4], testing::CrashState(v));
      if (!s.ok()) return fail(s);
      s = env->WriteAll(progress, std::to_string(v) + "\n");
      if (!s.ok()) return fail(s);
      pausing.armed = pause;
    }
  }
  if (argc == 5 && std::strcmp(argv[1], "trylock") == 0) {
    persist::StateStore store(env, argv[2]);
    const auto mode = std::strcmp(argv[4], "shared") == 0 ? persist::LockMode::kShared
                                                          : persist::LockMode::kExclusive;
    auto lock = store.Lock(argv[3], mode, /*nonblocking=*/true);
    if (lock.ok()) return 0;
    if (lock.status().code() == Code::kBusy) return 3;
    return fail(lock.status());
  }
  std::fprintf(stderr,
               "usage: persist_test_helper write ROOT SID CID FIRST FD [pause-after-rename] | "
               "trylock ROOT SID MODE\n");
  return 2;
}
