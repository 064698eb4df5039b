// The container spec the host hands the agent (sandbox/spec.h): the bundle's
// mount order is kept, host mounts replaced in place by their shared guest
// source (OCI runtime spec: mounts in the listed order; issue 12 item 1).
#include "sandbox/spec.h"

#include <gtest/gtest.h>

namespace vmshare::sandbox {
namespace {

Mount M(std::string source, std::string dest, std::string type, std::vector<std::string> options) {
  Mount m;
  m.source = std::move(source);
  m.destination = std::move(dest);
  m.type = std::move(type);
  m.options = std::move(options);
  return m;
}

SharedFile Shared(std::string guest_path, std::vector<Storage> volume_storages = {}) {
  SharedFile f;
  f.guest_path = std::move(guest_path);
  f.volume_storages = std::move(volume_storages);
  return f;
}

// runc spec's mounts with Kubernetes-style binds among them: /dev is a tmpfs
// that must come before /dev/termination-log and /dev/shm, or it covers them.
ContainerRequest KubeStyle() {
  ContainerRequest r;
  r.id = "c1";
  r.rootfs.source = "/bundle/rootfs";
  r.spec.args = {"sh"};
  r.mounts = {
      {M("proc", "/proc", "proc", {"nosuid", "noexec", "nodev"}), false},
      {M("tmpfs", "/dev", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}), false},
      {M("/var/lib/kubelet/pods/p/containers/c/x", "/dev/termination-log", "bind", {"rbind", "rw"}), true},
      {M("devpts", "/dev/pts", "devpts", {"nosuid", "noexec", "newinstance"}), false},
      {M("/run/containerd/shm", "/dev/shm", "bind", {"rbind", "ro"}), true},
      {M("sysfs", "/sys", "sysfs", {"nosuid", "ro"}), false},
  };
  return r;
}

TEST(SpecTest, MountsKeepTheBundleOrderWithHostMountsReplacedInPlace) {
  const ContainerRequest r = KubeStyle();
  SharedFile rootfs = Shared("/run/kata-containers/shared/containers/c1/rootfs");
  auto create = BuildCreateRequest(r, rootfs,
                                   {Shared("/run/kata-containers/shared/containers/c1-aaaa-termination-log"),
                                    Shared("/run/kata-containers/shared/containers/c1-bbbb-shm")});
  ASSERT_TRUE(create.ok()) << create.status().ToString();
  const std::vector<agent::SpecMount>& m = create->spec.mounts;
  ASSERT_EQ(m.size(), 6u);
  const char* want_dest[] = {"/proc", "/dev", "/dev/termination-log", "/dev/pts", "/dev/shm", "/sys"};
  for (size_t i = 0; i < m.size(); ++i) EXPECT_EQ(m[i].destination, want_dest[i]) << "mount " << i;
  EXPECT_EQ(m[1].type, "tmpfs");
  EXPECT_EQ(m[2].type, "bind");
  EXPECT_EQ(m[2].source, "/run/kata-containers/shared/containers/c1-aaaa-termination-log");
  EXPECT_EQ(m[2].options, (std::vector<std::string>{"rbind", "rw"}));
  EXPECT_EQ(m[4].source, "/run/kata-containers/shared/containers/c1-bbbb-shm");
  EXPECT_EQ(m[4].options, (std::vector<std::string>{"rbind", "ro"}));
  // Guest-made mounts pass through unchanged.
  EXPECT_EQ(m[0].source, "proc");
  EXPECT_EQ(m[0].options, (std::vector<std::string>{"nosuid", "noexec", "nodev"}));
  EXPECT_EQ(create->spec.root_path, rootfs.guest_path);
  EXPECT_EQ(create->container_id, "c1");
  EXPECT_EQ(create->spec.args, std::vector<std::string>{"sh"});
}

TEST(SpecTest, UnsharedHostMountIsDroppedAndStoragesFollowMountOrder) {
  ContainerRequest r = KubeStyle();
  Storage rootfs_dev{.driver = "blk", .source = "0000:00:05.0", .fstype = "ext4", .mount_point = "/r"};
  SharedFile rootfs = Shared("/r");
  rootfs.container_storages = {rootfs_dev};
  Storage watched{.driver = "watchable-bind", .source = "/w", .mount_point = "/w"};
  auto create = BuildCreateRequest(r, rootfs, {std::nullopt, Shared("/g/shm", {watched})});
  ASSERT_TRUE(create.ok()) << create.status().ToString();
  ASSERT_EQ(create->spec.mounts.size(), 5u);
  for (const agent::SpecMount& m : create->spec.mounts) EXPECT_NE(m.destination, "/dev/termination-log");
  EXPECT_EQ(create->spec.mounts[3].destination, "/dev/shm");
  ASSERT_EQ(create->storages.size(), 2u);
  EXPECT_EQ(create->storages[0], rootfs_dev);
  EXPECT_EQ(create->storages[1], watched);
}

TEST(SpecTest, ShareCountMustMatchHostMounts) {
  auto create = BuildCreateRequest(KubeStyle(), Shared("/r"), {Shared("/a")});
  ASSERT_FALSE(create.ok());
  EXPECT_EQ(create.status().code(), Code::kInvalidArgument);
  EXPECT_NE(create.status().message().find("\"c1\""), std::string::npos) << create.status().ToString();
}

TEST(SpecTest, GuestBindOptions) {
  struct Case {
    const char* name;
    std::vector<std::string> options;
    bool read_only;
    std::vector<std::string> want;
  };
  const Case kCases[] = {
      {"plain bind gets rbind and rw", {}, false, {"rbind", "rw"}},
      {"ro option", {"ro"}, false, {"rbind", "ro"}},
      {"read_only field", {"rw"}, true, {"rbind", "ro"}},
      {"bind kept, others kept", {"bind", "nosuid"}, false, {"bind", "nosuid", "rw"}},
  };
  for (const Case& c : kCases) {
    Mount m = M("/src", "/dst", "bind", c.options);
    m.read_only = c.read_only;
    agent::SpecMount s = GuestBind(m, "/guest/x");
    EXPECT_EQ(s.source, "/guest/x") << c.name;
    EXPECT_EQ(s.type, "bind") << c.name;
    EXPECT_EQ(s.options, c.want) << c.name;
  }
}

TEST(SpecTest, ContainerToShareTakesOnlyHostMountsInOrder) {
  Container c = ContainerToShare(KubeStyle());
  EXPECT_EQ(c.id, "c1");
  EXPECT_EQ(c.state.rootfs.source, "/bundle/rootfs");
  EXPECT_EQ(c.state.rootfs.destination, "/");
  EXPECT_EQ(c.state.rootfs.type, "bind");
  ASSERT_EQ(c.state.mounts.size(), 2u);
  EXPECT_EQ(c.state.mounts[0].destination, "/dev/termination-log");
  EXPECT_FALSE(c.state.mounts[0].read_only);
  EXPECT_EQ(c.state.mounts[1].destination, "/dev/shm");
  EXPECT_TRUE(c.state.mounts[1].read_only);  // from its "ro" option
}

}  // namespace
}  // namespace vmshare::sandbox
