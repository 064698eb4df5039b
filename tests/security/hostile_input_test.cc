// Ids and names with "..", "/", NUL and over-long values are refused with a
// clear error naming them, before anything changes: through the vmshare
// binary (nothing appears under --root, no mount is made), through the
// sharer (no mount, no directory) and through the state store (no file).
#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "core/ids.h"
#include "persist/store.h"
#include "security/security_support.h"
#include "share/share_fixture.h"
#include "sys/env.h"

namespace vmshare::security {
namespace {

const std::string kLong(129, 'a');

// Ids a user can type on a command line (NUL cannot pass through argv; the
// in-process cases below cover it).
const std::vector<std::string> kBadCliIds = {"..",    ".", "../x", "a/b", "/abs",
                                             "-dash", "",  kLong,  "a b", "x\n"};

std::vector<std::string> BadIds() {
  std::vector<std::string> v = kBadCliIds;
  v.push_back(std::string("a\0b", 3));
  v.push_back(std::string("\0", 1));
  return v;
}

struct Cmd {
  int code = -1;
  std::string err;
};

Cmd Vmshare(const std::string& root, const std::string& tmp, std::vector<std::string> args) {
  std::vector<std::string> argv = {VMSHARE_BIN, "--root", root};
  argv.insert(argv.end(), args.begin(), args.end());
  sys::Env* env = sys::Env::Default();
  auto child = env->Spawn({.argv = argv, .stdout_path = tmp + "/out", .stderr_path = tmp + "/err"});
  EXPECT_TRUE(child.ok());
  if (!child.ok()) return {};
  auto st = env->Wait(*child);
  return {st.ok() && st->exited ? st->code : -1, ReadFile(tmp + "/err")};
}

TEST(HostileInput, CliRefusesBadIdsAndChangesNothing) {
  REQUIRE_ROOT();
  TempDir tmp;
  const std::string root = tmp / "root";
  fs::create_directories(tmp / "bundle/rootfs");
  WriteFile(tmp / "bundle/config.json", nlohmann::json{{"ociVersion", "1.0.2"},
                                                       {"root", {{"path", "rootfs"}}},
                                                       {"process", {{"args", {"sh"}}}}}
                                            .dump());
  const auto outside = MountsOutside(root);
  for (const std::string& id : kBadCliIds) {
    const std::vector<std::vector<std::string>> cmds = {
        {"sandbox", "prepare", id},
        {"sandbox", "cleanup", id, "--force"},
        {"container", "share", "s1", id, "--bundle", tmp / "bundle"},
        {"container", "share", id, "c1", "--bundle", tmp / "bundle"},
        {"container", "unshare", "s1", id},
        {"state", "show", id},
        {"gc", id},
    };
    for (const auto& cmd : cmds) {
      Cmd r = Vmshare(root, tmp.path(), cmd);
      EXPECT_NE(r.code, 0) << cmd[0] << " " << cmd[1] << " with id " << Quote(id);
      if (!id.empty() && r.code == 1) {
        EXPECT_NE(r.err.find("invalid"), std::string::npos) << Quote(id) << ": " << r.err;
      }
      EXPECT_FALSE(fs::exists(root + "/sandboxes") && !fs::is_empty(root + "/sandboxes"))
          << Quote(id);
      EXPECT_FALSE(fs::exists(root + "/sbs") && !fs::is_empty(root + "/sbs")) << Quote(id);
    }
  }
  EXPECT_EQ(testing::CountMountsUnder(root), 0);
  EXPECT_EQ(MountsOutside(root), outside);
  // Nothing escaped upwards either: the temp dir holds only what we made.
  for (const auto& e : fs::directory_iterator(tmp.path())) {
    const std::string name = e.path().filename();
    EXPECT_TRUE(name == "bundle" || name == "root" || name == "out" || name == "err") << name;
  }
}

TEST(HostileInput, StateStoreRefusesBadIdsWithoutWriting) {
  TempDir tmp;
  persist::StateStore store(sys::Env::Default(), tmp / "sbs");
  for (const std::string& id : BadIds()) {
    Status s = store.SaveSandbox(id, SandboxState{});
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << Quote(id) << ": " << s.ToString();
    EXPECT_EQ(store.SaveContainer("s1", id, ContainerState{}).code(), Code::kInvalidArgument)
        << Quote(id);
    EXPECT_FALSE(store.LoadSandbox(id).ok()) << Quote(id);
    EXPECT_FALSE(store.Lock(id, persist::LockMode::kExclusive).ok()) << Quote(id);
    EXPECT_EQ(store.DestroySandbox(id).code(), Code::kInvalidArgument) << Quote(id);
  }
  EXPECT_FALSE(fs::exists(tmp / "sbs") && !fs::is_empty(tmp / "sbs"));
  EXPECT_FALSE(fs::exists(tmp / "x"));
}

class HostileSharerInput : public testing::ShareFixture {};

TEST_F(HostileSharerInput, BadContainerIdsAndDestinationsChangeNothing) {
  ASSERT_OK(sharer_->Prepare());
  const std::string vol = MakeVolume("data");
  const auto outside = MountsOutside(SandboxDir());
  for (const std::string& id : BadIds()) {
    Container c{id, {}};
    Mount m = BindMount(vol, "/data");
    auto r = sharer_->ShareFile(c, m);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument)
        << Quote(id) << ": " << r.status().ToString();
    c.state.rootfs.source = vol;
    auto root = sharer_->ShareRootFilesystem(c);
    EXPECT_EQ(root.status().code(), Code::kInvalidArgument) << Quote(id);
  }
  // Destinations whose base name is no usable name.
  Container c{"c1", {}};
  for (const std::string& dest :
       {std::string("/"), std::string("/.."), std::string("/a/.."), std::string("/."),
        std::string("/x\0y", 4), std::string("/") + std::string(300, 'n')}) {
    Mount m = BindMount(vol, dest);
    auto r = sharer_->ShareFile(c, m);
    if (r.ok()) {
      // Accepted: then its host path is a single entry under mounts/.
      EXPECT_EQ(fs::path(m.host_path).parent_path(), Mounts())
          << Quote(dest) << " -> " << m.host_path;
      ASSERT_OK(sharer_->UnshareFile(c, m));
    } else {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument)
          << Quote(dest) << ": " << r.status().ToString();
    }
  }
  // Only the tree's own entries exist under mounts/.
  for (const auto& e : fs::directory_iterator(Mounts())) ADD_FAILURE() << "left: " << e.path();
  EXPECT_EQ(MountsOutside(SandboxDir()), outside);
}

TEST(HostileInput, ValidateIdNamesTheIdAndTheKind) {
  for (const std::string& id : BadIds()) {
    Status s = ValidateId("container", id);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << Quote(id);
    EXPECT_NE(s.message().find("container"), std::string::npos) << s.message();
  }
  EXPECT_OK(ValidateId("container", std::string(128, 'a')));
}

}  // namespace
}  // namespace vmshare::security
