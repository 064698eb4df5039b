// Watched-volume detection: which mount sources are kubelet configmap,
// secret, projected or downward-API volumes, with a symlinked kubelet root.
#include "share/kube_volume.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_util.h"

namespace vmshare::share {
namespace {

constexpr char kUid[] = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

TEST(KubeVolumeTest, Table) {
  KubeVolumeMatcher m(sys::Env::Default(), "/var/lib/kubelet");
  const std::string pod = std::string("/var/lib/kubelet/pods/") + kUid + "/volumes/";
  struct Case {
    const char* name;
    std::string source;
    bool watched;
    std::string volume_dir, rel, kind;
  } cases[] = {
      {"configmap", pod + "kubernetes.io~configmap/cfg", true, pod + "kubernetes.io~configmap/cfg",
       "", "configmap"},
      {"secret", pod + "kubernetes.io~secret/s", true, pod + "kubernetes.io~secret/s", "",
       "secret"},
      {"projected", pod + "kubernetes.io~projected/p", true, pod + "kubernetes.io~projected/p", "",
       "projected"},
      {"downward", pod + "kubernetes.io~downward-api/d", true, pod + "kubernetes.io~downward-api/d",
       "", "downward-api"},
      {"below", pod + "kubernetes.io~configmap/cfg/key", true, pod + "kubernetes.io~configmap/cfg",
       "key", "configmap"},
      {"messy",
       "//var/lib/kubelet/./pods/" + std::string(kUid) + "//volumes/kubernetes.io~secret/s/", true,
       pod + "kubernetes.io~secret/s", "", "secret"},
      {"plugin dir itself", pod + "kubernetes.io~configmap", false, "", "", ""},
      {"empty-dir", pod + "kubernetes.io~empty-dir/e", false, "", "", ""},
      {"short uid", "/var/lib/kubelet/pods/1234/volumes/kubernetes.io~configmap/c", false, "", "",
       ""},
      {"other root",
       std::string("/srv/kubelet/pods/") + kUid + "/volumes/kubernetes.io~configmap/c", false, "",
       "", ""},
      {"dotdot", pod + "kubernetes.io~configmap/c/../../x", false, "", "", ""},
      {"relative", "var/lib/kubelet/pods", false, "", "", ""},
  };
  for (const auto& c : cases) {
    auto got = m.Match(c.source);
    EXPECT_EQ(got.has_value(), c.watched) << c.name;
    if (got && c.watched) {
      EXPECT_EQ(got->volume_dir, c.volume_dir) << c.name;
      EXPECT_EQ(got->rel, c.rel) << c.name;
      EXPECT_EQ(got->kind, c.kind) << c.name;
    }
  }
}

TEST(KubeVolumeTest, SymlinkedRootMatchesInBothForms) {
  testing::TempDir tmp;
  std::filesystem::create_directories(tmp / "real");
  std::filesystem::create_directory_symlink(tmp / "real", tmp / "link");
  KubeVolumeMatcher m(sys::Env::Default(), tmp / "link");
  const std::string rest = std::string("/pods/") + kUid + "/volumes/kubernetes.io~secret/s";
  auto via_link = m.Match(tmp / "link" + rest);
  auto via_real = m.Match(tmp / "real" + rest);
  ASSERT_TRUE(via_link.has_value());
  ASSERT_TRUE(via_real.has_value());
  EXPECT_EQ(via_real->volume_dir, tmp / "real" + rest);
  EXPECT_EQ(m.roots().size(), 2u);
}

TEST(KubeVolumeTest, TimestampedDirNames) {
  EXPECT_TRUE(IsTimestampedDirName("..2026_11_22_10_00_00.123456789"));
  EXPECT_FALSE(IsTimestampedDirName("..data"));
  EXPECT_FALSE(IsTimestampedDirName("..2026_11_22_10_00_00."));
  EXPECT_FALSE(IsTimestampedDirName("2026_11_22_10_00_00.1"));
}

}  // namespace
}  // namespace vmshare::share
