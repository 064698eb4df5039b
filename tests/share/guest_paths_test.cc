// Share names and guest paths (no mounts needed).
#include "share/guest_paths.h"

#include <gtest/gtest.h>

namespace vmshare::share {
namespace {

TEST(GuestPathsTest, UsableBaseName) {
  struct Case {
    const char* path;
    const char* want;  // nullptr: refused
  };
  const Case cases[] = {
      {"/var/lib/data", "data"},
      {"/var/lib/data///", "data"},
      {"data", "data"},
      {"/", nullptr},
      {"", nullptr},
      {"/a/..", nullptr},
      {"/a/.", nullptr},
      {"..", nullptr},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.path);
    auto r = UsableBaseName("mount destination", k.path);
    if (k.want == nullptr) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    } else {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(*r, k.want);
    }
  }
}

TEST(GuestPathsTest, VolumeShareNames) {
  auto name = VolumeShareName("c1", "/etc/hosts", "0123456789abcdef");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, "c1-0123456789abcdef-hosts");
  EXPECT_TRUE(IsVolumeShareNameOf("c1", *name));
  EXPECT_FALSE(IsVolumeShareNameOf("c2", *name));
  EXPECT_FALSE(IsVolumeShareNameOf("c", *name));
  EXPECT_FALSE(IsVolumeShareNameOf("c1", "c1-0123456789abcdeZ-hosts"));
  EXPECT_FALSE(IsVolumeShareNameOf("c1", "c1-0123456789abcdef-"));
  EXPECT_FALSE(IsVolumeShareNameOf("c1", "c1-0123456789abcdef-a/../../x"));
  EXPECT_FALSE(IsVolumeShareNameOf("c1", "rootfs"));
  EXPECT_EQ(VolumeShareName("c1", "/" + std::string(300, 'a'), "0123456789abcdef").status().code(),
            Code::kInvalidArgument);
}

TEST(GuestPathsTest, RandomHexIsHexAndVaries) {
  auto a = RandomHex16(sys::Env::Default());
  auto b = RandomHex16(sys::Env::Default());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 16u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(*a, *b);
}

TEST(GuestPathsTest, GuestPath) {
  EXPECT_EQ(GuestPath("/run/kata-containers/shared/containers", "c1/rootfs"),
            "/run/kata-containers/shared/containers/c1/rootfs");
  EXPECT_EQ(GuestPath("/mnt/", "x"), "/mnt/x");
  EXPECT_EQ(GuestPath("/", "x"), "/x");
}

}  // namespace
}  // namespace vmshare::share
