// The persist.json mapping: every field round-trips, Kata's documents (3.x
// and the 2.x shape of the seed) decode, unknown keys survive a rewrite, and
// bad documents are refused with the file and the problem named.
#include "persist/schema.h"

#include <gtest/gtest.h>

#include "support/test_util.h"

namespace vmshare::persist {
namespace {

using vmshare::testing::ReadFile;

ContainerState FullContainer() {
  ContainerState s;
  s.state = "running";
  s.rootfs = {.source = "/b/rootfs",
              .destination = "/",
              .type = "xfs",
              .options = {"nouuid", "ro"},
              .host_path = "/run/vmshare/s1/mounts/c1/rootfs",
              .block_device_id = "drive-1",
              .read_only = true,
              .mounted = true};
  s.cgroup_path = "/kata/c1";
  s.device_maps = {
      {.id = "d1", .container_path = "/dev/x", .file_mode = 69206432, .uid = 7, .gid = 8},
      {.id = "d2", .container_path = "/dev/y", .file_mode = 0600, .uid = 0, .gid = 0}};
  s.mounts = {{.source = "/a",
               .destination = "/m/a",
               .type = "bind",
               .options = {"rbind", "ro"},
               .host_path = "/h/a",
               .block_device_id = "",
               .read_only = true,
               .mounted = true},
              {.source = "/b",
               .destination = "/m/b",
               .type = "bind",
               .options = {},
               .host_path = "",
               .block_device_id = "blk",
               .read_only = false,
               .mounted = false}};
  s.process = {{.token = "t", .pid = 99, .start_time = "2026-11-22T23:00:00.5Z"}};
  s.bundle_path = "/b";
  return s;
}

Json Parse(const std::string& text) {
  auto doc = ParseDocument(text, "mem");
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : Json();
}

// Every key of `a` is in `b` with a value that contains it the same way.
bool Contains(const Json& a, const Json& b, const std::string& at, std::string* why) {
  if (a.is_object()) {
    if (!b.is_object()) return *why = at + ": not an object", false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!b.contains(it.key())) return *why = at + "." + it.key() + ": missing", false;
      if (!Contains(it.value(), b.at(it.key()), at + "." + it.key(), why)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (!b.is_array() || a.size() != b.size()) return *why = at + ": array differs", false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!Contains(a[i], b[i], at + "[" + std::to_string(i) + "]", why)) return false;
    return true;
  }
  if (a != b) return *why = at + ": " + a.dump() + " became " + b.dump(), false;
  return true;
}

TEST(SchemaTest, ContainerRoundTripsEveryField) {
  const ContainerState s = FullContainer();
  const std::string bytes = Serialize(ContainerToJson(s, nullptr));
  auto back = ContainerFromJson(Parse(bytes), "mem");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, s);
  EXPECT_EQ(bytes.back(), '\n');
}

TEST(SchemaTest, SeveralProcessesRoundTripAndProcessStaysAnObject) {
  ContainerState s = FullContainer();
  s.process.push_back({.token = "u", .pid = 100, .start_time = ""});
  const Json j = ContainerToJson(s, nullptr);
  EXPECT_TRUE(j["Process"].is_object());
  EXPECT_EQ(j["Process"]["Token"], "t");
  auto back = ContainerFromJson(j, "mem");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
}

TEST(SchemaTest, WritesKataNamesAndGoConventions) {
  ContainerState s = FullContainer();
  s.process.clear();
  s.mounts[1].options.clear();
  const Json j = ContainerToJson(s, nullptr);
  for (const char* k :
       {"State", "CgroupPath", "BundlePath", "Rootfs", "Process", "DeviceMaps", "Mounts"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["Rootfs"]["FsType"], "xfs");
  EXPECT_EQ(j["Rootfs"]["BlockDeviceID"], "drive-1");
  EXPECT_EQ(j["Process"]["StartTime"], kGoZeroTime);
  EXPECT_EQ(j["Process"]["Pid"], 0);
  EXPECT_TRUE(j["Mounts"][1]["Options"].is_null());
  EXPECT_EQ(j["DeviceMaps"][0]["FileMode"], 69206432);
  for (const char* k : {"ID", "ContainerPath", "FileMode", "UID", "GID"})
    EXPECT_TRUE(j["DeviceMaps"][0].contains(k));
  for (const char* k : {"Source", "Destination", "Type", "Options", "HostPath", "BlockDeviceID",
                        "ReadOnly", "Mounted"})
    EXPECT_TRUE(j["Mounts"][0].contains(k)) << k;
  EXPECT_FALSE(j.contains(kVmshareKey));
  auto back = ContainerFromJson(j, "mem");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
}

TEST(SchemaTest, SandboxRoundTripsEveryField) {
  SandboxState s{.persist_version = 2,
                 .state = "ready",
                 .sandbox_container = "s1",
                 .shared_fs = "none",
                 .bind_mounts = {"/etc/a", "/srv/b"}};
  const Json j = SandboxToJson(s, nullptr);
  EXPECT_EQ(j["PersistVersion"], 2);
  EXPECT_EQ(j[kVmshareKey]["SharedFs"], "none");
  auto back = SandboxFromJson(Parse(Serialize(j)), "mem");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, s);
}

