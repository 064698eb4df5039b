#include "vm/guest_image.h"

#include <fcntl.h>

#include <cstdlib>
#include <filesystem>

#include "core/ids.h"

#if !defined(VMSHARE_GUEST_DIR) || !defined(VMSHARE_BUILD_DIR) || \
    !defined(VMSHARE_INSTALLED_GUEST_DIR) || !defined(VMSHARE_BIN_TO_GUEST)
#error "VMSHARE_GUEST_DIR and the install locations must be defined by the build"
#endif

namespace vmshare::vm {
namespace {

bool IsFile(sys::Env* env, const std::string& path) {
  Result<sys::FileInfo> info = env->StatAt(sys::Cwd(), path, 0);
  return info.ok() && info->is_reg();
}

bool Under(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

Result<GuestImage> ImageIn(sys::Env* env, const std::string& d, const std::string& also_looked) {
  GuestImage image{d + "/vmlinuz", d + "/initramfs.img", ""};
  if (IsFile(env, d + "/vmlinux")) image.kernel = d + "/vmlinux";
  if (IsFile(env, kQbootPath)) image.firmware = kQbootPath;
  for (const std::string* f : {&image.kernel, &image.initrd}) {
    Result<sys::FileInfo> info = env->StatAt(sys::Cwd(), *f, 0);
    if (!info.ok())
      return Status(info.status().code(),
                    "find guest image " + Quote(*f) + ": " + info.status().message() + also_looked +
                        " (build the guest_image target, or install vmshare)",
                    info.status().err());
    if (!info->is_reg())
      return InvalidArgumentError("find guest image " + Quote(*f) + ": not a file");
  }
  return image;
}

}  // namespace

std::string BuiltinGuestDir() { return VMSHARE_GUEST_DIR; }

std::vector<std::string> InstalledGuestDirs(const std::string& exe) {
  std::vector<std::string> dirs;
  if (const size_t slash = exe.rfind('/'); slash != std::string::npos && slash > 0)
    dirs.push_back(
        (std::filesystem::path(exe.substr(0, slash)) / VMSHARE_BIN_TO_GUEST).lexically_normal());
  if (dirs.empty() || dirs[0] != VMSHARE_INSTALLED_GUEST_DIR)
    dirs.push_back(VMSHARE_INSTALLED_GUEST_DIR);
  return dirs;
}

std::vector<std::string> DefaultGuestDirs(const std::string& exe, const char* from_env) {
  if (from_env != nullptr && *from_env != '\0') return {from_env};
  std::vector<std::string> dirs = InstalledGuestDirs(exe);
  if (exe.empty() || Under(exe, VMSHARE_BUILD_DIR)) {
    dirs.insert(dirs.begin(), BuiltinGuestDir());
  } else {
    dirs.push_back(BuiltinGuestDir());
  }
  return dirs;
}

Result<GuestImage> FindGuestImage(sys::Env* env, const std::string& dir) {
  if (!dir.empty()) return ImageIn(env, dir, "");
  // The environment variable is for running a binary away from its build tree.
  Result<std::string> exe = env->ReadlinkAt(sys::Cwd(), "/proc/self/exe");
  const std::vector<std::string> dirs =
      DefaultGuestDirs(exe.ok() ? *exe : "", std::getenv("VMSHARE_GUEST_DIR"));
  for (const std::string& d : dirs) {
    if (IsFile(env, d + "/initramfs.img")) return ImageIn(env, d, "");
  }
  std::string others;
  for (size_t i = 1; i < dirs.size(); ++i) others += (i == 1 ? "" : ", ") + Quote(dirs[i]);
  return ImageIn(env, dirs[0], others.empty() ? "" : "; not in " + others + " either");
}

}  // namespace vmshare::vm
