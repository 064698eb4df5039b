// A child process for the persist tests.
//
//   persist_test_helper write ROOT SID CID FIRST FD
//     Holds the sandbox's exclusive lock and saves CrashState(v) for
//     v = FIRST, FIRST+1, ... forever, writing "v\n" to FD after each save
//     returns. The crash test SIGKILLs it.
//   persist_test_helper trylock ROOT SID shared|exclusive
//     Tries the lock without waiting: exit 0 when granted, 3 when busy.
// Exits 2 on any other error, with the message on stderr.
#include <cstdio>
#include <cstring>
#include <string>

#include "persist/crash_state.h"
#include "persist/store.h"

using namespace vmshare;

int main(int argc, char** argv) {
  auto* env = sys::Env::Default();
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "persist_test_helper: %s\n", s.ToString().c_str());
    return 2;
  };
  if (argc == 7 && std::strcmp(argv[1], "write") == 0) {
    persist::StateStore store(env, argv[2]);
    auto lock = store.Lock(argv[3], persist::LockMode::kExclusive);
    if (!lock.ok()) return fail(lock.status());
    sys::Fd progress(std::stoi(argv[6]));
    for (int v = std::stoi(argv[5]);; ++v) {
      Status s = store.SaveContainer(argv[3], argv[4], testing::CrashState(v));
      if (!s.ok()) return fail(s);
      s = env->WriteAll(progress, std::to_string(v) + "\n");
      if (!s.ok()) return fail(s);
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
               "usage: persist_test_helper write ROOT SID CID FIRST FD | trylock ROOT SID MODE\n");
  return 2;
}
