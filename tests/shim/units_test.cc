// The shim's pure parts: containerd's wire messages, the command line,
// the config file, OCI spec reading and the socket naming.
#include <gtest/gtest.h>

#include "shim/address.h"
#include "shim/config.h"
#include "shim/oci_spec.h"
#include "shim/shim_args.h"
#include "shim/task_wire.h"

namespace vmshare::shim {
namespace {

TEST(ShimWire, RequestsRoundTripWithContainerdFieldNumbers) {
  CreateTask c{"c1",
               "/b",
               {{"overlay", "overlay", "", {"lowerdir=/l", "upperdir=/u"}}},
               {"/in", "/out", "/err", true},
               ""};
  auto back = DecodeCreateTask(EncodeCreateTask(c));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, c);
  // CreateTaskRequest: field 1 id "c1" is 0x0a 0x02 'c' '1'.
  EXPECT_EQ(EncodeCreateTask(c).substr(0, 4), std::string("\x0a\x02"
                                                          "c1",
                                                          4));
  auto k = DecodeProcessKey(EncodeProcessKey({"c1", "e1"}), "WaitRequest");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, (ProcessKey{"c1", "e1"}));
  EXPECT_EQ(DecodeKillTask("\xff\xff").status().code(), Code::kInvalidArgument);
}

TEST(ShimWire, ExitTimesAndStatusesSurvive) {
  ExitInfo e{12, 137, 1700000000123456789};
  auto d = DecodeDeleteResponse(EncodeDeleteResponse(e));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, e);
  auto w = DecodeWaitResponse(EncodeWaitResponse(e));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->exit_status, 137u);
  EXPECT_EQ(w->exited_at_ns, e.exited_at_ns);
}

TEST(ShimWire, EventsCarryContainerdTypeUrlsAndTopics) {
  struct Case {
    EventPayload e;
    const char* topic;
    const char* type;
  } cases[] = {
      {TaskCreateEvent(CreateTask{"c", "/b", {}, {}, ""}, 1), "/tasks/create",
       "containerd.events.TaskCreate"},
      {TaskStartEvent("c", 1), "/tasks/start", "containerd.events.TaskStart"},
      {TaskExitEvent({"c", ""}, {1, 143, 5}), "/tasks/exit", "containerd.events.TaskExit"},
      {TaskDeleteEvent({"c", ""}, {1, 0, 5}), "/tasks/delete", "containerd.events.TaskDelete"},
      {TaskExecAddedEvent({"c", "e"}), "/tasks/exec-added", "containerd.events.TaskExecAdded"},
      {TaskExecStartedEvent({"c", "e"}, 1), "/tasks/exec-started",
       "containerd.events.TaskExecStarted"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.topic);
    EXPECT_EQ(c.e.topic, c.topic);
    EXPECT_EQ(c.e.type_url, c.type);
    auto f = DecodeForwardRequest(EncodeForwardRequest("default", 99, c.e));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->ns, "default");
    EXPECT_EQ(f->timestamp_ns, 99);
    EXPECT_EQ(f->event.topic, c.topic);
    EXPECT_EQ(f->event.value, c.e.value);
  }
}

TEST(ShimArgs, ParsesContainerdCommandLines) {
  auto a =
      ParseShimArgs({"shim", "-namespace", "default", "-address", "/run/c.sock", "-publish-binary",
                     "/usr/bin/containerd", "-id", "c1", "-debug", "start"});
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->ns, "default");
  EXPECT_EQ(a->id, "c1");
  EXPECT_TRUE(a->debug);
  EXPECT_EQ(a->action, "start");
  auto d = ParseShimArgs({"shim", "-namespace=k8s.io", "-id", "c1", "-bundle", "/b", "delete"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->bundle, "/b");
  struct Bad {
    std::vector<std::string> argv;
    const char* says;
  } bad[] = {
      {{"shim", "-id", "c1", "-namespace", "n"}, "no action"},
      {{"shim", "-id", "c1", "-namespace", "n", "frobnicate"}, "unknown action"},
      {{"shim", "-bogus", "1", "start"}, "unknown flag \"-bogus\""},
      {{"shim", "-namespace", "n", "start"}, "\"-id\" is required"},
      {{"shim", "-namespace", "n", "-id", "c", "-socket-fd", "x", "serve"}, "not a descriptor"},
      {{"shim", "-namespace", "n", "-id"}, "needs a value"},
  };
  for (const auto& b : bad) {
    auto r = ParseShimArgs(b.argv);
    ASSERT_FALSE(r.ok()) << b.says;
    EXPECT_NE(r.status().message().find(b.says), std::string::npos) << r.status().message();
  }
}

