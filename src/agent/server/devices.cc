#include "agent/server/devices.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "agent/server/in_root.h"
#include "core/ids.h"

namespace vmshare::agent {
namespace {

constexpr uint64_t kResolve = sys::kResolveInRoot | sys::kResolveNoMagiclinks;

std::vector<SpecDevice> DefaultDevices() {
  auto chr = [](const char* path, int64_t major, int64_t minor) {
    return SpecDevice{path, "c", major, minor, 0666, 0, 0};
  };
  return {chr("/dev/null", 1, 3),   chr("/dev/zero", 1, 5),    chr("/dev/full", 1, 7),
          chr("/dev/random", 1, 8), chr("/dev/urandom", 1, 9), chr("/dev/tty", 5, 0)};
}

Result<mode_t> NodeType(const SpecDevice& d) {
  if (d.type == "c" || d.type == "u") return S_IFCHR;
  if (d.type == "b") return S_IFBLK;
  if (d.type == "p") return S_IFIFO;
  return InvalidArgumentError("linux.devices " + Quote(d.path) + ": unknown type " + Quote(d.type));
}

Status NodeError(const Status& s, const std::string& what) {
  if (s.err() != EROFS) return s.WithContext(what);
  return s.WithContext(what +
                       " (the root is read-only and /dev is not a mount; give the spec a "
                       "tmpfs mount at /dev)");
}

bool IsNode(const sys::FileInfo& info, mode_t type, dev_t dev, mode_t perm, const SpecDevice& d) {
  return (info.mode & S_IFMT) == type && (type == S_IFIFO || info.rdev == dev) &&
         (info.mode & 07777) == perm && info.uid == d.uid && info.gid == d.gid;
}

Status MakeNode(sys::Env* env, const sys::Fd& root, const SpecDevice& d) {
  const std::string what = "create device " + Quote(d.path);
  if (d.path.rfind("/dev/", 0) != 0 || d.path.size() <= 5) {
    return InvalidArgumentError("linux.devices " + Quote(d.path) + ": not a path under /dev");
  }
  if (d.major < 0 || d.minor < 0 || d.major > 0xfff || d.minor > 0xfffff) {
    return InvalidArgumentError("linux.devices " + Quote(d.path) + ": bad major/minor");
  }
  ASSIGN_OR_RETURN(mode_t type, NodeType(d));
  ASSIGN_OR_RETURN(auto parts, SplitRelative(d.path, "linux.devices path"));
  auto parent = MkdirAllInRoot(env, root, parts, parts.size() - 1, 0755, kResolve);
  if (!parent.ok()) return parent.status().WithContext(what);
  const std::string& name = parts.back();
  const mode_t perm = (d.file_mode == 0 ? 0666 : d.file_mode) & 07777;
  const dev_t dev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
  auto existing = env->StatAt(*parent, name, AT_SYMLINK_NOFOLLOW);
  if (existing.ok()) {
    if (existing->mount_root) return Status::Ok();  // a bind the spec put there
    if (existing->is_dir()) return FailedPreconditionError(what + ": a directory is there");
    // The node an earlier container made in this rootfs (no /dev mount):
    // already what the spec asks for, so a read-only root is no obstacle.
    if (IsNode(*existing, type, dev, perm, d)) return Status::Ok();
    if (Status s = env->UnlinkAt(*parent, name, 0); !s.ok()) return NodeError(s, what);
  }
  Status made = env->MknodAt(*parent, name, type | perm, type == S_IFIFO ? 0 : dev);
  if (!made.ok()) return NodeError(made, what);
  // mknod applies the agent's umask; the spec's mode is exact.
  RETURN_IF_ERROR(env->ChmodAt(*parent, name, perm).WithContext(what));
  return env->ChownAt(*parent, name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW).WithContext(what);
}

Status MakeLink(sys::Env* env, const sys::Fd& dev, const std::string& name,
                const std::string& target) {
  Status s = env->SymlinkAt(target, dev, name);
  if (s.ok() || s.err() == EEXIST) return Status::Ok();
  return s.WithContext("link /dev/" + name);
}

}  // namespace

Status CreateDevices(sys::Env* env, const sys::Fd& root, const ContainerSpec& spec) {
  std::vector<SpecDevice> devices;
  for (const auto& d : DefaultDevices()) {
    bool overridden = false;
    for (const auto& s : spec.devices) overridden |= s.path == d.path;
    if (!overridden) devices.push_back(d);
  }
  devices.insert(devices.end(), spec.devices.begin(), spec.devices.end());
  for (const auto& d : devices) RETURN_IF_ERROR(MakeNode(env, root, d));
  ASSIGN_OR_RETURN(sys::Fd dev, MkdirAllInRoot(env, root, {"dev"}, 1, 0755, kResolve));
  RETURN_IF_ERROR(MakeLink(env, dev, "fd", "/proc/self/fd"));
  RETURN_IF_ERROR(MakeLink(env, dev, "stdin", "/proc/self/fd/0"));
  RETURN_IF_ERROR(MakeLink(env, dev, "stdout", "/proc/self/fd/1"));
  RETURN_IF_ERROR(MakeLink(env, dev, "stderr", "/proc/self/fd/2"));
  // The pty master of the container's own devpts instance.
  auto ptmx = env->StatAt(dev, "ptmx", AT_SYMLINK_NOFOLLOW);
  if (ptmx.ok() && !ptmx->mount_root && !ptmx->is_lnk()) {
    RETURN_IF_ERROR(env->UnlinkAt(dev, "ptmx", 0).WithContext("replace /dev/ptmx"));
  }
  return MakeLink(env, dev, "ptmx", "pts/ptmx");
}

}  // namespace vmshare::agent
