// The whole lifecycle against the real vmshare-agent process: the agent runs
// in a child process in a mount namespace of its own, listening on a unix
// socket, with its shared root and run dir in a temp dir; the host client
// drives sandbox -> CopyFile -> container (read-only bind, read-write bind,
// the CopyFile'd file bound in, proc, read-only root) -> start -> output ->
// wait -> remove -> destroy, and the test checks files on disk and the
// agent's /proc/<pid>/mountinfo.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/client.h"
#include "core/types.h"
#include "support/test_util.h"
#include "sys/env.h"

namespace vmshare::agent {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

sys::Env* env() { return sys::Env::Default(); }

struct MountLine {
  std::string mount_point;
  std::string options;
};

std::vector<MountLine> MountsUnder(pid_t pid, const std::string& prefix) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/mountinfo");
  std::vector<MountLine> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, mp, opts;
    ls >> id >> parent >> devno >> root >> mp >> opts;
    if (mp == prefix || mp.rfind(prefix + "/", 0) == 0) out.push_back({mp, opts});
  }
  return out;
}

const MountLine* Find(const std::vector<MountLine>& v, const std::string& mp) {
  for (const auto& m : v) {
    if (m.mount_point == mp) return &m;
  }
  return nullptr;
}

bool HasOption(const std::string& opts, const std::string& o) {
  return ("," + opts + ",").find("," + o + ",") != std::string::npos;
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
    hostshare_ = tmp_ / "hostshare";  // stands in for the virtio-fs export
    shared_ = tmp_ / "shared";        // where the guest "mounts" it
    run_ = tmp_ / "run";
    rootfs_ = hostshare_ + "/c1/rootfs";
    fs::create_directories(rootfs_ + "/bin");
    fs::create_directories(rootfs_ + "/etc");
    fs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    fs::create_directories(tmp_ / "vol-ro");
    fs::create_directories(tmp_ / "vol-rw");
    fs::permissions(tmp_ / "vol-rw", fs::perms::all);
    testing::WriteFile(tmp_ / "vol-ro/file", "read-only data\n");

    sys::ChildOptions o;
    o.argv = {"unshare",  "--mount",           "--propagation", "private", VMSHARE_AGENT_BIN,
              "--socket", tmp_ / "agent.sock", "--shared-root", shared_,   "--run-dir",
              run_,       "--no-init"};
    o.stderr_path = tmp_ / "agent.log";
    o.die_with_parent = true;
    auto child = env()->Spawn(o);
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    agent_ = std::move(child).value();
    for (int i = 0; i < 500 && !client_; ++i) {
      auto c = AgentClient::Connect(env(), tmp_ / "agent.sock");
      if (c.ok()) {
        client_ = std::move(c).value();
      } else {
        env()->SleepFor(std::chrono::milliseconds(20));
      }
    }
    ASSERT_TRUE(client_) << "agent did not listen; log:\n" << testing::ReadFile(tmp_ / "agent.log");
  }

  void TearDown() override {
    client_.reset();
    if (agent_.pid > 0 && !agent_exited_) {
      env()->Kill(agent_, SIGKILL).IgnoreError();
      env()->Wait(agent_).status().IgnoreError();
    }
  }

  std::string ReadAll(bool err, const std::string& cid) {
    std::string out;
    for (;;) {
      auto chunk = err ? client_->ReadStderr(cid, "", 4096, std::chrono::seconds(30))
                       : client_->ReadStdout(cid, "", 4096, std::chrono::seconds(30));
      EXPECT_TRUE(chunk.ok()) << chunk.status().ToString();
      if (!chunk.ok() || chunk->empty()) return out;
      out += *chunk;
    }
  }

  std::vector<Storage> SandboxStorages() {
    Storage share;  // a bind stands in for virtio-fs, which needs a VM
    share.driver = "bind";
    share.source = hostshare_;
    share.mount_point = shared_;
    share.options = {"rbind"};
    Storage shm;
    shm.driver = "ephemeral";
    shm.source = "shm";
    shm.fstype = "tmpfs";
    shm.mount_point = tmp_ / "sandbox/shm";
    shm.options = {"nosuid", "nodev", "size=1m"};
    Storage local;
    local.driver = "local";
    local.mount_point = tmp_ / "sandbox/local";
    local.options = {"mode=0750"};
    return {share, shm, local};
  }

  TempDir tmp_;
  std::string hostshare_, shared_, run_, rootfs_;
  sys::Child agent_;
  bool agent_exited_ = false;
  std::unique_ptr<AgentClient> client_;
};

