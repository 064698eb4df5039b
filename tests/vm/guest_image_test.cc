// FindGuestImage: which kernel, initramfs and firmware a guest boots.
#include "vm/guest_image.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/test_util.h"

namespace vmshare::vm {
namespace {

using vmshare::testing::TempDir;
using vmshare::testing::WriteFile;

std::string WantFirmware() {
  struct stat st;
  return ::stat(kQbootPath, &st) == 0 && S_ISREG(st.st_mode) ? kQbootPath : "";
}

TEST(GuestImageTest, CompressedKernelWhenThereIsNoVmlinux) {
  TempDir d;
  WriteFile(d / "vmlinuz", "bz");
  WriteFile(d / "initramfs.img", "cpio");
  Result<GuestImage> image = FindGuestImage(sys::Env::Default(), d.path());
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->kernel, d / "vmlinuz");
  EXPECT_EQ(image->initrd, d / "initramfs.img");
  EXPECT_EQ(image->firmware, WantFirmware());
}

TEST(GuestImageTest, PvhKernelIsPreferred) {
  TempDir d;
  WriteFile(d / "vmlinuz", "bz");
  WriteFile(d / "vmlinux", "elf");
  WriteFile(d / "initramfs.img", "cpio");
  Result<GuestImage> image = FindGuestImage(sys::Env::Default(), d.path());
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->kernel, d / "vmlinux");
}

TEST(GuestImageTest, VmlinuxThatIsNotAFileIsIgnored) {
  TempDir d;
  WriteFile(d / "vmlinuz", "bz");
  std::filesystem::create_directory(d / "vmlinux");
  WriteFile(d / "initramfs.img", "cpio");
  Result<GuestImage> image = FindGuestImage(sys::Env::Default(), d.path());
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->kernel, d / "vmlinuz");
}

TEST(GuestImageTest, MissingInitramfsIsNamed) {
  TempDir d;
  WriteFile(d / "vmlinux", "elf");
  WriteFile(d / "vmlinuz", "bz");
  Result<GuestImage> image = FindGuestImage(sys::Env::Default(), d.path());
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), Code::kNotFound);
  EXPECT_NE(image.status().message().find(d / "initramfs.img"), std::string::npos)
      << image.status().ToString();
}

}  // namespace
}  // namespace vmshare::vm
