#include "sandbox/collect.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>

#include <charconv>
#include <set>

#include "core/ids.h"
#include "persist/processes.h"
#include "persist/remove_tree.h"
#include "persist/store.h"
#include "sandbox/layout.h"
#include "sys/mountinfo.h"

namespace vmshare::sandbox {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kStrictBeneath = sys::kResolveBeneath | sys::kResolveNoSymlinks | sys::kResolveNoMagiclinks;
// More detaches than this for one sandbox means something keeps mounting.
constexpr int kMaxUnmountRounds = 256;
constexpr milliseconds kKillWait{5000};

bool Exists(sys::Env* env, const std::string& path) {
  return env->StatAt(sys::Cwd(), path, AT_SYMLINK_NOFOLLOW).ok();
}

bool Under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

class Collector {
 public:
  Collector(sys::Env* env, const std::string& root, const std::string& sid, bool dry_run)
      : env_(env), root_(root), sid_(sid), dry_run_(dry_run), layout_(SandboxLayout::For(root, sid)),
        store_(env, layout_.state_root) {
    report_.sandbox_id = sid;
  }

  GcReport Run() {
    const bool have_state = Exists(env_, store_.SandboxDir(sid_));
    // A sandbox in Kata's layout records where its share tree is; the base
    // never changes while the sandbox exists, so an unlocked read is enough.
    if (have_state) {
      auto peek = store_.LoadSandbox(sid_);
      if (peek.ok() && !peek->sandbox.share_base.empty())
        layout_ = SandboxLayout::For(root_, sid_, peek->sandbox.share_base);
    }
    const bool have_tree = Exists(env_, layout_.tree.sandbox);
    const bool have_vm = Exists(env_, layout_.run_dir);
    if (!have_state && !have_tree && !have_vm) {
      report_.state = "missing";
      return std::move(report_);
    }
    if (!have_state && LiveRunner()) return std::move(report_);

    persist::SandboxLock lock;
    if (have_state || !dry_run_) {
      auto l = store_.Lock(sid_, persist::LockMode::kExclusive, /*nonblocking=*/true);
      if (!l.ok()) {
        if (l.status().code() == Code::kBusy) {
          report_.skipped = "in use: a live vmshare process holds its lock";
          return std::move(report_);
        }
        return Fail(l.status());
      }
      lock = std::move(*l);
    }

    std::optional<persist::SandboxRecord> rec;
    if (have_state) {
      auto r = store_.LoadSandbox(sid_);
      if (r.ok()) {
        report_.state = "recorded";
        rec = std::move(*r);
      } else {
        report_.state = r.status().code() == Code::kNotFound ? "missing" : "unreadable: " + r.status().ToString();
      }
    } else {
      report_.state = "missing";
    }

    if (rec) {
      KillProcesses(rec->sandbox);
      NoteOutsidePaths(*rec);
    }
    if (have_tree) Unmount();
    if (!report_.status.ok()) return std::move(report_);  // a directory may still hold a mount
    RemoveDir(layout_.tree.sandboxes, layout_.tree.sandbox);
    RemoveDir(layout_.vm_root, layout_.run_dir);
    if (report_.status.ok() && (have_state || lock.held())) {
      GcAction& a = Add("remove-state", store_.SandboxDir(sid_), "");
      if (!dry_run_) Apply(a, store_.DestroySandbox(sid_));
    }
    return std::move(report_);
  }

 private:
  GcAction& Add(std::string action, std::string object, std::string detail) {
    report_.actions.push_back(GcAction{std::move(action), std::move(object), std::move(detail), false, ""});
    return report_.actions.back();
  }
  void Apply(GcAction& a, const Status& s) {
    a.done = s.ok();
    if (!s.ok()) {
      a.error = s.ToString();
      if (report_.status.ok()) report_.status = s;
    }
  }
  GcReport Fail(const Status& s) {
    if (report_.status.ok()) report_.status = s;
    return std::move(report_);
  }

