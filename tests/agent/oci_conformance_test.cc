// The container the agent builds is what the OCI runtime spec says: a
// runc-style spec (proc, a tmpfs /dev with a bind under it, devpts, shm,
// mqueue, sysfs, cgroup; pid/ipc/uts/net/mount namespaces; capabilities,
// rlimits, no_new_privileges, umask, groups, sysctl, masked and read-only
// paths, devices) run by the real vmshare-agent in a mount namespace of its
// own, checked from inside the container through /proc/self/status and
// friends. The same agent code runs in the guest (tests/vm checks it there).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>

#include "agent/client.h"
#include "core/types.h"
#include "support/test_util.h"
#include "sys/env.h"

namespace vmshare::agent {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

sys::Env* env() { return sys::Env::Default(); }

class OciConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
    hostshare_ = tmp_ / "hostshare";
    shared_ = tmp_ / "shared";
    run_ = tmp_ / "run";
    rootfs_ = hostshare_ + "/c1/rootfs";
    fs::create_directories(rootfs_ + "/bin");
    fs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    for (const char* applet : {"sh", "cat", "grep", "head", "wc", "ls", "readlink", "hostname",
                               "echo", "stat", "id", "test", "touch", "sleep"}) {
      fs::create_symlink("busybox", rootfs_ + "/bin/" + applet);
    }
    testing::WriteFile(tmp_ / "termination-log", "");

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
    Storage share;
    share.driver = "bind";
    share.source = hostshare_;
    share.mount_point = shared_;
    share.options = {"rbind"};
    ASSERT_OK(client_->CreateSandbox({share}, "sb1"));
  }

  void TearDown() override {
    if (client_) client_->DestroySandbox().IgnoreError();
    client_.reset();
    if (agent_.pid > 0) {
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

  // A spec as `runc spec` writes it, plus the fields runc's default leaves out.
  CreateContainerRequest RuncStyle(const std::string& script) {
    CreateContainerRequest cr;
    cr.container_id = "c1";
    cr.exec_id = "c1";
    cr.spec.args = {"/bin/sh", "-c", script};
    cr.spec.env = {"PATH=/bin"};
    cr.spec.additional_gids = {10, 20};
    cr.spec.root_readonly = true;
    cr.spec.hostname = "oci-test";
    cr.spec.mounts = {
        {"proc", "/proc", "proc", {}},
        {"tmpfs", "/dev", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
        // Listed after /dev: it must end up on top of the tmpfs.
        {tmp_ / "termination-log", "/dev/termination-log", "bind", {"rbind", "rw"}},
        {"devpts",
         "/dev/pts",
         "devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
        {"shm", "/dev/shm", "tmpfs", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
        {"mqueue", "/dev/mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
        {"sysfs", "/sys", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
        {"cgroup", "/sys/fs/cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
    };
    const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    cr.spec.capabilities = SpecCapabilities{caps, caps, {}, caps, {}};
    cr.spec.rlimits = {{"RLIMIT_NOFILE", 1024, 512}};
    cr.spec.no_new_privileges = true;
    cr.spec.umask = 027;
    cr.spec.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}};
    cr.spec.sysctl = {{"kernel.shm_rmid_forced", "1"}};
    cr.spec.masked_paths = {"/proc/kcore", "/proc/version", "/proc/sys/fs", "/proc/nonexistent"};
    cr.spec.readonly_paths = {"/proc/sys", "/proc/sysrq-trigger"};
    cr.spec.devices = {{"/dev/mynull", "c", 1, 3, 0600, 1000, 1000}};
    return cr;
  }

  struct Run {
    std::string out, err;
    int status = -1;
  };
  Run CreateStartWait(const CreateContainerRequest& cr) {
    Run r;
    Status created = client_->CreateContainer(cr);
    EXPECT_TRUE(created.ok()) << created.ToString() << "\n"
                              << testing::ReadFile(tmp_ / "agent.log");
    if (!created.ok()) return r;
    EXPECT_OK(client_->StartContainer(cr.container_id));
    r.out = ReadAll(false, cr.container_id);
    r.err = ReadAll(true, cr.container_id);
    auto status = client_->WaitProcess(cr.container_id, cr.exec_id, std::chrono::seconds(30));
    EXPECT_TRUE(status.ok()) << status.status().ToString();
    if (status.ok()) r.status = *status;
    EXPECT_OK(client_->RemoveContainer(cr.container_id, 10));
    return r;
  }

  TempDir tmp_;
  std::string hostshare_, shared_, run_, rootfs_;
  sys::Child agent_;
  std::unique_ptr<AgentClient> client_;
};

TEST_F(OciConformanceTest, RuncStyleSpecIsAppliedInside) {
  const Run r = CreateStartWait(RuncStyle(
      "echo pid=$$; hostname; grep -E '^(CapEff|CapBnd|NoNewPrivs|Groups):' /proc/self/status;"
      "ulimit -n; ulimit -Hn; umask; cat /proc/sys/kernel/shm_rmid_forced;"
      "(echo 0 > /proc/sys/kernel/shm_rmid_forced) 2>/dev/null || echo sysctl-ro;"
      "echo version=$(wc -c < /proc/version); echo fs=$(ls /proc/sys/fs | wc -l);"
      "cat /proc/1/comm; grep -l vmshare-agent /proc/[0-9]*/comm 2>/dev/null | wc -l;"
      "echo drop > /dev/null; test -c /dev/null && echo null-is-device;"
      "head -c4 /dev/urandom | wc -c; head -c3 /dev/zero | wc -c;"
      "stat -c '%F %t:%T %a %u' /dev/mynull /dev/full /dev/tty;"
      "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done;"
      "test -c /dev/pts/ptmx && echo has-pts;"
      "echo terminated > /dev/termination-log;"
      "touch /dev/shm/x && echo shm-rw; (touch /sys/x) 2>/dev/null || echo sys-ro;"
      "test -e /sys/fs/cgroup/cgroup.controllers && echo cgroup2;"
      "(touch /rootfile) 2>/dev/null || echo root-ro"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "pid=1\n"
            "oci-test\n"
            "Groups:\t10 20 \n"
            "CapEff:\t0000000020000420\n"
            "CapBnd:\t0000000020000420\n"
            "NoNewPrivs:\t1\n"
            "512\n1024\n"
            "0027\n"
            "1\n"
            "sysctl-ro\n"
            "version=0\nfs=0\n"
            "sh\n0\n"
            "null-is-device\n"
            "4\n3\n"
            "character special file 1:3 600 1000\n"
            "character special file 1:7 666 0\n"
            "character special file 5:0 666 0\n"
            "/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\n"
            "has-pts\n"
            "shm-rw\nsys-ro\n"
            "cgroup2\n"
            "root-ro\n")
      << r.err;
  // The bind listed after the /dev tmpfs sits on top of it: the write reached
  // the host file.
  EXPECT_EQ(testing::ReadFile(tmp_ / "termination-log"), "terminated\n");
  // The read-only root still got its mount targets and /dev made first.
  EXPECT_TRUE(fs::is_directory(rootfs_ + "/proc"));
  EXPECT_TRUE(fs::is_directory(rootfs_ + "/sys"));
}

TEST_F(OciConformanceTest, WhatCannotApplyIsRefusedNamingTheField) {
  struct Case {
    const char* name;
    std::function<void(ContainerSpec*)> change;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"user ns",
       [](ContainerSpec* s) {
         s->namespaces.push_back({"user", ""});
       },
       "user namespace is not supported"},
      {"hostname without uts",
       [](ContainerSpec* s) {
         s->namespaces = {{"mount", ""}};
       },
       "needs a new uts namespace"},
      {"unknown cap", [](ContainerSpec* s) { s->capabilities->effective.push_back("CAP_FLY"); },
       "unknown capability \"CAP_FLY\""},
      {"unknown rlimit",
       [](ContainerSpec* s) {
         s->rlimits.push_back({"RLIMIT_FUN", 1, 1});
       },
       "unknown type \"RLIMIT_FUN\""},
      {"net sysctl without netns",
       [](ContainerSpec* s) {
         s->namespaces = {{"uts", ""}, {"ipc", ""}, {"network", "/var/run/netns/x"}};
         s->sysctl = {{"net.ipv4.ip_forward", "1"}};
       },
       "needs a new network namespace"},
      {"device outside /dev",
       [](ContainerSpec* s) {
         s->devices = {{"/etc/null", "c", 1, 3, 0666, 0, 0}};
       },
       "not a path under /dev"},
  };
  for (const auto& c : cases) {
    CreateContainerRequest cr = RuncStyle("true");
    c.change(&cr.spec);
    Status s = client_->CreateContainer(cr);
    EXPECT_FALSE(s.ok()) << c.name;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << c.name << ": " << s.ToString();
    // Nothing is left: the same id can be created again.
    EXPECT_FALSE(fs::exists(run_ + "/containers/c1/rootfs/proc")) << c.name;
  }
  const Run r = CreateStartWait(RuncStyle("echo ok"));
  EXPECT_EQ(r.out, "ok\n") << r.err;
}

// A rootfs whose /dev is no mount keeps the nodes an earlier container made
// there (as runc leaves them) when they are what the spec asks for: the
// agent does not unlink and remake them, which a read-only share (`vmshare
// run` with root.readonly) would refuse. A wrong node is replaced.
TEST_F(OciConformanceTest, DeviceNodesAlreadyInTheRootfsAreKept) {
  fs::create_directories(rootfs_ + "/dev");
  auto node = [&](const std::string& name, unsigned major, unsigned minor) {
    const std::string path = rootfs_ + "/dev/" + name;
    ASSERT_EQ(::mknod(path.c_str(), S_IFCHR | 0666, makedev(major, minor)), 0) << path;
    ASSERT_EQ(::chmod(path.c_str(), 0666), 0);
  };
  node("null", 1, 3);
  node("zero", 1, 5);
  node("full", 1, 7);
  node("random", 1, 8);
  node("urandom", 1, 9);
  node("tty", 5, 0);
  auto ino = [&](const std::string& name) {
    struct stat st {};
    EXPECT_EQ(::lstat((rootfs_ + "/dev/" + name).c_str(), &st), 0) << name;
    return st.st_ino;
  };
  // A second name for two of them: a node remade in place would be a new
  // inode (whose number the filesystem may well reuse), with one link.
  fs::create_hard_link(rootfs_ + "/dev/null", rootfs_ + "/null.link");
  fs::create_hard_link(rootfs_ + "/dev/tty", rootfs_ + "/tty.link");
  const ino_t null_ino = ino("null"), tty_ino = ino("tty");
  auto no_dev_mount = [&](const std::string& script) {
    CreateContainerRequest cr = RuncStyle(script);
    cr.spec.devices.clear();
    cr.spec.mounts = {{"proc", "/proc", "proc", {}}};
    return cr;
  };
  Run r = CreateStartWait(no_dev_mount("echo x > /dev/null && head -c 3 /dev/zero | wc -c"));
  EXPECT_EQ(r.out, "3\n") << r.err;
  EXPECT_EQ(ino("null"), null_ino);
  EXPECT_EQ(ino("tty"), tty_ino);
  EXPECT_EQ(fs::hard_link_count(rootfs_ + "/dev/null"), 2u);
  EXPECT_EQ(fs::hard_link_count(rootfs_ + "/dev/tty"), 2u);

  // A plain file where /dev/null belongs is replaced by the device.
  fs::remove(rootfs_ + "/dev/null");
  testing::WriteFile(rootfs_ + "/dev/null", "not a device");
  r = CreateStartWait(no_dev_mount("echo x > /dev/null && test -c /dev/null && echo ok"));
  EXPECT_EQ(r.out, "ok\n") << r.err;
  struct stat st {};
  ASSERT_EQ(::lstat((rootfs_ + "/dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
}

TEST_F(OciConformanceTest, NonRootGetsAmbientCapsAndFailedExecIsReported) {
  CreateContainerRequest cr = RuncStyle("grep -E '^Cap(Eff|Amb):' /proc/self/status; id -u");
  cr.spec.uid = 1000;
  cr.spec.gid = 1000;
  const std::vector<std::string> caps = {"CAP_NET_BIND_SERVICE"};
  cr.spec.capabilities = SpecCapabilities{caps, caps, caps, caps, caps};
  const Run r = CreateStartWait(cr);
  EXPECT_EQ(r.out, "CapEff:\t0000000000000400\nCapAmb:\t0000000000000400\n1000\n") << r.err;

  CreateContainerRequest missing = RuncStyle("true");
  missing.spec.args = {"/bin/nonexistent"};
  ASSERT_OK(client_->CreateContainer(missing));
  Status started = client_->StartContainer("c1");
  EXPECT_FALSE(started.ok());
  EXPECT_NE(started.message().find("execve"), std::string::npos) << started.ToString();
  EXPECT_OK(client_->RemoveContainer("c1", 10));
}

// ExecProcess runs inside the container: the init's pid, uts, ipc, net,
// mount and cgroup namespaces and its root, with the container's privileges,
// its stdin on a pipe (WriteStdin, CloseStdin) or on a pty.
TEST_F(OciConformanceTest, ExecJoinsTheContainersNamespacesAndRoot) {
  CreateContainerRequest cr = RuncStyle("exec sleep 1000");
  Status created = client_->CreateContainer(cr);
  ASSERT_TRUE(created.ok()) << created.ToString() << "\n" << testing::ReadFile(tmp_ / "agent.log");
  ASSERT_OK(client_->StartContainer("c1"));
  auto read_to_eof = [&](const std::string& exec_id) {
    std::string out;
    for (;;) {
      auto chunk = client_->ReadStdout("c1", exec_id, 4096, std::chrono::seconds(30));
      EXPECT_TRUE(chunk.ok()) << chunk.status().ToString();
      if (!chunk.ok() || chunk->empty()) return out;
      out += *chunk;
    }
  };
  ExecProcessRequest e;
  e.process = {"c1", "e1"};
  e.spec.args = {
      "/bin/sh", "-c",
      "read line; echo got:$line; hostname; cat /proc/1/comm; test $$ != 1 && echo not-pid1;"
      "for n in pid uts ipc net mnt cgroup; do"
      "  test \"$(readlink /proc/self/ns/$n)\" = \"$(readlink /proc/1/ns/$n)\" && echo same-$n;"
      "done;"
      "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status; umask; ulimit -n;"
      "test -c /dev/mynull && echo in-root"};
  e.spec.env = {"PATH=/bin"};
  Status execed = client_->ExecProcess(e);
  ASSERT_TRUE(execed.ok()) << execed.ToString() << "\n" << testing::ReadFile(tmp_ / "agent.log");
  auto wrote = client_->WriteStdin("c1", "e1", "hi\n");
  ASSERT_TRUE(wrote.ok()) << wrote.status().ToString();
  ASSERT_OK(client_->CloseStdin("c1", "e1"));
  EXPECT_EQ(read_to_eof("e1"),
            "got:hi\noci-test\nsleep\nnot-pid1\n"
            "same-pid\nsame-uts\nsame-ipc\nsame-net\nsame-mnt\nsame-cgroup\n"
            "CapEff:\t0000000020000420\nNoNewPrivs:\t1\n0027\n512\nin-root\n");
  auto status = client_->WaitProcess("c1", "e1", std::chrono::seconds(30));
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, 0);

  ExecProcessRequest t;
  t.process = {"c1", "t1"};
  t.spec.args = {"/bin/sh", "-c", "test -t 0 && test -t 1 && echo on-tty; cat /proc/1/comm"};
  t.spec.env = {"PATH=/bin"};
  t.spec.terminal = true;
  ASSERT_OK(client_->ExecProcess(t));
  EXPECT_EQ(read_to_eof("t1"), "on-tty\r\nsleep\r\n");
  status = client_->WaitProcess("c1", "t1", std::chrono::seconds(30));
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, 0);

  // The init's end ends its pid namespace; an exec is then refused.
  ASSERT_OK(client_->SignalProcess("c1", "", SIGKILL));
  status = client_->WaitProcess("c1", "c1", std::chrono::seconds(30));
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, 137);
  e.process.exec_id = "e2";
  EXPECT_EQ(client_->ExecProcess(e).code(), Code::kFailedPrecondition);
  EXPECT_OK(client_->RemoveContainer("c1", 10));
}

}  // namespace
}  // namespace vmshare::agent
