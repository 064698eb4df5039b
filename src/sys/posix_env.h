// PosixEnv: the real Env, implemented over Linux syscalls.
//
// Declared here so its implementation can be split by area
// (posix_env.cc: files and mounts; posix_env_proc.cc: processes, sockets,
// time). Only sys/ includes this header; everyone else uses Env::Default().
#pragma once

#include "sys/env.h"

namespace vmshare::sys {

class PosixEnv : public Env {
 public:
  Result<Fd> OpenAt(const Fd& dir, const std::string& path, int flags, mode_t mode) override;
  Result<Fd> OpenAt2(const Fd& dir, const std::string& path, int flags, mode_t mode,
                     uint64_t resolve) override;
  Status MkdirAt(const Fd& dir, const std::string& path, mode_t mode) override;
  Status UnlinkAt(const Fd& dir, const std::string& path, int flags) override;
  Status RenameAt(const Fd& olddir, const std::string& oldpath, const Fd& newdir,
                  const std::string& newpath, unsigned flags) override;
  Status SymlinkAt(const std::string& target, const Fd& dir, const std::string& path) override;
  Result<std::string> ReadlinkAt(const Fd& dir, const std::string& path) override;
  Result<FileInfo> StatAt(const Fd& dir, const std::string& path, int flags) override;
  Status ChmodFd(const Fd& fd, mode_t mode) override;
  Status ChownAt(const Fd& dir, const std::string& path, uid_t uid, gid_t gid, int flags) override;
  Status Truncate(const Fd& fd, uint64_t size) override;
  Result<std::vector<DirEntry>> ReadDir(const Fd& dir) override;
  Status WriteAll(const Fd& fd, std::string_view data, std::optional<uint64_t> offset) override;
  Result<std::string> Read(const Fd& fd, size_t max) override;
  Result<size_t> ReadInto(const Fd& fd, char* buf, size_t max) override;
  Result<std::string> ReadAll(const Fd& fd, size_t limit) override;
  Status Fsync(const Fd& fd) override;
  Result<std::string> FdPath(const Fd& fd) override;
  Status Flock(const Fd& fd, int op) override;

  Result<Fd> CloneTree(const Fd& dir, const std::string& path, bool recursive) override;
  Status MountSetattr(const Fd& fd, const MountAttrs& attrs) override;
  Status MoveMount(const Fd& tree, const Fd& target) override;
  Status MoveMountAt(const Fd& tree, const Fd& dir, const std::string& name) override;
  Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) override;
  Status Unmount(const std::string& target, int flags) override;
  Status Unshare(int flags) override;

  Result<Child> Spawn(const ChildOptions& options) override;
  Result<ExitStatus> Wait(Child& child, std::optional<std::chrono::milliseconds> timeout) override;
  Status Kill(const Child& child, int sig) override;
  Status KillPid(pid_t pid, int sig) override;
  pid_t GetPid() override;
  uid_t GetEuid() override;
  gid_t GetEgid() override;

  Result<Fd> UnixListen(const std::string& path) override;
  Result<Fd> UnixConnect(const std::string& path) override;
  Result<Fd> Accept(const Fd& listener) override;
  Status SocketPair(Fd* a, Fd* b) override;
  Status Pipe(Fd* read_end, Fd* write_end) override;
  Result<short> PollOne(const Fd& fd, short events, std::chrono::milliseconds timeout) override;
  Result<Fd> InotifyInit() override;
  Result<int> InotifyAddWatch(const Fd& inotify, const std::string& path, uint32_t mask) override;
  Status InotifyRmWatch(const Fd& inotify, int wd) override;
  Result<Fd> EventFd() override;
  Status SetNonBlocking(const Fd& fd, bool on) override;

  int64_t NowNanos() override;
  void SleepFor(std::chrono::nanoseconds d) override;

  // vm (posix_env_vm.cc)
  Result<Fd> SignalFd(const std::vector<int>& signals) override;
  Result<int> ReadSignal(const Fd& signal_fd) override;
  Status KillProcessGroup(pid_t pgid, int sig) override;
  Result<Fd> DupFd(int fd) override;

  // agent (posix_env_guest.cc)
  Result<Child> SpawnContained(const ContainedProcessOptions& options) override;
  Result<std::optional<ReapedChild>> ReapAnyChild() override;
  Status OpenPty(Fd* master, Fd* slave) override;
  Status SetWindowSize(const Fd& tty, uint16_t rows, uint16_t columns) override;
  Status SetRealtimeClock(int64_t sec, int64_t usec) override;
  Result<std::vector<NetDevice>> ListNetDevices() override;
  // container init (posix_env_container.cc)
  Result<ContainerInit> SpawnContainer(const ContainedProcessOptions& options) override;
  Status ContainerSetup(ContainerInit& init) override;
  Status ContainerExec(ContainerInit& init) override;
  // file details (posix_env_files.cc)
  Status MknodAt(const Fd& dir, const std::string& path, mode_t mode, dev_t dev) override;
  Status LinkAt(const Fd& olddir, const std::string& oldpath, const Fd& newdir,
                const std::string& newpath) override;
  Status SetTimes(const Fd& dir, const std::string& path, int64_t atime_ns,
                  int64_t mtime_ns) override;
  Status ChmodAt(const Fd& dir, const std::string& path, mode_t mode) override;
  Status SetXattr(const Fd& fd, const std::string& name, std::string_view value) override;
  Result<std::vector<std::pair<std::string, std::string>>> ListXattrs(const Fd& fd) override;
  Status LoadModule(const Fd& module_file, const std::string& params, bool compressed) override;
  void SyncAll() override;
  Status PowerOff() override;
  Status IgnoreSignal(int sig) override;
  // watch
  Result<std::vector<short>> PollMany(const std::vector<const Fd*>& fds, short events,
                                      std::chrono::milliseconds timeout) override;
  // gc (posix_env_gc.cc)
  Result<Child> OpenProcess(pid_t pid) override;
  Result<uint64_t> FsMagic(const Fd& fd) override;
  Status GetRandom(void* out, size_t len) override;
  Status UnmountFd(const Fd& fd, int flags) override;
};

// Describes a (dir, path) pair for messages: the path if absolute or the dir
// is AT_FDCWD, else "<dir path>/<path>".
std::string DescribeAt(const Fd& dir, const std::string& path);

}  // namespace vmshare::sys
