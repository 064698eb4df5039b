// The shim's reading of real specs: containerd's default (`ctr oci spec`,
// what `ctr run` writes before its flags) and specs as the CRI plugin writes
// them for a pod sandbox and one of its containers (testdata/; the seccomp
// profile's syscall list is shortened). One reader, oci::ParseConfig; the
// shim's policy accepts what every Kubernetes pod carries.
#include "shim/oci_spec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "oci/config.h"

namespace vmshare::shim {
namespace {

const std::vector<std::string> kContainerdDefaultCaps = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

std::string TestData(const std::string& file) {
  std::ifstream in(std::string(VMSHARE_SHIM_TESTDATA) + "/" + file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool HasNotice(const std::vector<std::string>& notices, const std::string& part) {
  for (const auto& n : notices)
    if (n.find(part) != std::string::npos) return true;
  return false;
}

void ExpectContainerdDefault(const OciSpec& s) {
  ASSERT_TRUE(s.guest.capabilities.has_value());
  EXPECT_EQ(s.guest.capabilities->bounding, kContainerdDefaultCaps);
  EXPECT_EQ(s.guest.capabilities->effective, kContainerdDefaultCaps);
  EXPECT_EQ(s.guest.capabilities->permitted, kContainerdDefaultCaps);
  EXPECT_TRUE(s.guest.capabilities->ambient.empty());
  ASSERT_EQ(s.guest.rlimits.size(), 1u);
  EXPECT_EQ(s.guest.rlimits[0], (agent::SpecRlimit{"RLIMIT_NOFILE", 1024, 1024}));
  EXPECT_TRUE(s.guest.no_new_privileges);
  EXPECT_EQ(s.process.capabilities, s.guest.capabilities);
  EXPECT_TRUE(s.process.no_new_privileges);
  ASSERT_EQ(s.guest.namespaces.size(), 5u);
  for (const auto& ns : s.guest.namespaces) EXPECT_TRUE(ns.path.empty()) << ns.type;
  EXPECT_NE(std::find(s.guest.masked_paths.begin(), s.guest.masked_paths.end(), "/proc/kcore"),
            s.guest.masked_paths.end());
  EXPECT_NE(std::find(s.guest.readonly_paths.begin(), s.guest.readonly_paths.end(), "/proc/sys"),
            s.guest.readonly_paths.end());
  EXPECT_EQ(s.root_path, "rootfs");
  ASSERT_EQ(s.mounts.size(), 7u);
  for (const auto& m : s.mounts) EXPECT_FALSE(IsHostBind(m)) << m.destination;
  // resources and cgroupsPath are accepted, and said so.
  EXPECT_TRUE(HasNotice(s.notices, "linux.resources"));
  EXPECT_TRUE(HasNotice(s.notices, "linux.cgroupsPath"));
  EXPECT_TRUE(CheckGuestSpec(s).ok()) << CheckGuestSpec(s).message();
}

TEST(ShimOciSpec, ContainerdDefaultSpecIsApplied) {
  auto s = ParseSpec(TestData("ctr_default_spec.json"), "ctr_default_spec.json");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ExpectContainerdDefault(*s);
}

// The same, from the ctr on this machine when there is one.
TEST(ShimOciSpec, LiveCtrOciSpecIsApplied) {
  FILE* p = ::popen("ctr oci spec 2>/dev/null", "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
  if (::pclose(p) != 0 || text.empty()) GTEST_SKIP() << "no ctr here";
  auto s = ParseSpec(text, "ctr oci spec");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ExpectContainerdDefault(*s);
}

TEST(ShimOciSpec, CriSandboxSpecIsAcceptedWithNotices) {
  auto s = ParseSpec(TestData("cri_sandbox_spec.json"), "cri_sandbox_spec.json");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(StartsSandbox(*s, "4f2a"));
  EXPECT_EQ(s->guest.hostname, "web-7d4b9c");
  EXPECT_EQ(s->process.uid, 65535u);
  EXPECT_EQ(s->guest.additional_gids, std::vector<uint32_t>{65535});
  ASSERT_TRUE(s->guest.capabilities.has_value());
  EXPECT_EQ(s->guest.capabilities->effective, kContainerdDefaultCaps);
  EXPECT_TRUE(s->guest.no_new_privileges);
  for (const char* field : {"process.apparmorProfile", "process.oomScoreAdj", "linux.seccomp",
                            "linux.resources", "linux.cgroupsPath"})
    EXPECT_TRUE(HasNotice(s->notices, field)) << field;
  // The pod's network namespace is the CNI's on the host, in the guest the
  // guest's own: its sysctls are not applied there, and said so.
  EXPECT_TRUE(s->guest.sysctl.empty());
  EXPECT_TRUE(HasNotice(s->notices, "net.ipv4.ip_unprivileged_port_start"));
  EXPECT_TRUE(HasNotice(s->notices, "net.ipv4.ping_group_range"));
  EXPECT_TRUE(CheckGuestSpec(*s).ok()) << CheckGuestSpec(*s).message();
}

TEST(ShimOciSpec, CriContainerSpecJoinsThePodNamespaces) {
  auto s = ParseSpec(TestData("cri_container_spec.json"), "cri_container_spec.json");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(StartsSandbox(*s, "9c1e"));
  EXPECT_EQ(SandboxIdOf(*s, "9c1e"), "4f2a");
  EXPECT_EQ(s->guest.namespaces[1], (agent::SpecNamespace{"ipc", "/proc/4242/ns/ipc"}));
  EXPECT_EQ(s->guest.namespaces[4], (agent::SpecNamespace{"network", "/proc/4242/ns/net"}));
  EXPECT_EQ(s->guest.additional_gids.size(), 11u);
  EXPECT_FALSE(s->guest.no_new_privileges);
  EXPECT_EQ(s->guest.masked_paths.size(), 10u);
  size_t binds = 0;
  for (const auto& m : s->mounts) binds += IsHostBind(m) ? 1 : 0;
  EXPECT_EQ(binds, 6u);
  EXPECT_TRUE(s->mounts.back().read_only);  // the service account token
  EXPECT_TRUE(HasNotice(s->notices, "linux.seccomp"));
  EXPECT_TRUE(CheckGuestSpec(*s).ok()) << CheckGuestSpec(*s).message();
}

// One reader, two policies: `vmshare run` refuses what the shim notices.
TEST(ShimOciSpec, RunPolicyRefusesWhatTheShimNotices) {
  const std::string text = TestData("cri_container_spec.json");
  auto run = oci::ParseConfig(text, "config.json", oci::Policy::kRun);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("process.apparmorProfile"), std::string::npos)
      << run.status().message();
  auto shim = oci::ParseConfig(text, "config.json", oci::Policy::kShim);
  ASSERT_TRUE(shim.ok()) << shim.status().message();
}

TEST(ShimOciSpec, RefusesWhatWouldChangeTheContainer) {
  const struct {
    const char* json;
    const char* says;
  } kCases[] = {
      {R"({"hooks": {"prestart": [{"path": "/bin/true"}]}})",
       ".hooks: hooks would run on the host"},
      {R"({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}})",
       ".linux.uidMappings"},
      {R"({"mounts": [{"destination": "/d", "type": "bind", "source": "/s",
           "options": ["rbind", "idmap"]}]})",
       "idmapped mounts are not supported"},
      {R"({"process": {"scheduler": {"policy": "SCHED_FIFO"}}})", ".process.scheduler"},
      {R"({"ociVersion": "2.0.0"})", "only version 1.x"},
  };
  for (const auto& c : kCases) {
    auto s = ParseSpec(c.json, "config.json");
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_NE(s.status().message().find(c.says), std::string::npos) << s.status().message();
  }
  // A user namespace is the agent's to refuse; CheckGuestSpec does, before
  // any guest boots.
  auto user = ParseSpec(R"({"linux": {"namespaces": [{"type": "user"}]}})", "config.json");
  ASSERT_TRUE(user.ok());
  EXPECT_NE(CheckGuestSpec(*user).message().find("user namespace"), std::string::npos);
}