TEST(SchemaTest, Kata3ContainerLoadsAndKeepsUnknownFields) {
  const std::string path = PERSIST_TESTDATA "/kata3_container.json";
  const Json original = Parse(ReadFile(path));
  auto s = ContainerFromJson(original, path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->state, "running");
  EXPECT_EQ(s->rootfs.block_device_id, "drive-3");
  EXPECT_EQ(s->rootfs.type, "xfs");
  ASSERT_EQ(s->process.size(), 1u);
  EXPECT_EQ(s->process[0].pid, 4242);
  EXPECT_EQ(s->process[0].start_time, "2026-11-20T10:11:12.123456789+01:00");
  ASSERT_EQ(s->device_maps.size(), 1u);
  EXPECT_EQ(s->device_maps[0].file_mode, 69206432u);
  EXPECT_EQ(s->device_maps[0].gid, 5u);
  ASSERT_EQ(s->mounts.size(), 2u);
  EXPECT_EQ(s->mounts[1].destination, "/etc/hosts");
  EXPECT_TRUE(s->mounts[1].read_only);
  EXPECT_EQ(s->mounts[0].options, (std::vector<std::string>{"rbind", "rprivate", "rw"}));

  const Json rewritten = Parse(Serialize(ContainerToJson(*s, &original)));
  std::string why;
  EXPECT_TRUE(Contains(original, rewritten, "$", &why)) << why;
  auto again = ContainerFromJson(rewritten, "mem");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *s);
}

TEST(SchemaTest, UnknownMountFieldsFollowTheirMountWhenOthersGo) {
  const Json original = Parse(ReadFile(PERSIST_TESTDATA "/kata3_container.json"));
  auto s = ContainerFromJson(original, "mem");
  ASSERT_TRUE(s.ok());
  ContainerState fewer = *s;
  fewer.mounts.erase(fewer.mounts.begin() + 1);
  const Json j = ContainerToJson(fewer, &original);
  ASSERT_EQ(j["Mounts"].size(), 1u);
  EXPECT_EQ(j["Mounts"][0]["Reserved"]["Note"], "a field from a future Kata");
  EXPECT_EQ(j["DeviceMaps"][0]["Shared"], true);
}

TEST(SchemaTest, Kata3SandboxLoadsAndKeepsUnknownFields) {
  const std::string path = PERSIST_TESTDATA "/kata3_sandbox.json";
  const Json original = Parse(ReadFile(path));
  auto s = SandboxFromJson(original, path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->state, "running");
  EXPECT_EQ(s->sandbox_container, "s1");
  EXPECT_EQ(s->persist_version, 2u);
  const Json rewritten = Parse(Serialize(SandboxToJson(*s, &original)));
  std::string why;
  EXPECT_TRUE(Contains(original, rewritten, "$", &why)) << why;
}

TEST(SchemaTest, Kata2ShapeLoads) {
  const std::string path = PERSIST_TESTDATA "/kata2_container.json";
  auto s = ContainerFromJson(Parse(ReadFile(path)), path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->rootfs.host_path, "/run/kata-containers/shared/sandboxes/s1/c2/rootfs");
  EXPECT_TRUE(s->rootfs.mounted);
  ASSERT_EQ(s->process.size(), 2u);
  EXPECT_EQ(s->process[1].token, "t2");
  EXPECT_EQ(s->process[1].start_time, "");
  EXPECT_TRUE(s->mounts[0].mounted);
}

