// Env: every interaction vmshare has with the operating system.
//
// Code above sys/ never makes a syscall; it is handed an Env* and calls it
// (the LevelDB Env model). PosixEnv (posix_env.cc) is the real one;
// EnvWrapper (env_wrapper.h) forwards every call so tests override only what
// they inject faults into. Every method retries EINTR, opens with O_CLOEXEC,
// and returns an error naming the operation and the object, with the errno
// kept in Status::err(). Methods are thread-safe unless noted.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "sys/fd.h"

namespace vmshare::sys {

// openat2 resolve flags (linux/openat2.h), repeated so callers need no kernel
// header.
inline constexpr uint64_t kResolveNoXdev = 0x01;
inline constexpr uint64_t kResolveNoMagiclinks = 0x02;
inline constexpr uint64_t kResolveNoSymlinks = 0x04;
inline constexpr uint64_t kResolveBeneath = 0x08;
inline constexpr uint64_t kResolveInRoot = 0x10;

// One directory entry as getdents reports it.
struct DirEntry {
  std::string name;
  unsigned char type = 0;  // DT_* (DT_UNKNOWN on some filesystems)
};

// The fields of statx vmshare uses.
struct FileInfo {
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  uint64_t size = 0;
  uint64_t ino = 0;
  dev_t dev = 0;            // st_dev (major/minor combined)
  dev_t rdev = 0;           // st_rdev: what a device node stands for
  uint64_t mnt_id = 0;      // STATX_MNT_ID, 0 if the kernel lacks it
  bool mount_root = false;  // STATX_ATTR_MOUNT_ROOT: the path is a mountpoint
  int64_t mtime_ns = 0;
  int64_t atime_ns = 0;
  uint64_t nlink = 0;
  bool is_dir() const { return S_ISDIR(mode); }
  bool is_reg() const { return S_ISREG(mode); }
  bool is_lnk() const { return S_ISLNK(mode); }
};

// Propagation for MountSetattr (0 keeps the current one).
enum class Propagation { kUnchanged = 0, kPrivate, kShared, kSlave, kUnbindable };

// Attributes for MountSetattr / CloneTree.
struct MountAttrs {
  bool read_only = false;
  bool nosuid = false;
  bool nodev = false;
  bool noexec = false;
  Propagation propagation = Propagation::kUnchanged;
  bool recursive = false;  // AT_RECURSIVE: apply to the whole tree
  // Clears nosuid and nodev (a container root copied onto a nosuid tmpfs).
  bool clear_nosuid_nodev = false;
};

struct ChildOptions {
  std::vector<std::string> argv;           // argv[0] is the program (PATH is searched)
  std::vector<std::string> env;            // empty: inherit
  std::optional<std::string> stdin_path;   // default: /dev/null
  std::optional<std::string> stdout_path;  // default: inherit
  std::optional<std::string> stderr_path;  // default: inherit
  bool new_session = false;                // setsid() in the child
  bool die_with_parent = false;            // PR_SET_PDEATHSIG SIGKILL
  std::vector<int> keep_fds;               // raw fds (already owned by the caller) kept open
};

// A started child process. Owns a pidfd; the destructor does NOT kill or
// reap (Env::Wait does), so a forgotten Child is a zombie, not a surprise kill.
struct Child {
  pid_t pid = -1;
  Fd pidfd;
};

struct ExitStatus {
  bool exited = false;  // normal exit; else killed by signal
  int code = 0;         // exit code or signal number
};

// agent: a filesystem a container init makes in its own namespaces (proc
// for its pid namespace, mqueue for its ipc namespace, ...) and hands back
// as a detached mount (fsopen/fsconfig/fsmount).
struct ContainerFilesystem {
  std::string type;
  std::string source;
  // fsconfig keys: "key=value" sets a string, "key" a flag.
  std::vector<std::string> options;
  MountAttrs attrs;  // read_only, nosuid, nodev, noexec of the new mount
};

struct ContainerRlimit {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0, hard = 0;
};

// Capability sets as bit masks (bit n = capability n).
struct ContainerCaps {
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

// agent: what SpawnContained / SpawnContainer runs, and how.
struct ContainedProcessOptions {
  std::string root;               // absolute path of a mount point; becomes the process's "/"
  bool mount_proc = false;        // SpawnContained only: mount a new proc at /proc inside the root
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in env's PATH
  std::vector<std::string> env;   // the whole environment
  std::string cwd = "/";          // inside the root, entered after setuid
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  const Fd* stdout_fd = nullptr;  // default: inherited
  const Fd* stderr_fd = nullptr;  // default: inherited
  const Fd* stdin_fd = nullptr;   // default: an empty pipe (EOF at once)
  // A pty slave (OpenPty): the child starts a session with it as its
  // controlling terminal and stdin, stdout and stderr (the *_fd are ignored).
  const Fd* tty_fd = nullptr;
  // A cgroup.procs file the child moves itself into first (empty: stay),
  // before a new cgroup namespace is made, so that cgroup is its root.
  std::string cgroup_procs;
  // ExecProcess: a running child (a container init, not yet reaped) whose
  // pid, mount, uts, ipc, net and cgroup namespaces and root the process
  // joins instead of making its own; root, mount_proc, clone_flags,
  // filesystems, hostname, sysctl and the paths are then unused.
  const Child* enter = nullptr;
  // Namespaces beyond the mount namespace (always new): CLONE_NEWPID,
  // CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME.
  int clone_flags = 0;
  std::vector<ContainerFilesystem> filesystems;  // SpawnContainer: made in the child
  std::optional<std::string> hostname;           // sethostname (needs CLONE_NEWUTS)
  // Written after pivot_root: {"/proc/sys/net/ipv4/ip_forward", "1"}.
  std::vector<std::pair<std::string, std::string>> sysctl;
  std::vector<std::string> readonly_paths;  // bound read-only onto themselves
  std::vector<std::string> masked_paths;    // /dev/null (files) or an empty ro tmpfs (dirs)
  std::vector<ContainerRlimit> rlimits;
  std::optional<ContainerCaps> caps;  // none: the capabilities stay as they are
  bool no_new_privileges = false;
  std::optional<mode_t> umask;
};

// agent: a container init between clone and execve (SpawnContainer).
struct ContainerInit {
  Child child;
  Fd channel;                   // SOCK_SEQPACKET to the child
  std::vector<Fd> filesystems;  // options.filesystems, made in the child's namespaces
};

// agent: one network device of the guest (ListNetDevices).
struct NetDevice {
  std::string name;
  uint32_t flags = 0;  // IFF_*
  uint32_t mtu = 0;
  std::string hw_addr;  // "aa:bb:cc:dd:ee:ff", or "" when it has none
  struct Address {
    bool ipv6 = false;
    std::string address;  // numeric form
    int prefix_len = 0;
  };
  std::vector<Address> addresses;
};

// agent: one child reaped by ReapAnyChild.
struct ReapedChild {
  pid_t pid = -1;
  ExitStatus status;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide real Env. Never deleted.
  static Env* Default();

