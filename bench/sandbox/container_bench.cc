// A whole container: Sandbox::AddContainer + RemoveContainer of a container
// with a rootfs and N volumes, persisted (issue 14 item 6), beside its floor
// in the same run: the N + 1 share/unshare cycles done with bare syscalls
// plus two durable 4 KiB writes (the intent and the mounted record). The
// bench main prints BM_ShareUnshareContainer/N beside
// BM_RawShareUnshareContainer/N. Needs root; scratch on the bench main's
// tmpfs (support/scratch.h: --scratch or TMPDIR).
//
// The floor calls raw syscalls on purpose (as share/share_floor.cc does).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "sandbox/sandbox.h"
#include "support/scratch.h"

namespace vmshare::bench {
namespace {

Container ManyMounts(const std::string& dir, int n) {
  Container c;
  c.id = "c1";
  c.state.rootfs.source = dir + "/src/rootfs";
  c.state.rootfs.type = "bind";
  for (int i = 0; i < n; ++i) {
    Mount m;
    m.source = dir + "/src/vol";
    m.destination = "/mnt/v" + std::to_string(i);
    m.type = "bind";
    m.options = {"rbind"};
    m.read_only = i % 3 == 2;
    c.state.mounts.push_back(m);
  }
  return c;
}

void MakeSources(const std::string& dir) {
  std::filesystem::create_directories(dir + "/src/vol");
  std::filesystem::create_directories(dir + "/src/rootfs");
  std::ofstream(dir + "/src/vol/f") << "x";
}

void BM_ShareUnshareContainer(benchmark::State& state) {
  const std::string dir = MakeScratchDir("container");
  MakeSources(dir);
  sandbox::SandboxOptions o;
  o.root = dir + "/root";
  o.sandbox_id = "bench";
  auto sb = sandbox::Sandbox::Open(o);
  Status s = sb.ok() ? (*sb)->Prepare() : sb.status();
  if (s.ok()) s = (*sb)->Hold();  // as the CLI and the shim hold it
  const Container c = ManyMounts(dir, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    if (!s.ok()) break;
    auto shared = (*sb)->AddContainer(c);
    s = shared.ok() ? (*sb)->RemoveContainer(shared->container) : shared.status();
  }
  if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  if (sb.ok()) (*sb)->Cleanup(/*force=*/true).IgnoreError();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_ShareUnshareContainer)->Arg(100)->Unit(benchmark::kMicrosecond);

bool Fail(benchmark::State& state, const char* what) {
  state.SkipWithError((std::string(what) + ": " + std::strerror(errno)).c_str());
  return false;
}

// One bare share of `src` at dir/name: open, clone, set attributes
// detached, mkdir, attach.
bool RawShare(benchmark::State& state, int src_dir, const char* src, int dir,
              const std::string& name, bool ro) {
  const int fd = ::openat(src_dir, src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Fail(state, "open source");
  const int tree = ::open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  ::close(fd);
  if (tree < 0) return Fail(state, "open_tree");
  mount_attr a{};
  a.propagation = MS_PRIVATE;
  if (ro) a.attr_set = MOUNT_ATTR_RDONLY;
  if (::mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
    return Fail(state, "mount_setattr");
  if (::mkdirat(dir, name.c_str(), 0755) < 0) return Fail(state, "mkdir");
  if (::move_mount(tree, "", dir, name.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return Fail(state, "move_mount");
  ::close(tree);
  return true;
}

// Its unshare: detach, rmdir.
bool RawUnshare(benchmark::State& state, const std::string& dir_path, int dir,
                const std::string& name) {
  if (::umount2((dir_path + "/" + name).c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
    return Fail(state, "umount");
  if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) < 0) return Fail(state, "rmdir");
  return true;
}

// A durable 4 KiB replace of dir/persist.json.
bool RawDurableWrite(benchmark::State& state, int dir, const std::string& data) {
  const int fd = ::openat(dir, "persist.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(state, "create");
  if (::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
    return Fail(state, "write");
  if (::fsync(fd) < 0) return Fail(state, "fsync");
  ::close(fd);
  if (::renameat(dir, "persist.json.tmp", dir, "persist.json") < 0) return Fail(state, "rename");
  if (::fsync(dir) < 0) return Fail(state, "fsync dir");
  return true;
}

// The floor: a durable 4 KiB write, N + 1 bare shares (the rootfs and N
// volumes) into a mounts/ that is its own shared peer group with a slave
// shared/ (as vmshare's tree, so each share propagates once), a second
// durable write, then the N + 1 unshares.
void BM_RawShareUnshareContainer(benchmark::State& state) {
  const std::string dir = MakeScratchDir("raw-container");
  MakeSources(dir);
  const std::string mounts_path = dir + "/mounts";
  std::filesystem::create_directories(mounts_path);
  std::filesystem::create_directories(dir + "/shared");
  std::filesystem::create_directories(dir + "/state");
  if (::mount(mounts_path.c_str(), mounts_path.c_str(), nullptr, MS_BIND, nullptr) < 0 ||
      ::mount(nullptr, mounts_path.c_str(), nullptr, MS_PRIVATE, nullptr) < 0 ||
      ::mount(nullptr, mounts_path.c_str(), nullptr, MS_SHARED, nullptr) < 0 ||
      ::mount(mounts_path.c_str(), (dir + "/shared").c_str(), nullptr, MS_BIND | MS_REC, nullptr) <
          0 ||
      ::mount(nullptr, (dir + "/shared").c_str(), nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
    Fail(state, "build the tree");
    return;
  }
  const int base = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  const int mounts = ::open(mounts_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  const int st = ::open((dir + "/state").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const std::string data(4096, 'x');
  const int n = static_cast<int>(state.range(0));
  std::vector<std::string> names{"c1-rootfs"};
  for (int i = 0; i < n; ++i) names.push_back("c1-0123456789abcdef-v" + std::to_string(i));
  for (auto _ : state) {
    bool ok = RawDurableWrite(state, st, data);
    for (int i = 0; i <= n && ok; ++i)
      ok = RawShare(state, base, i == 0 ? "src/rootfs" : "src/vol", mounts, names[i],
                    i > 0 && (i - 1) % 3 == 2);
    ok = ok && RawDurableWrite(state, st, data);
    for (int i = 0; i <= n && ok; ++i) ok = RawUnshare(state, mounts_path, mounts, names[i]);
    if (!ok) break;
  }
  ::close(st);
  ::close(mounts);
  ::close(base);
  ::umount2((dir + "/shared").c_str(), MNT_DETACH);
  ::umount2(mounts_path.c_str(), MNT_DETACH);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_RawShareUnshareContainer)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace vmshare::bench
