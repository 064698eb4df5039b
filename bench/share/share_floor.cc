// The raw-syscall floors of share_bench.cc: the same jobs done with only the
// syscalls they need, on the same kind of tree (mounts/ its own shared peer
// group, shared/ a read-only slave of it, so each share propagates once), in
// the same run. The bench main prints each BM_<X> beside BM_Raw<X>.
//
// Raw syscalls are the point here, so this file calls them directly (the
// product code reaches them only through sys::Env).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/scratch.h"

namespace vmshare::bench {
namespace {

bool Fail(benchmark::State& state, const char* what) {
  state.SkipWithError((std::string(what) + ": " + std::strerror(errno)).c_str());
  return false;
}

// A clone of `fd`'s mount with `attr` applied, moved onto `name` in `dir`.
bool BindAt(benchmark::State& state, int src, int dir, const char* name, unsigned clone_flags,
            const mount_attr& attr, unsigned attr_flags) {
  const int tree =
      ::open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | clone_flags);
  if (tree < 0) return Fail(state, "open_tree");
  mount_attr a = attr;
  if (::mount_setattr(tree, "", AT_EMPTY_PATH | attr_flags, &a, sizeof a) < 0)
    return Fail(state, "mount_setattr");
  if (::move_mount(tree, "", dir, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return Fail(state, "move_mount");
  ::close(tree);
  return true;
}

// <dir>/sandbox/{mounts,shared} as vmshare's Prepare makes them.
bool PrepareRaw(benchmark::State& state, int base, int* sandbox_out) {
  if (::mkdirat(base, "sandbox", 0700) < 0) return Fail(state, "mkdir sandbox");
  const int sb = ::openat(base, "sandbox", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sb < 0) return Fail(state, "open sandbox");
  if (::mkdirat(sb, "mounts", 0755) < 0 || ::mkdirat(sb, "shared", 0755) < 0)
    return Fail(state, "mkdir");
  const int m = ::openat(sb, "mounts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  mount_attr priv{};
  priv.propagation = MS_PRIVATE;
  if (!BindAt(state, m, sb, "mounts", 0, priv, 0)) return false;
  ::close(m);
  const int mounts = ::openat(sb, "mounts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  mount_attr shared{};
  shared.propagation = MS_SHARED;
  if (::mount_setattr(mounts, "", AT_EMPTY_PATH, &shared, sizeof shared) < 0)
    return Fail(state, "make shared");
  // shared/: read-only at its top, a slave of mounts/ all the way down.
  const int tree =
      ::open_tree(mounts, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  if (tree < 0) return Fail(state, "open_tree view");
  mount_attr ro{};
  ro.attr_set = MOUNT_ATTR_RDONLY;
  mount_attr slave{};
  slave.propagation = MS_SLAVE;
  if (::mount_setattr(tree, "", AT_EMPTY_PATH, &ro, sizeof ro) < 0 ||
      ::mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &slave, sizeof slave) < 0)
    return Fail(state, "mount_setattr view");
  if (::move_mount(tree, "", sb, "shared", MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return Fail(state, "move_mount view");
  ::close(tree);
  ::close(mounts);
  *sandbox_out = sb;
  return true;
}

bool CleanupRaw(benchmark::State& state, const std::string& sandbox, int sb) {
  if (::umount2((sandbox + "/shared").c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
    return Fail(state, "umount shared");
  if (::umount2((sandbox + "/mounts").c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
    return Fail(state, "umount mounts");
  if (::unlinkat(sb, "shared", AT_REMOVEDIR) < 0 || ::unlinkat(sb, "mounts", AT_REMOVEDIR) < 0)
    return Fail(state, "rmdir");
  ::close(sb);
  if (::rmdir(sandbox.c_str()) < 0) return Fail(state, "rmdir sandbox");
  return true;
}

struct RawSandbox {
  explicit RawSandbox(benchmark::State& state) {
    dir = MakeScratchDir("raw");
    std::filesystem::create_directories(dir + "/src/vol");
    std::ofstream(dir + "/src/vol/f") << "x";
    base = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ok = PrepareRaw(state, base, &sb);
    if (ok) mounts = ::openat(sb, "mounts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  ~RawSandbox() {
    if (mounts >= 0) ::close(mounts);
    ::umount2((dir + "/sandbox/shared").c_str(), MNT_DETACH);
    ::umount2((dir + "/sandbox/mounts").c_str(), MNT_DETACH);
    if (sb >= 0) ::close(sb);
    ::close(base);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  int base = -1, sb = -1, mounts = -1;
  bool ok = false;
};

// Open the source once (O_PATH, final component not followed), clone it,
// set its attributes detached, make the mountpoint, attach; then detach and
// remove the mountpoint.
void BM_RawShareUnshareFile(benchmark::State& state) {
  RawSandbox sb(state);
  if (!sb.ok) return;
  const std::string source = sb.dir + "/src/vol";
  const std::string target = sb.dir + "/sandbox/mounts/c1-0123456789abcdef-data";
  const char* name = "c1-0123456789abcdef-data";
  mount_attr attr{};
  attr.propagation = MS_PRIVATE;
  if (state.range(0)) attr.attr_set = MOUNT_ATTR_RDONLY;
  for (auto _ : state) {
    const int src = ::open(source.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (src < 0) return (void)Fail(state, "open source");
    if (::mkdirat(sb.mounts, name, 0755) < 0) return (void)Fail(state, "mkdir");
    if (!BindAt(state, src, sb.mounts, name, 0, attr, 0)) return;
    ::close(src);
    if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
      return (void)Fail(state, "umount");
    if (::unlinkat(sb.mounts, name, AT_REMOVEDIR) < 0) return (void)Fail(state, "rmdir");
  }
  state.SetLabel(state.range(0) ? "ro" : "rw");
}
BENCHMARK(BM_RawShareUnshareFile)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The same for a rootfs: mounts/<cid>/rootfs, both directories removed again.
void BM_RawShareUnshareRootfs(benchmark::State& state) {
  RawSandbox sb(state);
  if (!sb.ok) return;
  const std::string source = sb.dir + "/src/vol";
  const std::string target = sb.dir + "/sandbox/mounts/c1/rootfs";
  mount_attr attr{};
  attr.propagation = MS_PRIVATE;
  for (auto _ : state) {
    const int src = ::open(source.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (src < 0) return (void)Fail(state, "open source");
    if (::mkdirat(sb.mounts, "c1", 0755) < 0) return (void)Fail(state, "mkdir");
    const int cdir = ::openat(sb.mounts, "c1", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cdir < 0 || ::mkdirat(cdir, "rootfs", 0755) < 0) return (void)Fail(state, "mkdir rootfs");
    if (!BindAt(state, src, cdir, "rootfs", 0, attr, 0)) return;
    ::close(src);
    if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
      return (void)Fail(state, "umount");
    if (::unlinkat(cdir, "rootfs", AT_REMOVEDIR) < 0) return (void)Fail(state, "rmdir rootfs");
    ::close(cdir);
    if (::unlinkat(sb.mounts, "c1", AT_REMOVEDIR) < 0) return (void)Fail(state, "rmdir");
  }
}
BENCHMARK(BM_RawShareUnshareRootfs)->Unit(benchmark::kMicrosecond);

void BM_RawPrepareCleanup(benchmark::State& state) {
  const std::string dir = MakeScratchDir("raw");
  const int base = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  for (auto _ : state) {
    int sb = -1;
    if (!PrepareRaw(state, base, &sb)) break;
    if (!CleanupRaw(state, dir + "/sandbox", sb)) break;
  }
  ::close(base);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_RawPrepareCleanup)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace vmshare::bench