  // `vmshare run` names its sandbox run-<its pid>-<hex> and keeps no state:
  // while that pid lives, the tree may be in use.
  bool LiveRunner() {
    if (sid_.rfind("run-", 0) != 0) return false;
    const size_t dash = sid_.find('-', 4);
    int pid = 0;
    auto [p, ec] = std::from_chars(sid_.data() + 4, sid_.data() + (dash == std::string::npos ? sid_.size() : dash), pid);
    if (ec != std::errc() || pid <= 0) return false;
    if (!persist::ProcessStartTicks(env_, pid).ok()) return false;
    report_.skipped = "may belong to a live `vmshare run` (pid " + std::to_string(pid) + ")";
    return true;
  }

  void KillProcesses(const SandboxState& s) {
    for (const RecordedProcess& p : s.processes) {
      if (p.state != "running") continue;
      const std::string what = p.role + " pid " + std::to_string(p.pid);
      auto same = persist::IsSameProcess(env_, p);
      if (!same.ok()) {
        Apply(Add("kill", what, "cannot tell whether it is the recorded process"), same.status());
        continue;
      }
      if (!*same) {
        Add("ignore", what, "gone (or the pid now names another process): not killed");
        continue;
      }
      GcAction& a = Add("kill", what, "still the recorded process (same start time)");
      if (dry_run_) continue;
      Apply(a, KillSame(p));
    }
  }

  // Opens a pidfd first, then checks the start time again: if it still
  // matches, the pidfd names the recorded process (it was alive before the
  // pidfd was opened and after), so the signal cannot reach a newcomer.
  Status KillSame(const RecordedProcess& p) {
    auto child = env_->OpenProcess(p.pid);
    if (!child.ok()) return child.status().code() == Code::kNotFound ? Status::Ok() : child.status();
    ASSIGN_OR_RETURN(bool same, persist::IsSameProcess(env_, p));
    if (!same) return Status::Ok();
    Status s = env_->Kill(*child, SIGKILL);
    if (!s.ok()) return s.code() == Code::kNotFound ? Status::Ok() : s;
    ASSIGN_OR_RETURN(short ev, env_->PollOne(child->pidfd, POLLIN, kKillWait));
    if (ev == 0) return DeadlineExceededError("kill " + p.role + " pid " + std::to_string(p.pid) + ": still running");
    return Status::Ok();
  }

  void NoteOutsidePaths(const persist::SandboxRecord& rec) {
    for (const auto& [cid, c] : rec.containers) {
      std::vector<const Mount*> ms{&c.rootfs};
      for (const Mount& m : c.mounts) ms.push_back(&m);
      for (const Mount* m : ms) {
        if (!m->host_path.empty() && !Under(m->host_path, layout_.tree.sandbox))
          Add("ignore", m->host_path, "recorded for container \"" + cid + "\" but outside the sandbox tree: not touched");
      }
    }
  }

  // Opens the mount point at `target` (inside the tree) without following
  // any symlink, and checks it is the root of mount `id`.
  Result<sys::Fd> OpenMountRoot(const sys::Fd& tree, const sys::MountEntry& e) {
    std::string rel = e.target.substr(layout_.tree.sandbox.size());
    while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
    if (rel.empty()) rel = ".";
    ASSIGN_OR_RETURN(sys::Fd fd, env_->OpenAt2(tree, rel, O_PATH | O_NOFOLLOW, 0, kStrictBeneath));
    ASSIGN_OR_RETURN(sys::FileInfo info, env_->StatAt(fd, "", AT_EMPTY_PATH));
    if (!info.mount_root || (info.mnt_id != 0 && info.mnt_id != static_cast<uint64_t>(e.id)))
      return FailedPreconditionError("unmount \"" + e.target + "\": the path no longer leads to that mount");
    return fd;
  }

  Result<sys::Fd> OpenTree() {
    ASSIGN_OR_RETURN(sys::Fd base, env_->OpenAt(sys::Cwd(), layout_.tree.sandboxes, O_PATH | O_DIRECTORY | O_NOFOLLOW));
    return env_->OpenAt2(base, sid_, O_PATH | O_DIRECTORY, 0, kStrictBeneath);
  }