TEST(ShimConfig, ParsesKnownKeysAndRefusesTheRest) {
  auto c = ParseShimConfig(R"({"root":"/r","shared_fs":"none","accel":"tcg","memory_mb":256,
                               "guest_dir":"/g","kubelet_root":"/k"})",
                           "shim.json");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->root, "/r");
  EXPECT_EQ(c->shared_fs, "none");
  EXPECT_EQ(c->accel, "tcg");
  EXPECT_EQ(c->memory_mb, 256);
  EXPECT_EQ(c->guest_dir, "/g");
  EXPECT_EQ(c->kubelet_root, "/k");
  struct Bad {
    const char* json;
    const char* says;
  } bad[] = {
      {"{", "shim.json: malformed JSON"},
      {R"({"roots":"/r"})", "unknown key \"roots\""},
      {R"({"root":"rel"})", "\"root\" must be an absolute path"},
      {R"({"shared_fs":"9p"})", "\"shared_fs\" must be"},
      {R"({"accel":"hvf"})", "\"accel\" must be"},
      {R"({"memory_mb":"512"})", "\"memory_mb\" must be an integer"},
      {R"({"memory_mb":64})", "[128, 65536]"},
  };
  for (const auto& b : bad) {
    auto r = ParseShimConfig(b.json, "shim.json");
    ASSERT_FALSE(r.ok()) << b.json;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(b.says), std::string::npos) << r.status().message();
  }
}

TEST(ShimSpec, SandboxMembershipFollowsCriAnnotations) {
  auto s = ParseSpec(R"({"process":{"args":["sh"],"terminal":true,"user":{"uid":5,"gid":6}},
                         "root":{"path":"rootfs","readonly":true},
                         "mounts":[{"destination":"/d","type":"bind","source":"/s","options":["rbind","ro"]},
                                   {"destination":"/proc","type":"proc","source":"proc"}],
                         "annotations":{"io.kubernetes.cri.container-type":"container",
                                        "io.kubernetes.cri.sandbox-id":"pod1"}})",
                     "config.json");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->process.terminal);
  EXPECT_EQ(s->process.uid, 5u);
  EXPECT_TRUE(s->root_readonly);
  ASSERT_EQ(s->mounts.size(), 2u);
  EXPECT_TRUE(IsHostBind(s->mounts[0]));
  EXPECT_FALSE(IsHostBind(s->mounts[1]));
  EXPECT_EQ(SandboxIdOf(*s, "app"), "pod1");
  EXPECT_FALSE(StartsSandbox(*s, "app"));
  OciSpec lone;
  EXPECT_EQ(SandboxIdOf(lone, "c1"), "c1");
  EXPECT_TRUE(StartsSandbox(lone, "c1"));
  auto bad = ParseSpec(R"({"process":{"args":"sh"}})", "config.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(".process.args must be an array"), std::string::npos);
}

TEST(ShimAddress, SocketDependsOnNamespaceAndSandbox) {
  const std::string a = ShimSocketPath("/run/containerd/s", "default", "pod1");
  EXPECT_EQ(a, ShimSocketPath("/run/containerd/s", "default", "pod1"));
  EXPECT_NE(a, ShimSocketPath("/run/containerd/s", "k8s.io", "pod1"));
  EXPECT_NE(a, ShimSocketPath("/run/containerd/s", "default", "pod2"));
  EXPECT_LT(a.size(), 108u);  // sun_path
  EXPECT_EQ(AddressOf("/x"), "unix:///x");
}

}  // namespace
}  // namespace vmshare::shim
