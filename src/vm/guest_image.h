// Where the guest image is: the kernel and initramfs the build system makes
// (scripts/guest/build-image.sh, driven by src/vm/CMakeLists.txt).
#pragma once

#include <string>
#include <vector>

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

// Where an installed vmshare keeps the image: beside the binary at `exe`
// (<prefix>/bin/x -> <prefix>/share/vmshare/guest), then the configured
// prefix's (for libvmshare.so loaded by a program installed elsewhere).
std::vector<std::string> InstalledGuestDirs(const std::string& exe);

// The directories an empty `dir` means, in the order they are tried:
// $VMSHARE_GUEST_DIR alone if set; else, for a binary `exe` inside the build
// tree, BuiltinGuestDir() before the installed ones, and for any other
// binary the installed ones first.
std::vector<std::string> DefaultGuestDirs(const std::string& exe, const char* from_env);

// Finds vmlinuz and initramfs.img in `dir`; an empty dir means the first of
// DefaultGuestDirs (for this process) holding an initramfs.img. kNotFound
// names the missing file, the other places looked in, and says how to build
// it. The kernel is `dir`/vmlinux when
// that file exists: the uncompressed kernel boots through its PVH entry,
// skipping the firmware's real-mode loader and the decompression, which cost
// a quarter of a second of a TCG boot.
Result<GuestImage> FindGuestImage(sys::Env* env, const std::string& dir);

}  // namespace vmshare::vm
