#include "agent/server/in_root.h"

#include <fcntl.h>

#include "core/ids.h"

namespace vmshare::agent {

Result<std::vector<std::string>> SplitRelative(std::string_view path, std::string_view what) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    if (c == "..") {
      return InvalidArgumentError(std::string(what) + " " + Quote(path) +
                                  ": \"..\" components are not allowed");
    }
    if (!c.empty() && c != ".") parts.emplace_back(c);
    i = j + 1;
  }
  return parts;
}

std::string JoinComponents(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < parts.size(); ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

Result<sys::Fd> MkdirAllInRoot(sys::Env* env, const sys::Fd& root,
                               const std::vector<std::string>& parts, size_t n, mode_t mode,
                               uint64_t resolve) {
  ASSIGN_OR_RETURN(sys::Fd cur, env->OpenAt2(root, ".", O_PATH | O_DIRECTORY, 0, resolve));
  for (size_t i = 0; i < n; ++i) {
    const std::string prefix = JoinComponents(parts, i + 1);
    auto next = env->OpenAt2(root, prefix, O_PATH | O_DIRECTORY, 0, resolve);
    if (!next.ok() && next.status().err() == ENOENT) {
      Status made = env->MkdirAt(cur, parts[i], mode);
      if (!made.ok() && made.err() != EEXIST) return made;
      next = env->OpenAt2(root, prefix, O_PATH | O_DIRECTORY, 0, resolve);
    }
    if (!next.ok()) return next.status();
    cur = std::move(next).value();
  }
  return cur;
}

Result<sys::Fd> EnsureInRoot(sys::Env* env, const sys::Fd& root,
                             const std::vector<std::string>& parts, bool is_dir) {
  constexpr uint64_t kResolve = sys::kResolveInRoot | sys::kResolveNoMagiclinks;
  if (parts.empty()) {
    if (!is_dir) return InvalidArgumentError("mount target is the container root itself");
    return env->OpenAt2(root, ".", O_PATH | O_DIRECTORY, 0, kResolve);
  }
  ASSIGN_OR_RETURN(sys::Fd parent,
                   MkdirAllInRoot(env, root, parts, parts.size() - 1, 0755, kResolve));
  const std::string full = JoinComponents(parts, parts.size());
  if (is_dir) {
    // mkdir first, then resolve: a missing mount point (the usual case when
    // the bundle does not list it) costs one lookup less, which on a
    // virtio-fs rootfs is one round trip to the host less per mount. mkdirat
    // never follows the final component (an existing symlink is EEXIST and
    // then resolved in the root like any other entry).
    Status made = env->MkdirAt(parent, parts.back(), 0755);
    if (!made.ok() && made.err() != EEXIST) return made;
    return env->OpenAt2(root, full, O_PATH | O_DIRECTORY, 0, kResolve);
  }
  auto existing = env->OpenAt2(root, full, O_PATH, 0, kResolve);
  if (existing.ok()) return existing;
  if (existing.status().err() != ENOENT) return existing.status();
  // O_NOFOLLOW: a dangling symlink here is refused rather than created through.
  auto made = env->OpenAt(parent, parts.back(), O_WRONLY | O_CREAT | O_NOFOLLOW, 0644);
  if (!made.ok() && made.status().err() != EEXIST) return made.status();
  return env->OpenAt2(root, full, O_PATH, 0, kResolve);
}

Status MkdirAll(sys::Env* env, const std::string& path, mode_t mode) {
  if (path.empty() || path[0] != '/') {
    return InvalidArgumentError("mkdir " + Quote(path) + ": not an absolute path");
  }
  std::string cur;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) {
      // Appended in place: `"/" + path.substr(...)` makes GCC 12 at -O3 warn
      // (a false -Wrestrict inside std::string).
      cur += '/';
      cur.append(path, i, j - i);
      Status s = env->MkdirAt(sys::Cwd(), cur, mode);
      if (!s.ok() && s.err() != EEXIST) return s;
    }
    i = j + 1;
  }
  return Status::Ok();
}

}  // namespace vmshare::agent
