#include "persist/store.h"

#include <dirent.h>
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <optional>
#include <utility>

#include "core/ids.h"
#include "persist/atomic_file.h"
#include "persist/remove_tree.h"
#include "persist/schema.h"

namespace vmshare::persist {
namespace {

constexpr mode_t kDirMode = 0700;
// persist.json files are a few KiB; anything much larger is not ours.
constexpr size_t kMaxDocument = 16 << 20;
constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

std::string SandboxMissing(const std::string& sid) {
  return "sandbox " + Quote(sid) + " does not exist";
}

std::string ContainerMissing(const std::string& sid, const std::string& cid) {
  return "container " + Quote(cid) + " does not exist in sandbox " + Quote(sid);
}

// Creates dir/name (0700). Returns true when it made it, false when it existed.
Result<bool> MakeDir(sys::Env* env, const sys::Fd& dir, const std::string& name) {
  Status s = env->MkdirAt(dir, name, kDirMode);
  if (s.ok()) return true;
  if (s.err() == EEXIST) return false;
  return s;
}

// mkdir -p of an absolute or relative path.
Status MakeDirs(sys::Env* env, const std::string& path) {
  for (size_t at = path.find('/', 1);; at = path.find('/', at + 1)) {
    const std::string prefix = path.substr(0, at);
    if (!prefix.empty()) RETURN_IF_ERROR(MakeDir(env, sys::Cwd(), prefix));
    if (at == std::string::npos) return Status::Ok();
  }
}

// The text of dir/persist.json; nullopt when the file does not exist.
Result<std::optional<std::string>> ReadText(sys::Env* env, const sys::Fd& dir) {
  auto text = ReadFileAt(env, dir, kPersistFile, kMaxDocument);
  if (!text.ok()) {
    if (text.status().err() == ENOENT) return std::optional<std::string>();
    return text.status();
  }
  return std::optional<std::string>(std::move(text).value());
}

// Rewrites dir/persist.json with encode(previous text or null). A previous
// document that does not parse stops the save: it is never silently
// replaced.
Status SaveDocument(sys::Env* env, const sys::Fd& dir, const std::string& path,
                    const std::function<Result<std::string>(const std::string*)>& encode) {
  ASSIGN_OR_RETURN(std::optional<std::string> base, ReadText(env, dir));
  ASSIGN_OR_RETURN(std::string bytes, encode(base ? &*base : nullptr));
  return WriteFileAtomic(env, dir, kPersistFile, bytes).WithContext("save \"" + path + "\"");
}

// The two paths of a container's document, rebuilt in place for each
// container of a load (their buffers are reused, not reallocated).
struct ContainerPaths {
  std::string in_sandbox;  // <cid>/persist.json
  std::string full;        // <sandbox dir>/<cid>/persist.json, for messages

