// EnvWrapper: an Env that forwards every call to another Env.
//
// Tests derive from it and override only the calls they inject faults into
// (LevelDB's EnvWrapper). Does not own the target.
#pragma once

#include "sys/env.h"

namespace vmshare::sys {

class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Result<Fd> OpenAt(const Fd& dir, const std::string& path, int flags, mode_t mode) override {
    return target_->OpenAt(dir, path, flags, mode);
  }
  Result<Fd> OpenAt2(const Fd& dir, const std::string& path, int flags, mode_t mode,
                     uint64_t resolve) override {
    return target_->OpenAt2(dir, path, flags, mode, resolve);
  }
  Status MkdirAt(const Fd& dir, const std::string& path, mode_t mode) override {
    return target_->MkdirAt(dir, path, mode);
  }
  Status UnlinkAt(const Fd& dir, const std::string& path, int flags) override {
    return target_->UnlinkAt(dir, path, flags);
  }
  Status RenameAt(const Fd& olddir, const std::string& oldpath, const Fd& newdir,
                  const std::string& newpath, unsigned flags) override {
    return target_->RenameAt(olddir, oldpath, newdir, newpath, flags);
  }
  Status SymlinkAt(const std::string& target, const Fd& dir, const std::string& path) override {
    return target_->SymlinkAt(target, dir, path);
  }
  Result<std::string> ReadlinkAt(const Fd& dir, const std::string& path) override {
    return target_->ReadlinkAt(dir, path);
  }
  Result<FileInfo> StatAt(const Fd& dir, const std::string& path, int flags) override {
    return target_->StatAt(dir, path, flags);
  }
  Status ChmodFd(const Fd& fd, mode_t mode) override { return target_->ChmodFd(fd, mode); }
  Status ChownAt(const Fd& dir, const std::string& path, uid_t uid, gid_t gid, int flags) override {
    return target_->ChownAt(dir, path, uid, gid, flags);
  }
  Status Truncate(const Fd& fd, uint64_t size) override { return target_->Truncate(fd, size); }
  Result<std::vector<DirEntry>> ReadDir(const Fd& dir) override { return target_->ReadDir(dir); }
  Status WriteAll(const Fd& fd, std::string_view data, std::optional<uint64_t> offset) override {
    return target_->WriteAll(fd, data, offset);
  }
  Result<std::string> Read(const Fd& fd, size_t max) override { return target_->Read(fd, max); }
  Result<size_t> ReadInto(const Fd& fd, char* buf, size_t max) override {
    return target_->ReadInto(fd, buf, max);
  }
  Result<std::string> ReadAll(const Fd& fd, size_t limit) override {
    return target_->ReadAll(fd, limit);
  }
  Status Fsync(const Fd& fd) override { return target_->Fsync(fd); }
  Result<std::string> FdPath(const Fd& fd) override { return target_->FdPath(fd); }
  Status Flock(const Fd& fd, int op) override { return target_->Flock(fd, op); }
  Result<Fd> CloneTree(const Fd& dir, const std::string& path, bool recursive) override {
    return target_->CloneTree(dir, path, recursive);
  }
  Status MountSetattr(const Fd& fd, const MountAttrs& attrs) override {
    return target_->MountSetattr(fd, attrs);
  }
  Status MoveMount(const Fd& tree, const Fd& target) override {
    return target_->MoveMount(tree, target);
  }
  Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) override {
    return target_->Mount(source, target, fstype, flags, data);
  }
  Status Unmount(const std::string& target, int flags) override {
    return target_->Unmount(target, flags);
  }
  Status Unshare(int flags) override { return target_->Unshare(flags); }
  Result<Child> Spawn(const ChildOptions& options) override { return target_->Spawn(options); }
  Result<ExitStatus> Wait(Child& child, std::optional<std::chrono::milliseconds> timeout) override {
    return target_->Wait(child, timeout);
  }
  Status Kill(const Child& child, int sig) override { return target_->Kill(child, sig); }
  Status KillPid(pid_t pid, int sig) override { return target_->KillPid(pid, sig); }
  pid_t GetPid() override { return target_->GetPid(); }
  uid_t GetEuid() override { return target_->GetEuid(); }
  gid_t GetEgid() override { return target_->GetEgid(); }
  Result<Fd> UnixListen(const std::string& path) override { return target_->UnixListen(path); }
  Result<Fd> UnixConnect(const std::string& path) override { return target_->UnixConnect(path); }
  Result<Fd> Accept(const Fd& listener) override { return target_->Accept(listener); }
  Status SocketPair(Fd* a, Fd* b) override { return target_->SocketPair(a, b); }
  Status Pipe(Fd* read_end, Fd* write_end) override { return target_->Pipe(read_end, write_end); }
  Result<short> PollOne(const Fd& fd, short events, std::chrono::milliseconds timeout) override {
    return target_->PollOne(fd, events, timeout);
  }
  Result<Fd> InotifyInit() override { return target_->InotifyInit(); }
  Result<int> InotifyAddWatch(const Fd& inotify, const std::string& path, uint32_t mask) override {
    return target_->InotifyAddWatch(inotify, path, mask);
  }
  Status InotifyRmWatch(const Fd& inotify, int wd) override {
    return target_->InotifyRmWatch(inotify, wd);
  }
  Result<Fd> EventFd() override { return target_->EventFd(); }
  Status SetNonBlocking(const Fd& fd, bool on) override { return target_->SetNonBlocking(fd, on); }
  int64_t NowNanos() override { return target_->NowNanos(); }
  void SleepFor(std::chrono::nanoseconds d) override { return target_->SleepFor(d); }
  // vm
  Result<Fd> SignalFd(const std::vector<int>& signals) override {
    return target_->SignalFd(signals);
  }
  Result<int> ReadSignal(const Fd& signal_fd) override { return target_->ReadSignal(signal_fd); }
  Status KillProcessGroup(pid_t pgid, int sig) override {
    return target_->KillProcessGroup(pgid, sig);
  }
  Result<Fd> DupFd(int fd) override { return target_->DupFd(fd); }

  // agent
  Result<Child> SpawnContained(const ContainedProcessOptions& options) override {
    return target_->SpawnContained(options);
  }
  Status OpenPty(Fd* master, Fd* slave) override { return target_->OpenPty(master, slave); }
  Status SetWindowSize(const Fd& tty, uint16_t rows, uint16_t columns) override {
    return target_->SetWindowSize(tty, rows, columns);
  }
  Status SetRealtimeClock(int64_t sec, int64_t usec) override {
    return target_->SetRealtimeClock(sec, usec);
  }
  Result<std::vector<NetDevice>> ListNetDevices() override { return target_->ListNetDevices(); }
  Result<std::optional<ReapedChild>> ReapAnyChild() override { return target_->ReapAnyChild(); }
  Result<ContainerInit> SpawnContainer(const ContainedProcessOptions& options) override {
    return target_->SpawnContainer(options);
  }
  Status ContainerSetup(ContainerInit& init) override { return target_->ContainerSetup(init); }
  Status ContainerExec(ContainerInit& init) override { return target_->ContainerExec(init); }
  Status MknodAt(const Fd& dir, const std::string& path, mode_t mode, dev_t dev) override {
    return target_->MknodAt(dir, path, mode, dev);
  }
  Status LinkAt(const Fd& olddir, const std::string& oldpath, const Fd& newdir,
                const std::string& newpath) override {
    return target_->LinkAt(olddir, oldpath, newdir, newpath);
  }
  Status SetTimes(const Fd& dir, const std::string& path, int64_t atime_ns,
                  int64_t mtime_ns) override {
    return target_->SetTimes(dir, path, atime_ns, mtime_ns);
  }
  Status ChmodAt(const Fd& dir, const std::string& path, mode_t mode) override {
    return target_->ChmodAt(dir, path, mode);
  }
  Status SetXattr(const Fd& fd, const std::string& name, std::string_view value) override {
    return target_->SetXattr(fd, name, value);
  }
  Result<std::vector<std::pair<std::string, std::string>>> ListXattrs(const Fd& fd) override {
    return target_->ListXattrs(fd);
  }
  Status LoadModule(const Fd& module_file, const std::string& params, bool compressed) override {
    return target_->LoadModule(module_file, params, compressed);
  }
  void SyncAll() override { target_->SyncAll(); }
  Status PowerOff() override { return target_->PowerOff(); }
  Status IgnoreSignal(int sig) override { return target_->IgnoreSignal(sig); }
  // watch
  Result<std::vector<short>> PollMany(const std::vector<const Fd*>& fds, short events,
                                      std::chrono::milliseconds timeout) override {
    return target_->PollMany(fds, events, timeout);
  }
  // gc
  Result<Child> OpenProcess(pid_t pid) override { return target_->OpenProcess(pid); }
  Result<uint64_t> FsMagic(const Fd& fd) override { return target_->FsMagic(fd); }
  Status GetRandom(void* out, size_t len) override { return target_->GetRandom(out, len); }
  Status UnmountFd(const Fd& fd, int flags) override { return target_->UnmountFd(fd, flags); }

 private:
  Env* target_;
};

}  // namespace vmshare::sys