// OCI allows two mounts at one destination (the later shadows the earlier):
// each keeps its own unknown keys through a rewrite, and through one that
// drops the first of them.
TEST(SchemaTest, TwoMountsAtOneDestinationKeepTheirOwnUnknownKeys) {
  const std::string text = R"({"Mounts":[{"Source":"/a","Destination":"/d","Mine":"first"},)"
                           R"({"Source":"/b","Destination":"/d","Mine":"second"}]})";
  const std::string path = "/state/s1/c1/persist.json";
  auto s = DecodeContainer(text, path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->mounts.size(), 2u);
  s->mounts[0].mounted = true;
  s->mounts[1].host_path = "/h/b";
  auto out = EncodeContainer(*s, &text, path);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  Json j = Parse(*out);
  EXPECT_EQ(j["Mounts"][0]["Mine"], "first");
  EXPECT_EQ(j["Mounts"][1]["Mine"], "second");
  EXPECT_EQ(j["Mounts"][1]["HostPath"], "/h/b");

  // The first goes: the second keeps "second" (matched by identity, not by
  // its destination or its old position).
  ContainerState fewer = *s;
  fewer.mounts.erase(fewer.mounts.begin());
  auto out2 = EncodeContainer(fewer, &*out, path);
  ASSERT_TRUE(out2.ok());
  Json j2 = Parse(*out2);
  ASSERT_EQ(j2["Mounts"].size(), 1u);
  EXPECT_EQ(j2["Mounts"][0]["Mine"], "second");
  EXPECT_EQ(j2["Mounts"][0]["Source"], "/b");

  // The same through the DOM interface.
  const Json dom = ContainerToJson(fewer, &j);
  EXPECT_EQ(dom["Mounts"][0]["Mine"], "second");
}

// What a save writes is valid UTF-8 whatever the state held, so the next
// load (which validates) never refuses our own file.
TEST(SchemaTest, InvalidUtf8InStateIsReplacedOnWrite) {
  ContainerState s;
  s.state = std::string("run\xff\xfening");
  auto out = EncodeContainer(s, nullptr, "mem");
  ASSERT_TRUE(out.ok());
  auto back = DecodeContainer(*out, "mem");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << *out;
  EXPECT_EQ(back->state, "run\xEF\xBF\xBD\xEF\xBF\xBDning");
}

struct BadCase {
  const char* name;
  const char* text;
  Code code;
  const char* needle;
};

TEST(SchemaTest, BadDocumentsAreRefusedWithFileAndReason) {
  static const BadCase kCases[] = {
      {"empty", "", Code::kCorruption, "empty file"},
      {"torn", "{\"State\":\"runn", Code::kCorruption, "parse error"},
      {"not an object", "[1,2]", Code::kCorruption, "expected a JSON object"},
      {"wrong type", "{\"State\":1}", Code::kCorruption, "field State: expected a string"},
      {"nested type", "{\"Mounts\":[{\"ReadOnly\":\"yes\"}]}", Code::kCorruption,
       "Mounts[0].ReadOnly"},
      {"pid range", "{\"Process\":{\"Pid\":99999999999}}", Code::kCorruption,
       "Process.Pid: out of range"},
      {"process shape", "{\"Process\":\"x\"}", Code::kCorruption, "expected an object or an array"},
  };
  for (const auto& c : kCases) {
    auto doc = ParseDocument(c.text, "/state/s1/c1/persist.json");
    Status s =
        doc.ok() ? ContainerFromJson(*doc, "/state/s1/c1/persist.json").status() : doc.status();
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s.ToString();
    EXPECT_NE(s.message().find("/state/s1/c1/persist.json"), std::string::npos)
        << c.name << ": " << s.message();
    EXPECT_NE(s.message().find(c.needle), std::string::npos) << c.name << ": " << s.message();
  }
}

TEST(SchemaTest, UnknownPersistVersionIsRefused) {
  for (const char* text :
       {"{\"PersistVersion\":3}", "{\"State\":\"ready\"}", "{\"PersistVersion\":1}"}) {
    auto s = SandboxFromJson(Parse(text), "/state/s1/persist.json");
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), Code::kUnimplemented);
    EXPECT_NE(s.status().message().find("unsupported PersistVersion"), std::string::npos);
    EXPECT_NE(s.status().message().find("/state/s1/persist.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace vmshare::persist
