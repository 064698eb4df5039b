// Where the guest image is: the kernel and initramfs the build system makes
// (scripts/guest/build-image.sh, driven by src/vm/CMakeLists.txt).
#pragma once

#include <string>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::vm {

struct GuestImage {
  std::string kernel;  // vmlinuz
  std::string initrd;  // initramfs.img (gzip'ed newc cpio; /init is the agent)
};

// The directory the build wrote the image to (compiled in).
std::string BuiltinGuestDir();

// Finds vmlinuz and initramfs.img in `dir`; an empty dir means
// $VMSHARE_GUEST_DIR if set, else BuiltinGuestDir(). kNotFound names the
// missing file and says how to build it.
Result<GuestImage> FindGuestImage(sys::Env* env, const std::string& dir);

}  // namespace vmshare::vm
