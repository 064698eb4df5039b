// Where the guest image is: the kernel and initramfs the build system makes
// (scripts/guest/build-image.sh, driven by src/vm/CMakeLists.txt).
#pragma once

#include <string>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::vm {

struct GuestImage {
  std::string kernel;    // vmlinux (ELF with a PVH entry) when built, else vmlinuz
  std::string initrd;    // initramfs.img (lz4 or gzip'ed newc cpio; /init is the agent)
  std::string firmware;  // qboot when QEMU ships it, else empty (SeaBIOS)
};

// QEMU's minimal firmware: no option ROM scan, no boot menu, straight to
// the kernel (Debian's qemu-system-data ships it).
inline constexpr char kQbootPath[] = "/usr/share/qemu/qboot.rom";

// The directory the build wrote the image to (compiled in).
std::string BuiltinGuestDir();

// Finds vmlinuz and initramfs.img in `dir`; an empty dir means
// $VMSHARE_GUEST_DIR if set, else BuiltinGuestDir(). kNotFound names the
// missing file and says how to build it. The kernel is `dir`/vmlinux when
// that file exists: the uncompressed kernel boots through its PVH entry,
// skipping the firmware's real-mode loader and the decompression, which cost
// a quarter of a second of a TCG boot.
Result<GuestImage> FindGuestImage(sys::Env* env, const std::string& dir);

}  // namespace vmshare::vm