TEST_F(LifecycleTest, SandboxContainerCopyFileRunRemoveDestroy) {
  auto health = client_->Check();
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ(*health, ServingStatus::kServing);

  ASSERT_OK(client_->CreateSandbox(SandboxStorages(), "sb1"));
  auto mounts = MountsUnder(agent_.pid, tmp_.path());
  ASSERT_NE(Find(mounts, shared_), nullptr);
  ASSERT_NE(Find(mounts, tmp_ / "sandbox/shm"), nullptr);
  EXPECT_TRUE(HasOption(Find(mounts, tmp_ / "sandbox/shm")->options, "nosuid"));
  EXPECT_EQ(Find(mounts, tmp_ / "sandbox/local"), nullptr);  // local mounts nothing
  EXPECT_TRUE(fs::is_directory(tmp_ / "sandbox/local"));
  // The test's own namespace never sees the agent's mounts.
  EXPECT_EQ(testing::CountMountsUnder(tmp_.path()), 0);

  // CopyFile a config volume (as copy mode would) and a file into the rootfs,
  // in two chunks.
  const std::string vol = "c1-0123456789abcdef-app.conf";
  CopyFileRequest cf;
  cf.path = std::string(kGuestSharedDir) + "/" + vol;
  cf.file_mode = S_IFREG | 0644;
  cf.dir_mode = 0750;
  ASSERT_OK(client_->CopyFileChunked(cf, "copied config\n"));
  cf.path = std::string(kGuestSharedDir) + "/c1/rootfs/etc/motd";
  CopyFileRequest first = cf;
  first.file_size = 6;
  first.data = "hel";
  ASSERT_OK(client_->CopyFile(first));
  first.offset = 3;
  first.data = "lo\n";
  ASSERT_OK(client_->CopyFile(first));
  // Through the agent's bind, the host side sees both.
  EXPECT_EQ(testing::ReadFile(hostshare_ + "/" + vol), "copied config\n");
  EXPECT_EQ(testing::ReadFile(rootfs_ + "/etc/motd"), "hello\n");

  // An escape attempt through the agent: a planted absolute symlink.
  CopyFileRequest link;
  link.path = std::string(kGuestSharedDir) + "/esc";
  link.file_mode = S_IFLNK | 0777;
  link.data = tmp_.path();
  ASSERT_OK(client_->CopyFile(link));
  CopyFileRequest pwn;
  pwn.path = std::string(kGuestSharedDir) + "/esc/pwned";
  pwn.file_mode = S_IFREG | 0644;
  pwn.file_size = 1;
  pwn.data = "x";
  Status refused = client_->CopyFile(pwn);
  EXPECT_EQ(refused.code(), Code::kPermissionDenied) << refused.ToString();
  EXPECT_FALSE(fs::exists(tmp_ / "pwned"));

  CreateContainerRequest cr;
  cr.container_id = "c1";
  cr.exec_id = "c1";
  cr.spec.args = {"/bin/busybox", "sh", "-c",
                  "echo hello out; echo hello err >&2; cat /data/ro/file; "
                  "echo written > /data/rw/out; "
                  "echo nope > /data/ro/out2 || echo ro-refused; "
                  "touch /rootwrite || echo root-ro; "
                  "cat /etc/app.conf /etc/motd; /bin/busybox id -u; pwd; "
                  "test -e /proc/self/status && echo has-proc; exit 3"};
  cr.spec.env = {"PATH=/bin", "HOME=/"};
  cr.spec.cwd = "/data";
  cr.spec.uid = 1000;
  cr.spec.gid = 1000;
  cr.spec.root_readonly = true;
  cr.spec.mounts = {
      {tmp_ / "vol-ro", "/data/ro", "bind", {"bind", "ro"}},
      {tmp_ / "vol-rw", "/data/rw", "bind", {"rbind", "rw"}},
      {shared_ + "/" + vol, "/etc/app.conf", "bind", {"bind", "ro"}},
      {"proc", "/proc", "proc", {"nosuid", "noexec", "nodev"}},
  };
  ASSERT_OK(client_->CreateContainer(cr));
  const std::string bundle = run_ + "/containers/c1/rootfs";
  mounts = MountsUnder(agent_.pid, bundle);
  ASSERT_NE(Find(mounts, bundle), nullptr);
  EXPECT_TRUE(HasOption(Find(mounts, bundle)->options, "ro"));
  ASSERT_NE(Find(mounts, bundle + "/data/ro"), nullptr);
  EXPECT_TRUE(HasOption(Find(mounts, bundle + "/data/ro")->options, "ro"));
  ASSERT_NE(Find(mounts, bundle + "/data/rw"), nullptr);
  EXPECT_TRUE(HasOption(Find(mounts, bundle + "/data/rw")->options, "rw"));
  ASSERT_NE(Find(mounts, bundle + "/etc/app.conf"), nullptr);
  // Mount targets were created inside the root (which the host shares).
  EXPECT_TRUE(fs::is_directory(rootfs_ + "/data/ro"));
  EXPECT_TRUE(fs::is_regular_file(rootfs_ + "/etc/app.conf"));

  ASSERT_OK(client_->StartContainer("c1"));
  const std::string out = ReadAll(false, "c1");
  const std::string err = ReadAll(true, "c1");
  auto status = client_->WaitProcess("c1", "c1", std::chrono::seconds(30));
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, 3);
  EXPECT_EQ(out,
            "hello out\nread-only data\nro-refused\nroot-ro\ncopied config\nhello\n1000\n/data\n"
            "has-proc\n");
  // busybox complains on stderr about the two refused writes.
  EXPECT_EQ(err.rfind("hello err\n", 0), 0u) << err;
  EXPECT_NE(err.find("/data/ro/out2: Read-only file system"), std::string::npos) << err;
  EXPECT_EQ(testing::ReadFile(tmp_ / "vol-rw/out"), "written\n");
  EXPECT_FALSE(fs::exists(tmp_ / "vol-ro/out2"));
  EXPECT_FALSE(fs::exists(rootfs_ + "/rootwrite"));

  ASSERT_OK(client_->RemoveContainer("c1", 10));
  EXPECT_TRUE(MountsUnder(agent_.pid, run_).empty());
  EXPECT_FALSE(fs::exists(run_ + "/containers/c1"));
  EXPECT_EQ(client_->WaitProcess("c1", "", std::chrono::seconds(5)).status().code(),
            Code::kNotFound);

  ASSERT_OK(client_->DestroySandbox());
  auto exit = env()->Wait(agent_, std::chrono::milliseconds(30000));
  ASSERT_TRUE(exit.ok()) << exit.status().ToString();
  agent_exited_ = true;
  EXPECT_TRUE(exit->exited);
  EXPECT_EQ(exit->code, 0) << testing::ReadFile(tmp_ / "agent.log");
}