  // ---- files and directories -------------------------------------------
  virtual Result<Fd> OpenAt(const Fd& dir, const std::string& path, int flags, mode_t mode = 0) = 0;
  // openat2(2) with `resolve` (kResolve*). ENOSYS when the kernel lacks it.
  virtual Result<Fd> OpenAt2(const Fd& dir, const std::string& path, int flags, mode_t mode,
                             uint64_t resolve) = 0;
  virtual Status MkdirAt(const Fd& dir, const std::string& path, mode_t mode) = 0;
  // flags: 0 or AT_REMOVEDIR.
  virtual Status UnlinkAt(const Fd& dir, const std::string& path, int flags) = 0;
  // flags: 0, RENAME_NOREPLACE, RENAME_EXCHANGE.
  virtual Status RenameAt(const Fd& olddir, const std::string& oldpath, const Fd& newdir,
                          const std::string& newpath, unsigned flags = 0) = 0;
  virtual Status SymlinkAt(const std::string& target, const Fd& dir, const std::string& path) = 0;
  virtual Result<std::string> ReadlinkAt(const Fd& dir, const std::string& path) = 0;
  // statx(2); flags e.g. AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
  virtual Result<FileInfo> StatAt(const Fd& dir, const std::string& path, int flags) = 0;
  virtual Status ChmodFd(const Fd& fd, mode_t mode) = 0;
  // fchownat; flags e.g. AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH.
  virtual Status ChownAt(const Fd& dir, const std::string& path, uid_t uid, gid_t gid,
                         int flags) = 0;
  virtual Status Truncate(const Fd& fd, uint64_t size) = 0;
  virtual Result<std::vector<DirEntry>> ReadDir(const Fd& dir) = 0;  // without . and ..

