#include "share/watcher_sync.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "agent/vmshare_client.h"
#include "core/ids.h"
#include "share/watcher_batch.h"

namespace vmshare::share {
namespace {

constexpr char kData[] = "..data";
constexpr char kDataTmp[] = "..data_tmp";

std::string Parent(const std::string& path) { return path.substr(0, path.rfind('/')); }

bool IsPayloadName(const std::string& name) {
  return name.size() > 2 && name.compare(0, 2, "..") == 0;
}

// A single relative component, as the kubelet writes ..data's target.
bool IsPlainName(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

}  // namespace

Status VolumeSync::Rescan(agent::AgentClient* agent) {
  agent::VmshareClient vm(agent);
  const std::string area = Parent(guest_dir_);
  ASSIGN_OR_RETURN(sys::Fd host,
                   env_->OpenAt(sys::Cwd(), host_dir_, O_PATH | O_DIRECTORY | O_NOFOLLOW));
  ASSIGN_OR_RETURN(sys::FileInfo root, env_->StatAt(host, "", AT_EMPTY_PATH));
  RETURN_IF_ERROR(vm.MountTmpfs(area));
  agent::CopyFileRequest dir;
  dir.path = guest_dir_;
  dir.file_mode = root.mode;
  dir.dir_mode = 0755;
  dir.uid = static_cast<int32_t>(root.uid);
  dir.gid = static_cast<int32_t>(root.gid);
  RETURN_IF_ERROR(agent->CopyFile(dir));
  // CopyFile chowned the tmpfs root to the volume's owner; give it back.
  if (root.uid != 0 || root.gid != 0) RETURN_IF_ERROR(vm.MountTmpfs(area));
  ASSIGN_OR_RETURN(auto entries, vm.ReadDir(guest_dir_));
  guest_ = Layout{};
  complete_.clear();
  for (const auto& e : entries) {
    Entry entry{e.mode, e.uid, e.gid, e.link_target};
    if (e.name == kData) {
      guest_.data_target = e.link_target;
    } else if (e.name == kDataTmp) {
      guest_.stray_tmp = true;
    } else if (IsPayloadName(e.name)) {
      guest_.payload_dirs.insert(e.name);
    } else {
      guest_.keys[e.name] = entry;
    }
  }
  known_ = true;
  return Status::Ok();
}

Status VolumeSync::Sync(agent::AgentClient* agent, bool rescan) {
  const std::string context = "sync volume " + Quote(host_dir_) + " to " + Quote(guest_dir_);
  if (agent == nullptr) return UnavailableError(context + ": no guest agent connection");
  auto host = env_->OpenAt(sys::Cwd(), host_dir_, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!host.ok()) return host.status().WithContext(context);
  if (rescan || !known_) {
    if (Status s = Rescan(agent); !s.ok()) {
      known_ = false;
      return s.WithContext(context);
    }
  }
  Layout want;
  auto names = env_->ReadDir(*host);
  if (!names.ok()) return names.status().WithContext(context);
  for (const auto& n : *names) {
    auto info = env_->StatAt(*host, n.name, AT_SYMLINK_NOFOLLOW);
    if (!info.ok()) continue;  // gone meanwhile; the next event says so
    Entry e{info->mode, info->uid, info->gid, ""};
    if (info->is_lnk()) {
      auto target = env_->ReadlinkAt(*host, n.name);
      if (!target.ok()) continue;
      e.link_target = *target;
    }
    if (n.name == kData) {
      if (!IsPlainName(e.link_target))
        return InvalidArgumentError(context + ": ..data points at " + Quote(e.link_target) +
                                    ", not at a directory of the volume");
      want.data_target = e.link_target;
    } else if (n.name == kDataTmp) {
      continue;
    } else if (IsPayloadName(n.name)) {
      want.payload_dirs.insert(n.name);
    } else {
      want.keys[n.name] = e;
    }
  }
  Status s = ApplyInOneBatch(agent, *host, want);
  if (!s.ok()) {
    known_ = false;  // the guest is somewhere in between: list it again
    return s.WithContext(context);
  }
  return Status::Ok();
}

// Where Apply's steps go.
class VolumeSync::Steps {
 public:
  virtual ~Steps() = default;
  // Copies the host entry `name` of `host` to `dest`; false when these
  // steps cannot take it.
  virtual Result<bool> Copy(const sys::Fd& host, const std::string& name,
                            const std::string& host_path, const std::string& dest) = 0;
  virtual Status CopyFile(agent::CopyFileRequest r) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Remove(const std::string& path, bool recursive) = 0;
};

// Each step its own call (payloads pipelined by a TreeCopier).
class VolumeSync::DirectSteps final : public Steps {
 public:
  DirectSteps(sys::Env* env, agent::AgentClient* agent, TreeCopier::Progress progress)
      : agent_(agent), vm_(agent), copier_(env, agent, std::move(progress)) {}
  Result<bool> Copy(const sys::Fd& host, const std::string& name, const std::string& host_path,
                    const std::string& dest) override {
    RETURN_IF_ERROR(copier_.CopyEntry(host, name, host_path, dest).status());
    return true;
  }
  Status CopyFile(agent::CopyFileRequest r) override { return agent_->CopyFile(r); }
  Status Rename(const std::string& from, const std::string& to) override {
    return vm_.Rename(from, to);
  }
  Status Remove(const std::string& path, bool recursive) override {
    return vm_.Remove(path, recursive);
  }