TEST_F(LifecycleTest, RemoveKillsARunningProcessAndReleasesStorages) {
  ASSERT_OK(client_->CreateSandbox(SandboxStorages(), "sb2"));
  CreateContainerRequest cr;
  cr.container_id = "c2";
  cr.spec.root_path = rootfs_;  // an absolute root path is used as is
  cr.spec.args = {"/bin/busybox", "sleep", "1000"};
  Storage vol;
  vol.driver = "ephemeral";
  vol.source = "tmpfs";
  vol.fstype = "tmpfs";
  vol.mount_point = tmp_ / "sandbox/ephemeral/c2";
  cr.storages = {vol, vol};  // same mount point twice: mounted once
  cr.spec.mounts = {{vol.mount_point, "/scratch", "bind", {"bind"}}};
  ASSERT_OK(client_->CreateContainer(cr));
  auto mounts = MountsUnder(agent_.pid, vol.mount_point);
  EXPECT_EQ(mounts.size(), 1u);
  ASSERT_OK(client_->StartContainer("c2"));
  ASSERT_OK(client_->RemoveContainer("c2", 10));
  EXPECT_TRUE(MountsUnder(agent_.pid, vol.mount_point).empty());
  EXPECT_TRUE(MountsUnder(agent_.pid, run_).empty());
  // The sandbox storages are still there until DestroySandbox.
  EXPECT_NE(Find(MountsUnder(agent_.pid, shared_), shared_), nullptr);
}

TEST_F(LifecycleTest, BadRequestsGetClearErrorsAndChangeNothing) {
  ASSERT_OK(client_->CreateSandbox(SandboxStorages(), "sb3"));
  CreateContainerRequest cr;
  cr.container_id = "../evil";
  cr.spec.args = {"/bin/busybox", "true"};
  Status s = client_->CreateContainer(cr);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();

  cr.container_id = "c3";
  cr.spec.root_path = rootfs_;
  cr.spec.mounts = {{tmp_ / "vol-ro", "/../../../escape", "bind", {"bind"}}};
  s = client_->CreateContainer(cr);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(MountsUnder(agent_.pid, run_).empty());

  // A symlink in the image pointing out of the root is resolved inside the
  // root: here its target does not exist there, so the mount is refused and
  // nothing outside is touched.
  fs::create_directories(tmp_ / "outside-target");
  fs::create_symlink(tmp_ / "outside-target", rootfs_ + "/evil");
  cr.spec.mounts = {{tmp_ / "vol-ro", "/evil/x", "bind", {"bind"}}};
  s = client_->CreateContainer(cr);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_TRUE(fs::is_empty(tmp_ / "outside-target"));
  EXPECT_TRUE(MountsUnder(agent_.pid, run_).empty());
  EXPECT_TRUE(MountsUnder(agent_.pid, tmp_ / "outside-target").empty());
  // An absolute symlink whose target exists inside the root is followed
  // inside the root: the mount lands at <root>/etc/x, never at the host's /etc.
  fs::create_symlink("/etc", rootfs_ + "/etc-link");
  cr.spec.mounts = {{tmp_ / "vol-ro", "/etc-link/x", "bind", {"bind"}}};
  ASSERT_OK(client_->CreateContainer(cr));
  EXPECT_TRUE(fs::is_directory(rootfs_ + "/etc/x"));
  EXPECT_FALSE(fs::exists("/etc/x"));
  const std::string bundle = run_ + "/containers/c3/rootfs";
  EXPECT_NE(Find(MountsUnder(agent_.pid, bundle), bundle + "/etc/x"), nullptr);
  ASSERT_OK(client_->RemoveContainer("c3", 10));

  Storage bad;
  bad.driver = "nine-p";
  bad.mount_point = tmp_ / "x";
  s = client_->CreateSandbox({bad}, "sb3");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("failed to find the storage handler"), std::string::npos);

  EXPECT_EQ(client_->StartContainer("nope").code(), Code::kNotFound);
}

}  // namespace
}  // namespace vmshare::agent