  // Writes every byte (loops on short writes). At `offset` when given (pwrite).
  virtual Status WriteAll(const Fd& fd, std::string_view data,
                          std::optional<uint64_t> offset = {}) = 0;
  // Reads up to `max` bytes; an empty string is EOF.
  virtual Result<std::string> Read(const Fd& fd, size_t max) = 0;
  // Reads up to `max` bytes into buf (one read(2)); 0 is EOF.
  virtual Result<size_t> ReadInto(const Fd& fd, char* buf, size_t max) = 0;
  // Reads to EOF; fails with kInvalidArgument if more than `limit` bytes.
  virtual Result<std::string> ReadAll(const Fd& fd, size_t limit) = 0;
  virtual Status Fsync(const Fd& fd) = 0;
  // The path the kernel reports for fd (/proc/self/fd/N).
  virtual Result<std::string> FdPath(const Fd& fd) = 0;

  // flock(2); op is LOCK_SH or LOCK_EX, optionally | LOCK_NB.
  virtual Status Flock(const Fd& fd, int op) = 0;

  // ---- mounts (new mount API) --------------------------------------------
  // open_tree(OPEN_TREE_CLONE [| AT_RECURSIVE]) of what `path` names relative
  // to `dir` (use AT_EMPTY_PATH semantics when path is empty). Detached tree.
  virtual Result<Fd> CloneTree(const Fd& dir, const std::string& path, bool recursive) = 0;
  // mount_setattr(2) on the mount `fd` refers to.
  virtual Status MountSetattr(const Fd& fd, const MountAttrs& attrs) = 0;
  // move_mount(2) of a detached tree onto the object `target` refers to.
  virtual Status MoveMount(const Fd& tree, const Fd& target) = 0;
  // move_mount(2) of a detached tree onto `name` in `dir`, a single path
  // component the kernel resolves without following a symlink. The default
  // opens the target (O_PATH | O_NOFOLLOW) and calls MoveMount, so a wrapper
  // that overrides MoveMount sees every move; PosixEnv saves the open.
  virtual Status MoveMountAt(const Fd& tree, const Fd& dir, const std::string& name);
  // Legacy mount(2). Callers pass /proc/self/fd/N paths for sources/targets
  // they resolved, never user strings.
  virtual Status Mount(const std::string& source, const std::string& target,
                       const std::string& fstype, unsigned long flags, const std::string& data) = 0;
  // umount2(2) with UMOUNT_NOFOLLOW always added.
  virtual Status Unmount(const std::string& target, int flags) = 0;
  // unshare(2).
  virtual Status Unshare(int flags) = 0;

  // ---- processes ---------------------------------------------------------
  virtual Result<Child> Spawn(const ChildOptions& options) = 0;
  // Waits for the child (blocking). With a timeout, kDeadlineExceeded when
  // it is still running after it.
  virtual Result<ExitStatus> Wait(Child& child,
                                  std::optional<std::chrono::milliseconds> timeout = {}) = 0;
  // Signals through the pidfd, so a recycled pid is never hit.
  virtual Status Kill(const Child& child, int sig) = 0;
  // kill(2) by pid (for processes we did not start). ESRCH is NotFound.
  virtual Status KillPid(pid_t pid, int sig) = 0;
  virtual pid_t GetPid() = 0;
  // The effective uid and gid: the owner of a file this process creates
  // (its group unless the parent directory is setgid).
  virtual uid_t GetEuid() = 0;
  virtual gid_t GetEgid() = 0;

