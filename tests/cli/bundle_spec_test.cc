// The OCI fields beyond root/process/mounts that `vmshare run` passes to the
// guest or refuses, and the checks it makes before any guest boots
// (bundle_check.h): relative and symlinked sources, missing sources, host
// kernel filesystems, read-write binds in copy mode, mount targets of a
// read-only rootfs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "cli/bundle.h"
#include "cli/bundle_check.h"
#include "support/test_util.h"

namespace vmshare::cli {
namespace {

namespace fs = std::filesystem;
using vmshare::testing::TempDir;
using vmshare::testing::WriteFile;

sys::Env* env() { return sys::Env::Default(); }

// What `runc spec` writes, cut to the fields that matter here.
constexpr char kRuncSpec[] = R"({
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": true, "user": {"uid": 0, "gid": 0, "additionalGids": [5, 6], "umask": 18},
    "args": ["sh"], "env": ["PATH=/bin"], "cwd": "/",
    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
                     "ambient": ["CAP_KILL"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "runc",
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
  "linux": {
    "cgroupsPath": "/default/runc",
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"}],
    "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}],
    "sysctl": {"net.ipv4.ip_forward": "1"},
    "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]
  }
})";

TEST(BundleSpecTest, RuncSpecFieldsReachTheGuestSpec) {
  auto b = ParseBundleConfig(kRuncSpec, "/b", "/b/config.json");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const agent::ContainerSpec& s = b->oci;
  EXPECT_EQ(s.hostname, "runc");
  EXPECT_TRUE(s.terminal);
  EXPECT_EQ(s.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(s.umask, 18u);
  ASSERT_TRUE(s.capabilities);
  EXPECT_EQ(s.capabilities->bounding, std::vector<std::string>{"CAP_KILL"});
  EXPECT_EQ(s.capabilities->ambient, std::vector<std::string>{"CAP_KILL"});
  EXPECT_TRUE(s.capabilities->inheritable.empty());
  ASSERT_EQ(s.rlimits.size(), 1u);
  EXPECT_EQ(s.rlimits[0], (agent::SpecRlimit{"RLIMIT_NOFILE", 1024, 1024}));
  EXPECT_TRUE(s.no_new_privileges);
  ASSERT_EQ(s.namespaces.size(), 2u);
  EXPECT_EQ(s.namespaces[1], (agent::SpecNamespace{"network", "/var/run/netns/x"}));
  ASSERT_EQ(s.devices.size(), 1u);
  EXPECT_EQ(s.devices[0], (agent::SpecDevice{"/dev/fuse", "c", 10, 229, 438, 0, 0}));
  EXPECT_EQ(s.sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(s.masked_paths, std::vector<std::string>{"/proc/kcore"});
  EXPECT_EQ(s.readonly_paths, std::vector<std::string>{"/proc/sys"});
  // What is left out is said, not silently dropped.
  ASSERT_EQ(b->notices.size(), 3u);
  EXPECT_NE(b->notices[0].find("process.terminal"), std::string::npos);
  EXPECT_NE(b->notices[1].find("linux.cgroupsPath"), std::string::npos);
  EXPECT_NE(b->notices[2].find("linux.resources"), std::string::npos);
}

TEST(BundleSpecTest, FieldsThatCannotApplyAreRefusedNamingThem) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"root": {"path": "r"}, "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}})",
       ".linux.seccomp"},
      {R"({"root": {"path": "r"}, "hooks": {"prestart": [{"path": "/bin/true"}]}})", ".hooks"},
      {R"({"root": {"path": "r"}, "linux": {"uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}})",
       ".linux.uidMappings"},
      {R"({"root": {"path": "r"}, "process": {"args": ["x"], "apparmorProfile": "p"}})",
       ".process.apparmorProfile"},
      {R"({"root": {"path": "r"}, "linux": {"rootfsPropagation": "shared"}})",
       ".linux.rootfsPropagation"},
      {R"({"root": {"path": "r"}, "process": {"rlimits": [{"type": 1}]}})",
       ".process.rlimits[0].type"},
      {R"({"ociVersion": "2.0.0", "root": {"path": "r"}})", ".ociVersion \"2.0.0\""},
      {R"({"root": {"path": "r"}, "linux": {"netDevices": {"eth1": {}}}})", ".linux.netDevices"},
      {R"({"root": {"path": "r"}, "vm": {"kernel": {"path": "/k"}}})", ".vm"},
      // A bind mount option the guest would not apply, and an idmapped bind.
      {R"({"root": {"path": "r"}, "mounts": [{"destination": "/d", "type": "bind",
           "source": "/s", "options": ["rbind", "relatime"]}]})",
       ".mounts[0].options \"relatime\": not applied to a bind mount"},
      {R"({"root": {"path": "r"}, "mounts": [{"destination": "/d", "source": "/s",
           "options": ["rbind", "ridmap"]}]})",
       ".mounts[0].options \"ridmap\""},
      {R"({"root": {"path": "r"}, "mounts": [{"destination": "/d", "type": "bind", "source": "/s",
           "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}]})",
       ".mounts[0].uidMappings: idmapped mounts are not supported"},
  };
  for (const auto& [json, field] : cases) {
    auto b = ParseBundleConfig(json, "/b", "/b/config.json");
    ASSERT_FALSE(b.ok()) << json;
    EXPECT_NE(b.status().message().find(field), std::string::npos) << b.status().ToString();
  }
  // Propagation on a bind is accepted (its mounts stay private in the guest),
  // and so are the non-bind mounts' own options.
  EXPECT_TRUE(ParseBundleConfig(R"({"root": {"path": "r"}, "mounts": [
      {"destination": "/d", "type": "bind", "source": "/s",
       "options": ["rbind", "rslave", "nosuid", "nodev", "noexec", "ro"]},
      {"destination": "/t", "type": "tmpfs", "source": "tmpfs",
       "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}]})",
                                "/b", "c")
                  .ok());
  // Empty ones are fine (containerd writes "hooks": {} and the like).
  EXPECT_TRUE(
      ParseBundleConfig(R"({"root": {"path": "r"}, "hooks": {}, "linux": {"uidMappings": []}})",
                        "/b", "c")
          .ok());
}

class BundleCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bundle_.dir = tmp_.path();
    bundle_.rootfs = tmp_ / "rootfs";
    fs::create_directories(bundle_.rootfs);
    fs::create_directories(tmp_ / "vol");
    WriteFile(tmp_ / "zone", "zone\n");
    fs::create_symlink(tmp_ / "zone", tmp_ / "localtime");
  }
  Mount Bind(const std::string& source, const std::string& dest, bool ro = true) {
    Mount m;
    m.source = source;
    m.destination = dest;
    m.type = "bind";
    m.options = {"rbind", ro ? "ro" : "rw"};
    m.read_only = ro;
    return m;
  }
  TempDir tmp_;
  Bundle bundle_;
};

TEST_F(BundleCheckTest, RelativeAndSymlinkedSourcesAreResolvedOnTheHost) {
  bundle_.mounts = {Bind("vol", "/vol"), Bind(tmp_ / "localtime", "/etc/localtime")};
  ASSERT_OK(ResolveBundleSources(env(), &bundle_));
  EXPECT_EQ(bundle_.mounts[0].source, tmp_ / "vol");
  EXPECT_EQ(bundle_.mounts[1].source, tmp_ / "zone");
}

TEST_F(BundleCheckTest, MissingAndForbiddenSourcesFailNamingThem) {
  bundle_.mounts = {Bind("no-such", "/x")};
  Status s = ResolveBundleSources(env(), &bundle_);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("no-such"), std::string::npos) << s.ToString();
  // A link to the host's /proc resolves there, and is refused there.
  fs::create_symlink("/proc", tmp_ / "to-proc");
  bundle_.mounts = {Bind(tmp_ / "to-proc", "/p")};
  s = ResolveBundleSources(env(), &bundle_);
  EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
  bundle_.mounts = {Bind("/", "/host")};
  EXPECT_EQ(ResolveBundleSources(env(), &bundle_).code(), Code::kPermissionDenied);
  bundle_.mounts.clear();
  bundle_.rootfs = tmp_ / "no-rootfs";
  s = ResolveBundleSources(env(), &bundle_);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-rootfs"), std::string::npos) << s.ToString();
}

TEST_F(BundleCheckTest, CopyModeRefusesReadWriteBindsUnlessPodLocalOrOptedIn) {
  const std::string kubelet = tmp_ / "kubelet";
  bundle_.mounts = {Bind(tmp_ / "vol", "/data", /*ro=*/false)};
  Status s = CheckCopyModeMounts(bundle_, kubelet, false);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("mount \"/data\""), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("--guest-local-copies"), std::string::npos) << s.ToString();
  EXPECT_OK(CheckCopyModeMounts(bundle_, kubelet, true));
  bundle_.mounts = {Bind(kubelet + "/pods/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9/volumes/"
                                   "kubernetes.io~empty-dir/cache",
                         "/cache", /*ro=*/false),
                    Bind(tmp_ / "vol", "/ro")};
  EXPECT_OK(CheckCopyModeMounts(bundle_, kubelet, false));
  EXPECT_FALSE(IsEmptyDirVolume(kubelet, kubelet + "/pods/u/volumes/kubernetes.io~secret/s"));
  EXPECT_FALSE(
      IsEmptyDirVolume(kubelet, kubelet + "/pods/u/volumes/kubernetes.io~empty-dir/../x/y"));
}

TEST_F(BundleCheckTest, ReadOnlyRootGetsItsMountTargetsInsideTheRootfs) {
  bundle_.rootfs_readonly = true;
  fs::create_symlink("/", bundle_.rootfs + "/escape");  // resolved inside the rootfs
  Mount proc;
  proc.destination = "/proc";
  proc.type = "proc";
  bundle_.mounts = {proc, Bind(tmp_ / "zone", "/etc/localtime"), Bind(tmp_ / "vol", "/escape/vol")};
  ASSERT_OK(CreateMountTargets(env(), bundle_));
  EXPECT_TRUE(fs::is_directory(bundle_.rootfs + "/proc"));
  EXPECT_TRUE(fs::is_regular_file(bundle_.rootfs + "/etc/localtime"));
  EXPECT_TRUE(fs::is_directory(bundle_.rootfs + "/vol"));  // through the link, still inside
  EXPECT_FALSE(fs::exists("/vol"));
}

}  // namespace
}  // namespace vmshare::cli
