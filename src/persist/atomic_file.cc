#include "persist/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <charconv>

namespace vmshare::persist {
namespace {

constexpr char kTmpMarker[] = ".tmp.";

// Creates the temp file. A file of the same name can only be left by an
// earlier process that had our pid and crashed (callers of one process are
// serialized by the sandbox lock), so it is removed and the create retried once.
Result<sys::Fd> CreateTemp(sys::Env* env, const sys::Fd& dir, const std::string& tmp) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
  auto fd = env->OpenAt(dir, tmp, kFlags, 0600);
  if (fd.ok() || fd.status().err() != EEXIST) return fd;
  RETURN_IF_ERROR(env->UnlinkAt(dir, tmp, 0));
  return env->OpenAt(dir, tmp, kFlags, 0600);
}

}  // namespace

std::string TempSuffix(int pid) { return kTmpMarker + std::to_string(pid); }

Status WriteFileAtomic(sys::Env* env, const sys::Fd& dir, const std::string& name,
                       std::string_view data) {
  const std::string tmp = name + TempSuffix(env->GetPid());
  ASSIGN_OR_RETURN(sys::Fd fd, CreateTemp(env, dir, tmp));
  Status s = env->WriteAll(fd, data);
  if (s.ok()) s = env->Fsync(fd);
  fd.Reset();
  if (s.ok()) s = env->RenameAt(dir, tmp, dir, name);
  if (!s.ok()) {
    // The rename did not happen, so the temp file is ours to remove; its
    // unlink error would hide the cause and is dropped.
    env->UnlinkAt(dir, tmp, 0).IgnoreError();
    return s;
  }
  // The rename is durable only once the directory is.
  return env->Fsync(dir);
}

Result<std::string> ReadFileAt(sys::Env* env, const sys::Fd& dir, const std::string& name,
                               size_t limit) {
  ASSIGN_OR_RETURN(sys::Fd fd, env->OpenAt(dir, name, O_RDONLY | O_NOFOLLOW));
  return env->ReadAll(fd, limit);
}

Result<int> RemoveStaleTempFiles(sys::Env* env, const sys::Fd& dir) {
  ASSIGN_OR_RETURN(auto entries, env->ReadDir(dir));
  int removed = 0;
  for (const auto& e : entries) {
    const size_t at = e.name.rfind(kTmpMarker);
    if (at == std::string::npos || e.type == DT_DIR) continue;
    const std::string_view digits = std::string_view(e.name).substr(at + sizeof(kTmpMarker) - 1);
    int pid = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    const bool parsed = ec == std::errc() && end == digits.data() + digits.size() && pid > 0;
    // Signal 0 only probes: kNotFound (ESRCH) means no such process.
    if (parsed && env->KillPid(pid, 0).code() != Code::kNotFound) continue;
    Status s = env->UnlinkAt(dir, e.name, 0);
    if (!s.ok() && s.err() != ENOENT) return s;
    if (s.ok()) ++removed;
  }
  return removed;
}

}  // namespace vmshare::persist