  // ---- sockets, pipes, polling, inotify ---------------------------------
  // A listening SOCK_STREAM unix socket at path (an existing socket file is
  // replaced).
  virtual Result<Fd> UnixListen(const std::string& path) = 0;
  virtual Result<Fd> UnixConnect(const std::string& path) = 0;
  virtual Result<Fd> Accept(const Fd& listener) = 0;
  // A connected SOCK_STREAM unix socket pair.
  virtual Status SocketPair(Fd* a, Fd* b) = 0;
  virtual Status Pipe(Fd* read_end, Fd* write_end) = 0;
  // poll(2) on one fd for `events` (POLLIN, ...). Returns revents, 0 on timeout.
  // A negative timeout waits forever.
  virtual Result<short> PollOne(const Fd& fd, short events, std::chrono::milliseconds timeout) = 0;
  virtual Result<Fd> InotifyInit() = 0;  // non-blocking, close-on-exec
  virtual Result<int> InotifyAddWatch(const Fd& inotify, const std::string& path,
                                      uint32_t mask) = 0;
  virtual Status InotifyRmWatch(const Fd& inotify, int wd) = 0;
  virtual Result<Fd> EventFd() = 0;  // non-blocking, close-on-exec
  virtual Status SetNonBlocking(const Fd& fd, bool on) = 0;

  // ---- time --------------------------------------------------------------
  virtual int64_t NowNanos() = 0;  // CLOCK_MONOTONIC
  virtual void SleepFor(std::chrono::nanoseconds d) = 0;

  // ---- vm: signals and process groups (posix_env_vm.cc) ------------------
  // Blocks `signals` in the calling thread (call it before starting threads
  // so every thread inherits the mask) and returns a non-blocking,
  // close-on-exec signalfd for them. Spawned children get an empty mask.
  virtual Result<Fd> SignalFd(const std::vector<int>& signals) = 0;
  // Reads one pending signal from a signalfd: its number, or 0 when none is
  // pending.
  virtual Result<int> ReadSignal(const Fd& signal_fd) = 0;
  // kill(-pgid, sig): signals a whole process group (a child spawned with
  // new_session leads one). ESRCH is NotFound.
  virtual Status KillProcessGroup(pid_t pgid, int sig) = 0;
  // A close-on-exec duplicate (F_DUPFD_CLOEXEC) of a descriptor we do not
  // own, such as 0 for `vmshare run`'s stdin; err() is EBADF when it is not
  // open.
  virtual Result<Fd> DupFd(int fd) = 0;

