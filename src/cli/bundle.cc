#include "cli/bundle.h"

#include <fcntl.h>

namespace vmshare::cli {

Result<Bundle> ParseBundleConfig(std::string_view text, const std::string& dir,
                                 const std::string& name) {
  ASSIGN_OR_RETURN(oci::Config c, oci::ParseConfig(text, name, oci::Policy::kRun));
  Bundle b;
  b.dir = dir;
  b.rootfs = c.root_path[0] == '/' ? c.root_path : dir + "/" + c.root_path;
  b.rootfs_readonly = c.root_readonly;
  b.process = std::move(c.process);
  b.mounts = std::move(c.mounts);
  b.oci = std::move(c.spec);
  if (b.process.terminal) {
    b.notices.push_back(
        "process.terminal is ignored: vmshare run relays stdin, stdout and stderr on pipes");
  }
  for (std::string& n : c.notices) b.notices.push_back(std::move(n));
  return b;
}

Result<Bundle> ReadBundle(sys::Env* env, const std::string& dir) {
  auto dir_fd = env->OpenAt(sys::Cwd(), dir, O_PATH | O_DIRECTORY);
  if (!dir_fd.ok()) {
    if (dir_fd.status().code() == Code::kNotFound)
      return NotFoundError("read OCI bundle \"" + dir + "\": no such directory");
    return dir_fd.status().WithContext("read OCI bundle");
  }
  // Relative root paths are relative to the bundle, so pin it down once.
  ASSIGN_OR_RETURN(const std::string abs_dir, env->FdPath(*dir_fd));
  const std::string name = abs_dir + "/config.json";
  auto fd = env->OpenAt(*dir_fd, "config.json", O_RDONLY | O_NOCTTY | O_NOFOLLOW);
  if (!fd.ok()) {
    if (fd.status().code() == Code::kNotFound)
      return NotFoundError("read OCI bundle \"" + dir + "\": no config.json");
    return fd.status().WithContext("read OCI bundle");
  }
  ASSIGN_OR_RETURN(std::string text, env->ReadAll(*fd, kMaxConfigBytes));
  return ParseBundleConfig(text, abs_dir, name);
}

}  // namespace vmshare::cli
