#include "vm/guest_image.h"

#include <fcntl.h>

#include <cstdlib>

#include "core/ids.h"

#ifndef VMSHARE_GUEST_DIR
#error "VMSHARE_GUEST_DIR must be defined by the build"
#endif

namespace vmshare::vm {

std::string BuiltinGuestDir() { return VMSHARE_GUEST_DIR; }

Result<GuestImage> FindGuestImage(sys::Env* env, const std::string& dir) {
  std::string d = dir;
  if (d.empty()) {
    // The environment variable is for running a binary away from its build tree.
    const char* from_env = std::getenv("VMSHARE_GUEST_DIR");
    d = from_env != nullptr && *from_env != '\0' ? from_env : BuiltinGuestDir();
  }
  GuestImage image{d + "/vmlinuz", d + "/initramfs.img", ""};
  if (Result<sys::FileInfo> elf = env->StatAt(sys::Cwd(), d + "/vmlinux", 0);
      elf.ok() && elf->is_reg())
    image.kernel = d + "/vmlinux";
  if (Result<sys::FileInfo> fw = env->StatAt(sys::Cwd(), kQbootPath, 0); fw.ok() && fw->is_reg())
    image.firmware = kQbootPath;
  for (const std::string* f : {&image.kernel, &image.initrd}) {
    Result<sys::FileInfo> info = env->StatAt(sys::Cwd(), *f, 0);
    if (!info.ok())
      return Status(info.status().code(),
                    "find guest image " + Quote(*f) + ": " + info.status().message() +
                        " (build the guest_image target)",
                    info.status().err());
    if (!info->is_reg())
      return InvalidArgumentError("find guest image " + Quote(*f) + ": not a file");
  }
  return image;
}

}  // namespace vmshare::vm
