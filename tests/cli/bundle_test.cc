#include "cli/bundle.h"

#include <gtest/gtest.h>

#include "support/test_util.h"

namespace vmshare::cli {
namespace {

using vmshare::testing::TempDir;
using vmshare::testing::WriteFile;

constexpr char kGood[] = R"({
  "ociVersion": "1.0.2",
  "process": {"args": ["sh", "-c", "echo hi"], "env": ["PATH=/bin"], "cwd": "/work",
              "user": {"uid": 1000, "gid": 100}},
  "root": {"path": "rootfs", "readonly": true},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "rw"]},
    {"destination": "/cfg", "source": "/srv/cfg", "options": ["bind", "ro"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}
  ],
  "linux": {"namespaces": [{"type": "mount"}]}
})";

TEST(BundleTest, ParsesWhatWeUse) {
  auto b = ParseBundleConfig(kGood, "/b", "/b/config.json");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->rootfs, "/b/rootfs");
  EXPECT_TRUE(b->rootfs_readonly);
  EXPECT_EQ(b->process.args, (std::vector<std::string>{"sh", "-c", "echo hi"}));
  EXPECT_EQ(b->process.cwd, "/work");
  EXPECT_EQ(b->process.uid, 1000u);
  EXPECT_EQ(b->process.gid, 100u);
  ASSERT_EQ(b->mounts.size(), 4u);
  EXPECT_FALSE(IsHostBind(b->mounts[0]));
  EXPECT_TRUE(IsHostBind(b->mounts[1]));
  EXPECT_FALSE(b->mounts[1].read_only);
  EXPECT_TRUE(IsHostBind(b->mounts[2]));
  EXPECT_TRUE(b->mounts[2].read_only);
  EXPECT_FALSE(IsHostBind(b->mounts[3]));
}

TEST(BundleTest, AbsoluteRootKept) {
  auto b = ParseBundleConfig(R"({"root": {"path": "/abs/rootfs"}})", "/b", "c");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->rootfs, "/abs/rootfs");
}

struct BadCase {
  const char* name;
  const char* json;
  const char* want;  // substring of the message
};

TEST(BundleTest, MalformedConfigsNameTheProblem) {
  const BadCase kCases[] = {
      {"not_json", "{\"root\": ", "parse error"},
      {"array_top", "[]", "top level must be an object"},
      {"no_root", "{}", ".root is missing"},
      {"root_string", R"({"root": "x"})", ".root must be an object"},
      {"empty_path", R"({"root": {"path": ""}})", ".root.path is missing"},
      {"args_not_strings", R"({"root": {"path": "r"}, "process": {"args": [1]}})",
       ".process.args[0]"},
      {"uid_negative", R"({"root": {"path": "r"}, "process": {"user": {"uid": -1}}})",
       ".process.user.uid"},
      {"uid_huge", R"({"root": {"path": "r"}, "process": {"user": {"uid": 99999999999}}})",
       "out of range"},
      {"mount_relative",
       R"({"root": {"path": "r"}, "mounts": [{"destination": "x", "type": "bind", "source": "/s"}]})",
       ".mounts[0].destination must be an absolute path"},
      {"bind_no_source",
       R"({"root": {"path": "r"}, "mounts": [{"destination": "/x", "type": "bind"}]})",
       ".mounts[0].source is missing"},
      {"mounts_object", R"({"root": {"path": "r"}, "mounts": {}})", ".mounts must be an array"},
  };
  for (const auto& c : kCases) {
    auto b = ParseBundleConfig(c.json, "/b", "/b/config.json");
    ASSERT_FALSE(b.ok()) << c.name;
    EXPECT_EQ(b.status().code(), Code::kInvalidArgument) << c.name;
    EXPECT_NE(b.status().message().find("\"/b/config.json\""), std::string::npos) << c.name;
    EXPECT_NE(b.status().message().find(c.want), std::string::npos)
        << c.name << ": " << b.status().message();
  }
}

TEST(BundleTest, ReadsFromDiskAndNamesMissingThings) {
  TempDir dir;
  sys::Env* env = sys::Env::Default();
  auto missing = ReadBundle(env, dir / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(dir / "nope"), std::string::npos);

  auto no_config = ReadBundle(env, dir.path());
  ASSERT_FALSE(no_config.ok());
  EXPECT_EQ(no_config.status().code(), Code::kNotFound);
  EXPECT_NE(no_config.status().message().find("no config.json"), std::string::npos);

  WriteFile(dir / "config.json", kGood);
  auto b = ReadBundle(env, dir.path());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->rootfs, dir / "rootfs");
}

}  // namespace
}  // namespace vmshare::cli
