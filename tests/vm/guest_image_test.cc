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

std::string Normal(const std::string& p) {
  return std::filesystem::path(p).lexically_normal().string();
}

TEST(GuestImageTest, BuildTreeBinaryLooksInTheBuildFirst) {
  // BuiltinGuestDir() is <build>/guest.
  const std::string build = std::filesystem::path(BuiltinGuestDir()).parent_path();
  std::vector<std::string> dirs = DefaultGuestDirs(build + "/src/cli/vmshare", nullptr);
  ASSERT_GE(dirs.size(), 2u);
  EXPECT_EQ(dirs[0], BuiltinGuestDir());
  EXPECT_EQ(Normal(dirs[1]), Normal(build + "/src/share/vmshare/guest"));
}

TEST(GuestImageTest, InstalledBinaryLooksBesideItsPrefixFirst) {
  // The default layout (bin/, share/) under any prefix, moved or not.
  std::vector<std::string> dirs = DefaultGuestDirs("/opt/vm/bin/vmshare", nullptr);
  ASSERT_GE(dirs.size(), 2u);
  EXPECT_EQ(Normal(dirs[0]), "/opt/vm/share/vmshare/guest");
  EXPECT_EQ(dirs.back(), BuiltinGuestDir());
}

TEST(GuestImageTest, InstalledBinaryFindsTheImageBesideIt) {
  TempDir d;
  std::filesystem::create_directories(d / "bin");
  std::filesystem::create_directories(d / "share/vmshare/guest");
  WriteFile(d / "share/vmshare/guest/vmlinuz", "bz");
  WriteFile(d / "share/vmshare/guest/initramfs.img", "cpio");
  std::vector<std::string> dirs = DefaultGuestDirs(d / "bin/vmshare", nullptr);
  ASSERT_FALSE(dirs.empty());
  Result<GuestImage> image = FindGuestImage(sys::Env::Default(), dirs[0]);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(Normal(image->initrd), d / "share/vmshare/guest/initramfs.img");
}

TEST(GuestImageTest, EnvironmentOverridesEverything) {
  std::vector<std::string> dirs = DefaultGuestDirs("/opt/vm/bin/vmshare", "/srv/guest");
  EXPECT_EQ(dirs, std::vector<std::string>{"/srv/guest"});
}

}  // namespace
}  // namespace vmshare::vm