  // Detaches every mount in the tree, parents first (a lazy detach takes the
  // mounts below along, which is also the cheap order: DESIGN's costs).
  void Unmount() {
    auto tree = OpenTree();
    if (!tree.ok()) {
      Apply(Add("unmount", layout_.tree.sandbox, "open the sandbox tree without following symlinks"), tree.status());
      return;
    }
    std::set<int> tried;
    for (int round = 0; round < kMaxUnmountRounds; ++round) {
      auto table = sys::ReadMountTable();
      if (!table.ok()) {
        Apply(Add("unmount", layout_.tree.sandbox, "read the mount table"), table.status());
        return;
      }
      std::vector<sys::MountEntry> left = sys::MountsUnder(*table, layout_.tree.sandbox);
      if (left.empty()) return;
      if (dry_run_) {
        std::set<int> ids;
        for (const auto& e : left) ids.insert(e.id);
        for (const auto& e : left) {
          // Only the topmost ones: each takes its submounts along.
          if (!ids.count(e.parent_id)) Add("unmount", e.target, e.fstype + " mount " + std::to_string(e.id));
        }
        return;
      }
      bool progressed = false;
      Status last;
      for (const auto& e : left) {
        if (tried.count(e.id)) continue;
        tried.insert(e.id);
        auto fd = OpenMountRoot(*tree, e);
        if (!fd.ok()) {
          last = fd.status();
          continue;
        }
        GcAction& a = Add("unmount", e.target, e.fstype + " mount " + std::to_string(e.id));
        Apply(a, env_->UnmountFd(*fd, MNT_DETACH));
        progressed = a.done;
        break;
      }
      if (!progressed) {
        std::string names;
        for (const auto& e : left) names += (names.empty() ? "" : ", ") + Quote(e.target);
        Apply(Add("unmount", layout_.tree.sandbox, "mounts left: " + names),
              FailedPreconditionError("unmount in \"" + layout_.tree.sandbox + "\": cannot safely reach " + names +
                                      (last.ok() ? "" : " (" + last.ToString() + ")")));
        return;
      }
    }
  }

  void RemoveDir(const std::string& parent, const std::string& path) {
    if (!Exists(env_, path)) return;
    GcAction& a = Add("remove", path, "without crossing a mount boundary");
    if (dry_run_) return;
    auto dir = env_->OpenAt(sys::Cwd(), parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dir.ok()) return Apply(a, dir.status());
    Apply(a, persist::RemoveTreeAt(env_, *dir, parent, sid_));
  }

  sys::Env* env_;
  std::string root_;
  std::string sid_;
  bool dry_run_;
  SandboxLayout layout_;  // the default share base until the record says otherwise
  persist::StateStore store_;
  GcReport report_;
};

void AddIds(sys::Env* env, const std::string& dir, std::set<std::string>* out) {
  auto fd = env->OpenAt(sys::Cwd(), dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return;
  auto entries = env->ReadDir(*fd);
  if (!entries.ok()) return;
  for (const auto& e : *entries) {
    auto info = env->StatAt(*fd, e.name, AT_SYMLINK_NOFOLLOW);
    if (info.ok() && info->is_dir() && ValidateId("sandbox", e.name).ok()) out->insert(e.name);
  }
}

}  // namespace

GcReport CollectSandbox(sys::Env* env, const std::string& root, const std::string& sid, bool dry_run) {
  return Collector(env, root, sid, dry_run).Run();
}

Result<std::vector<std::string>> GcCandidates(sys::Env* env, const std::string& root) {
  persist::StateStore store(env, StateRootOf(root));
  ASSIGN_OR_RETURN(auto listed, store.ListSandboxes());
  std::set<std::string> ids(listed.begin(), listed.end());
  AddIds(env, DefaultShareBaseOf(root), &ids);
  AddIds(env, VmRootOf(root), &ids);
  return std::vector<std::string>(ids.begin(), ids.end());
}

}  // namespace vmshare::sandbox