 private:
  agent::AgentClient* agent_;
  agent::VmshareClient vm_;
  TreeCopier copier_;
};

// Every step into one Batch, sent by Send: the usual kubelet update is one
// round trip.
class VolumeSync::BatchSteps final : public Steps {
 public:
  explicit BatchSteps(sys::Env* env) : tree_(env, kMaxBatchBytes, agent::kMaxBatchOps) {}
  Result<bool> Copy(const sys::Fd& host, const std::string& name, const std::string&,
                    const std::string& dest) override {
    return tree_.Append(host, name, dest, &ops_);
  }
  Status CopyFile(agent::CopyFileRequest r) override {
    ops_.emplace_back(std::move(r));
    return Status::Ok();
  }
  Status Rename(const std::string& from, const std::string& to) override {
    ops_.emplace_back(agent::RenameRequest{from, to});
    return Status::Ok();
  }
  Status Remove(const std::string& path, bool recursive) override {
    ops_.emplace_back(agent::RemoveRequest{path, recursive});
    return Status::Ok();
  }
  Status Send(agent::AgentClient* agent) {
    if (ops_.empty()) return Status::Ok();
    return agent::VmshareClient(agent).Batch(ops_);
  }

 private:
  // What one batch may carry: a kubelet payload is rarely more than a few KiB.
  static constexpr uint64_t kMaxBatchBytes = 1 << 20;
  BatchTree tree_;
  std::vector<agent::BatchOp> ops_;
};

Status VolumeSync::ApplyInOneBatch(agent::AgentClient* agent, const sys::Fd& host,
                                   const Layout& want) {
  // Planned on copies of what we know of the guest: a payload too big for
  // one batch is copied step by step instead, from the same state.
  const Layout guest = guest_;
  const std::set<std::string> complete = complete_;
  const SyncStats stats = stats_;
  BatchSteps batch(env_);
  ASSIGN_OR_RETURN(bool planned, Apply(batch, host, want));
  if (planned) {
    RETURN_IF_ERROR(batch.Send(agent));
    if (stats_.syncs != stats.syncs) ++stats_.batched;
    return Status::Ok();
  }
  guest_ = guest;
  complete_ = complete;
  stats_ = stats;
  DirectSteps direct(env_, agent, progress_);
  return Apply(direct, host, want).status();
}

Result<bool> VolumeSync::Apply(Steps& steps, const sys::Fd& host, const Layout& want) {
  const auto guest = [&](const std::string& name) { return guest_dir_ + "/" + name; };
  bool changed = false;

  // 1. The payload ..data points at.
  if (!want.data_target.empty() && !complete_.contains(want.data_target)) {
    ASSIGN_OR_RETURN(bool taken,
                     steps.Copy(host, want.data_target, host_dir_ + "/" + want.data_target,
                                guest(want.data_target)));
    if (!taken) return false;
    complete_.insert(want.data_target);
    guest_.payload_dirs.insert(want.data_target);
    changed = true;
  }
  // 2. Keys the guest lacks (or holds differently).
  for (const auto& [name, e] : want.keys) {
    auto have = guest_.keys.find(name);
    const bool is_link = S_ISLNK(e.mode);
    if (is_link && have != guest_.keys.end() && S_ISLNK(have->second.mode) &&
        have->second.link_target == e.link_target)
      continue;
    if (!is_link && have != guest_.keys.end() && S_ISLNK(have->second.mode))
      RETURN_IF_ERROR(steps.Remove(guest(name), /*recursive=*/false));
    ASSIGN_OR_RETURN(bool taken, steps.Copy(host, name, host_dir_ + "/" + name, guest(name)));
    if (!taken) return false;
    guest_.keys[name] = e;
    changed = true;
  }
  // 3. The atomic switch.
  if (!want.data_target.empty() && guest_.data_target != want.data_target) {
    agent::CopyFileRequest link;
    link.path = guest(kDataTmp);
    link.file_mode = S_IFLNK | 0777;
    link.dir_mode = 0755;
    link.data = want.data_target;
    RETURN_IF_ERROR(steps.CopyFile(std::move(link)));
    RETURN_IF_ERROR(steps.Rename(guest(kDataTmp), guest(kData)));
    guest_.data_target = want.data_target;
    ++stats_.switches;
    changed = true;
  } else if (want.data_target.empty() && !guest_.data_target.empty()) {
    RETURN_IF_ERROR(steps.Remove(guest(kData), /*recursive=*/false));
    guest_.data_target.clear();
    changed = true;
  }
  // 4. Keys the host no longer has.
  for (auto it = guest_.keys.begin(); it != guest_.keys.end();) {
    if (want.keys.contains(it->first)) {
      ++it;
      continue;
    }
    RETURN_IF_ERROR(steps.Remove(guest(it->first), /*recursive=*/!S_ISLNK(it->second.mode)));
    it = guest_.keys.erase(it);
    changed = true;
  }
  // 5. Old payload directories.
  for (auto it = guest_.payload_dirs.begin(); it != guest_.payload_dirs.end();) {
    if (*it == guest_.data_target) {
      ++it;
      continue;
    }
    RETURN_IF_ERROR(steps.Remove(guest(*it), /*recursive=*/true));
    complete_.erase(*it);
    it = guest_.payload_dirs.erase(it);
    changed = true;
  }
  if (guest_.stray_tmp) {
    RETURN_IF_ERROR(steps.Remove(guest(kDataTmp), /*recursive=*/false));
    guest_.stray_tmp = false;
  }
  if (changed) ++stats_.syncs;
  return true;
}

}  // namespace vmshare::share