  // ---- agent: guest init and containers (posix_env_guest.cc) -------------
  // Starts argv in a new mount namespace whose root is `root` (pivot_root,
  // falling back to MS_MOVE + chroot where the current root is the initramfs
  // rootfs, which pivot_root refuses). See ContainedProcessOptions. Fails
  // with the step and errno that failed in the child ("pivot_root ...",
  // "execve ..."); the failed child is left for ReapAnyChild to reap.
  virtual Result<Child> SpawnContained(const ContainedProcessOptions& options) = 0;
  // Reaps one child that has already exited, without blocking (waitid
  // WNOHANG); nullopt when none has, or there are no children.
  virtual Result<std::optional<ReapedChild>> ReapAnyChild() = 0;
  // SpawnContained in three steps, so the caller builds the root between
  // them with mounts made in the child's namespaces (runc's create/start):
  // SpawnContainer clones the child into new namespaces (options.clone_flags)
  // where it makes options.filesystems and hands them back; ContainerSetup
  // (once the root is built) has it unshare the mount namespace, pivot_root,
  // apply hostname, sysctl, readonly/masked paths, rlimits, ids, caps,
  // umask, cwd and no_new_privileges, and returns when it waits to exec;
  // ContainerExec lets it execve and returns its failure. Errors name the
  // step that failed in the child; a failed child exits (left to reap).
  virtual Result<ContainerInit> SpawnContainer(const ContainedProcessOptions& options) = 0;
  virtual Status ContainerSetup(ContainerInit& init) = 0;
  virtual Status ContainerExec(ContainerInit& init) = 0;
  // mknodat(2): `mode` holds the type (S_IFCHR, S_IFBLK, S_IFIFO) and bits.
  virtual Status MknodAt(const Fd& dir, const std::string& path, mode_t mode, dev_t dev) = 0;
  // linkat(2) without following symlinks.
  virtual Status LinkAt(const Fd& olddir, const std::string& oldpath, const Fd& newdir,
                        const std::string& newpath) = 0;
  // utimensat(2) with AT_SYMLINK_NOFOLLOW (AT_EMPTY_PATH when path is empty).
  virtual Status SetTimes(const Fd& dir, const std::string& path, int64_t atime_ns,
                          int64_t mtime_ns) = 0;
  // fchmodat(2) (no AT_SYMLINK_NOFOLLOW: a device or fifo node by name).
  virtual Status ChmodAt(const Fd& dir, const std::string& path, mode_t mode) = 0;
  // setxattr/getxattr list through /proc/self/fd of an O_PATH-or-better fd.
  virtual Status SetXattr(const Fd& fd, const std::string& name, std::string_view value) = 0;
  virtual Result<std::vector<std::pair<std::string, std::string>>> ListXattrs(const Fd& fd) = 0;
  // finit_module(2) of an open .ko file; `compressed` (.ko.xz/.zst/.gz) lets
  // the kernel decompress it. EEXIST (already loaded) is kAlreadyExists.
  virtual Status LoadModule(const Fd& module_file, const std::string& params, bool compressed) = 0;
  // sync(2): flushes every filesystem.
  virtual void SyncAll() = 0;
  // reboot(2) with RB_POWER_OFF; returns only on failure.
  virtual Status PowerOff() = 0;
  // signal(sig, SIG_IGN) for the whole process (SIGPIPE: a peer that hangs
  // up must give EPIPE, not kill the agent).
  virtual Status IgnoreSignal(int sig) = 0;

  // ---- agent: ptys, clock, network devices (posix_env_pty.cc) ------------
  // A new pseudo-terminal pair, both ends close-on-exec and not our
  // controlling terminal.
  virtual Status OpenPty(Fd* master, Fd* slave) = 0;
  // TIOCSWINSZ on a pty end: the foreground process group gets SIGWINCH.
  virtual Status SetWindowSize(const Fd& tty, uint16_t rows, uint16_t columns) = 0;
  // clock_settime(CLOCK_REALTIME).
  virtual Status SetRealtimeClock(int64_t sec, int64_t usec) = 0;
  // The network devices of our network namespace (getifaddrs + SIOCGIFMTU).
  virtual Result<std::vector<NetDevice>> ListNetDevices() = 0;

  // ---- watch (the volume watcher, issue #5) -------------------------------
  // poll(2) on several fds for `events` each; returns their revents in the
  // same order (all 0 on timeout). A negative timeout waits forever.
  virtual Result<std::vector<short>> PollMany(const std::vector<const Fd*>& fds, short events,
                                              std::chrono::milliseconds timeout) = 0;

  // ---- gc (crash recovery and the host-filesystem guard, issue #6) -------
  // pidfd_open(2) of a process vmshare did not start; the Child's pidfd then
  // names that process even if the pid is recycled (Kill signals through it,
  // PollOne(pidfd, POLLIN) reports its exit). ESRCH is NotFound. The Child
  // is not ours to Wait for.
  virtual Result<Child> OpenProcess(pid_t pid) = 0;
  // fstatfs(2): the filesystem's magic number (PROC_SUPER_MAGIC, ...).
  virtual Result<uint64_t> FsMagic(const Fd& fd) = 0;
  // umount2 of exactly the mount whose root `fd` (an O_PATH fd of a mount
  // root, opened without following symlinks) refers to, through
  // /proc/self/fd/N, so no path is resolved again. flags: 0 or MNT_DETACH.
  virtual Status UnmountFd(const Fd& fd, int flags) = 0;

  // ---- randomness ---------------------------------------------------------
  // Fills `out` with `len` bytes from getrandom(2) (the kernel's CSPRNG).
  virtual Status GetRandom(void* out, size_t len) = 0;
};

}  // namespace vmshare::sys