  void Set(const std::string& sandbox_path, const std::string& cid) {
    in_sandbox.assign(cid).append("/").append(kPersistFile);
    full.assign(sandbox_path).append("/").append(in_sandbox);
  }
};

// <cid>/persist.json below the sandbox directory, opened without following
// a symlink anywhere on the way (one openat2; two opens without it).
Result<sys::Fd> OpenContainerFile(sys::Env* env, const sys::Fd& sandbox_dir, const std::string& cid,
                                  const ContainerPaths& paths) {
  auto fd = env->OpenAt2(sandbox_dir, paths.in_sandbox, O_RDONLY, 0,
                         sys::kResolveNoSymlinks | sys::kResolveBeneath);
  const int err = fd.ok() ? 0 : fd.status().err();
  if (err != ENOSYS && err != EPERM && err != EINVAL) return fd;
  ASSIGN_OR_RETURN(sys::Fd dir, env->OpenAt(sandbox_dir, cid, kDirFlags));
  return env->OpenAt(dir, kPersistFile, O_RDONLY | O_NOFOLLOW);
}

// REQUIRES: `paths` were Set for `cid`.
Result<ContainerState> LoadContainerAt(sys::Env* env, const sys::Fd& sandbox_dir,
                                       const std::string& cid, const ContainerPaths& paths,
                                       bool* missing) {
  *missing = false;
  auto fd = OpenContainerFile(env, sandbox_dir, cid, paths);
  if (!fd.ok()) {
    if (fd.status().err() != ENOENT) return fd.status();
    *missing = true;
    return NotFoundError(cid);
  }
  ASSIGN_OR_RETURN(std::string text, env->ReadAll(*fd, kMaxDocument));
  fd->Reset();
  return DecodeContainer(text, paths.full);
}

}  // namespace

StateStore::StateStore(sys::Env* env, std::string state_root)
    : env_(env), root_(std::move(state_root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Result<sys::Fd> StateStore::OpenSandboxDir(const std::string& sid) {
  auto dir = env_->OpenAt(sys::Cwd(), SandboxDir(sid), kDirFlags);
  if (!dir.ok() && dir.status().err() == ENOENT) return NotFoundError(SandboxMissing(sid));
  return dir;
}

Status StateStore::EnsureSandboxDir(const std::string& sid) {
  RETURN_IF_ERROR(MakeDirs(env_, root_));
  ASSIGN_OR_RETURN(sys::Fd root, env_->OpenAt(sys::Cwd(), root_, kDirFlags));
  ASSIGN_OR_RETURN(bool made, MakeDir(env_, root, sid));
  // A new directory entry is durable once its parent is synced.
  if (made) RETURN_IF_ERROR(env_->Fsync(root));
  return Status::Ok();
}

Status StateStore::SaveSandbox(const std::string& sid, const SandboxState& state) {
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  RETURN_IF_ERROR(EnsureSandboxDir(sid));
  ASSIGN_OR_RETURN(sys::Fd dir, OpenSandboxDir(sid));
  const std::string path = SandboxDir(sid) + "/" + kPersistFile;
  return SaveDocument(env_, dir, path,
                      [&](const std::string* base) { return EncodeSandbox(state, base, path); });
}

Status StateStore::SaveContainer(const std::string& sid, const std::string& cid,
                                 const ContainerState& state) {
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  RETURN_IF_ERROR(ValidateId("container", cid));
  ASSIGN_OR_RETURN(sys::Fd sandbox_dir, OpenSandboxDir(sid));
  auto opened = env_->OpenAt(sandbox_dir, cid, kDirFlags);
  if (!opened.ok() && opened.status().err() == ENOENT) {
    ASSIGN_OR_RETURN(bool made, MakeDir(env_, sandbox_dir, cid));
    if (made) RETURN_IF_ERROR(env_->Fsync(sandbox_dir));
    opened = env_->OpenAt(sandbox_dir, cid, kDirFlags);
  }
  ASSIGN_OR_RETURN(sys::Fd dir, std::move(opened));
  const std::string path = SandboxDir(sid) + "/" + cid + "/" + kPersistFile;
  return SaveDocument(env_, dir, path,
                      [&](const std::string* base) { return EncodeContainer(state, base, path); });
}

Result<SandboxRecord> StateStore::LoadSandbox(const std::string& sid) {
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  ASSIGN_OR_RETURN(sys::Fd dir, OpenSandboxDir(sid));
  const std::string path = SandboxDir(sid) + "/" + kPersistFile;
  ASSIGN_OR_RETURN(std::optional<std::string> text, ReadText(env_, dir));
  if (!text) return NotFoundError(SandboxMissing(sid));
  SandboxRecord record;
  ASSIGN_OR_RETURN(record.sandbox, DecodeSandbox(*text, path));

  ASSIGN_OR_RETURN(auto entries, env_->ReadDir(dir));
  const std::string sandbox_path = SandboxDir(sid);
  ContainerPaths paths;
  for (auto& e : entries) {
    if (e.type != DT_DIR && e.type != DT_UNKNOWN) continue;
    // Only valid ids can be containers; anything else is not ours to read.
    if (!ValidateId("container", e.name).ok()) continue;
    bool missing = false;
    paths.Set(sandbox_path, e.name);
    auto state = LoadContainerAt(env_, dir, e.name, paths, &missing);
    if (missing) continue;
    // A non-directory of DT_UNKNOWN type fails to open as a directory.
    if (!state.ok() && state.status().err() == ENOTDIR) continue;
    if (!state.ok()) return state.status();
    record.containers.emplace_hint(record.containers.end(), std::move(e.name),
                                   std::move(state).value());
  }
  return record;
}

Result<SandboxState> StateStore::LoadSandboxState(const std::string& sid) {
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  ASSIGN_OR_RETURN(sys::Fd dir, OpenSandboxDir(sid));
  ASSIGN_OR_RETURN(std::optional<std::string> text, ReadText(env_, dir));
  if (!text) return NotFoundError(SandboxMissing(sid));
  return DecodeSandbox(*text, SandboxDir(sid) + "/" + kPersistFile);
}

Result<ContainerState> StateStore::LoadContainer(const std::string& sid, const std::string& cid) {
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  RETURN_IF_ERROR(ValidateId("container", cid));
  ASSIGN_OR_RETURN(sys::Fd dir, OpenSandboxDir(sid));
  bool missing = false;
  ContainerPaths paths;
  paths.Set(SandboxDir(sid), cid);
  auto state = LoadContainerAt(env_, dir, cid, paths, &missing);
  if (missing) return NotFoundError(ContainerMissing(sid, cid));
  return state;
}

Status StateStore::RemoveContainer(const std::string& sid, const std::string& cid) {
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  RETURN_IF_ERROR(ValidateId("container", cid));
  auto dir = OpenSandboxDir(sid);
  if (!dir.ok()) return dir.status().code() == Code::kNotFound ? Status::Ok() : dir.status();
  return RemoveTreeAt(env_, *dir, SandboxDir(sid), cid);
}

Status StateStore::DestroySandbox(const std::string& sid) {
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  auto root = env_->OpenAt(sys::Cwd(), root_, kDirFlags);
  if (!root.ok()) return root.status().err() == ENOENT ? Status::Ok() : root.status();
  return RemoveTreeAt(env_, *root, root_, sid);
}

Result<std::vector<std::string>> StateStore::ListSandboxes() {
  auto root = env_->OpenAt(sys::Cwd(), root_, kDirFlags);
  if (!root.ok()) {
    if (root.status().err() == ENOENT) return std::vector<std::string>();
    return root.status();
  }
  ASSIGN_OR_RETURN(auto entries, env_->ReadDir(*root));
  std::vector<std::string> out;
  for (const auto& e : entries) {
    if (e.type != DT_DIR && e.type != DT_UNKNOWN) continue;
    if (!ValidateId("sandbox", e.name).ok()) continue;
    auto info = env_->StatAt(*root, e.name, AT_SYMLINK_NOFOLLOW);
    if (info.ok() && info->is_dir()) out.push_back(e.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<SandboxLock> StateStore::Lock(const std::string& sid, LockMode mode, bool nonblocking) {
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  RETURN_IF_ERROR(EnsureSandboxDir(sid));
  ASSIGN_OR_RETURN(
      SandboxLock lock,
      SandboxLock::Acquire(env_, SandboxDir(sid), "sandbox " + Quote(sid), mode, nonblocking));
  if (mode == LockMode::kExclusive) RETURN_IF_ERROR(SweepTempFiles(sid));
  return lock;
}

Status StateStore::SweepTempFiles(const std::string& sid) {
  RETURN_IF_ERROR(ValidateId("sandbox", sid));
  auto dir = OpenSandboxDir(sid);
  if (!dir.ok()) return dir.status().code() == Code::kNotFound ? Status::Ok() : dir.status();
  RETURN_IF_ERROR(RemoveStaleTempFiles(env_, *dir).status());
  ASSIGN_OR_RETURN(auto entries, env_->ReadDir(*dir));
  for (const auto& e : entries) {
    if (e.type != DT_DIR && e.type != DT_UNKNOWN) continue;
    if (!ValidateId("container", e.name).ok()) continue;
    auto cdir = env_->OpenAt(*dir, e.name, kDirFlags);
    if (!cdir.ok()) continue;  // gone, or not a directory: nothing of ours
    RETURN_IF_ERROR(RemoveStaleTempFiles(env_, *cdir).status());
  }
  return Status::Ok();
}

}  // namespace vmshare::persist