TEST(ShimOciSpec, UnappliedBindOptionsAndPropagationAreNoticed) {
  auto s = ParseSpec(R"({"linux": {"rootfsPropagation": "rslave"},
                         "mounts": [{"destination": "/d", "type": "bind", "source": "/s",
                                     "options": ["rbind", "relatime", "ro"]}]})",
                     "config.json");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(HasNotice(s->notices, "option \"relatime\""));
  EXPECT_TRUE(HasNotice(s->notices, "linux.rootfsPropagation \"rslave\""));
  EXPECT_TRUE(s->mounts[0].read_only);
}

// An Exec's process spec (what `ctr task exec` sends: the container's
// process with other args) keeps its privileges for the comparison.
TEST(ShimOciSpec, ExecProcessSpecKeepsPrivileges) {
  auto p = ParseProcessSpec(R"({"args": ["sh", "-c", "id"], "cwd": "/tmp",
      "user": {"uid": 1, "gid": 2, "additionalGids": [3], "umask": 18},
      "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"]},
      "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 64, "soft": 32}],
      "noNewPrivileges": true, "apparmorProfile": "cri-containerd.apparmor.d"})",
                            "exec spec");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->args.size(), 3u);
  EXPECT_EQ(p->cwd, "/tmp");
  EXPECT_EQ(p->additional_gids, std::vector<uint32_t>{3});
  EXPECT_EQ(p->umask, 18u);
  ASSERT_TRUE(p->capabilities.has_value());
  EXPECT_EQ(p->capabilities->effective, std::vector<std::string>{"CAP_KILL"});
  EXPECT_EQ(p->rlimits[0], (agent::SpecRlimit{"RLIMIT_NOFILE", 64, 32}));
  EXPECT_TRUE(p->no_new_privileges);
  EXPECT_TRUE(HasNotice(p->notices, "process.apparmorProfile"));
  EXPECT_FALSE(
      ParseProcessSpec(R"({"args": ["sh"], "scheduler": {"policy": "SCHED_FIFO"}})", "exec spec")
          .ok());
}

}  // namespace
}  // namespace vmshare::shim
