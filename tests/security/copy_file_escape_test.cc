// CopyFile escapes against the agent (the harness of tests/agent: CopyFile
// in process on a temp "shared" directory): a symlink planted by an earlier
// call, a symlinked parent, "..", absolute paths elsewhere, a file replaced
// by a link between chunks. Each is refused and writes nothing outside.
#include <sys/stat.h>

#include "agent/server/copy_file.h"
#include "core/types.h"
#include "security/security_support.h"

namespace vmshare::security {
namespace {

const std::string kShared = std::string(kGuestSharedDir) + "/";

class CopyFileEscape : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_ / "shared";
    fs::create_directories(root_);
    victim_ = tmp_ / "outside";
    fs::create_directories(victim_);
    WriteFile(victim_ + "/keep", "precious");
  }
  Status Copy(const std::string& path, uint32_t mode, const std::string& data, int64_t size = -1,
              int64_t offset = 0) {
    agent::CopyFileRequest r;
    r.path = path;
    r.file_mode = mode;
    r.dir_mode = 0755;
    r.data = data;
    r.offset = offset;
    r.file_size = size < 0 ? static_cast<int64_t>(data.size()) : size;
    return agent::CopyFile(sys::Env::Default(), root_, r);
  }
  // The victim holds only its file, unchanged.
  bool VictimIntact() {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(victim_))
      n += e.path().filename() == "keep" ? 1 : 100;
    return n == 1 && ReadFile(victim_ + "/keep") == "precious";
  }

  TempDir tmp_;
  std::string root_, victim_;
};

TEST_F(CopyFileEscape, EveryEscapeIsRefusedAndWritesNothingOutside) {
  ASSERT_OK(Copy(kShared + "abs", S_IFLNK | 0777, victim_));
  ASSERT_OK(Copy(kShared + "rel", S_IFLNK | 0777, "../outside"));
  ASSERT_OK(Copy(kShared + "root", S_IFLNK | 0777, "/"));
  struct Case {
    std::string path;
    uint32_t mode;
  };
  const std::vector<Case> cases = {
      {kShared + "abs/keep", S_IFREG | 0644},
      {kShared + "abs/new", S_IFREG | 0644},
      {kShared + "abs/d", S_IFDIR | 0755},
      {kShared + "abs/l", S_IFLNK | 0777},
      {kShared + "rel/keep", S_IFREG | 0644},
      {kShared + "rel/a/b/c", S_IFREG | 0644},
      {kShared + "root" + victim_ + "/keep", S_IFREG | 0644},
      {kShared + "../outside/keep", S_IFREG | 0644},
      {kShared + "a/../../outside/keep", S_IFREG | 0644},
      {kShared + "..", S_IFDIR | 0755},
      {victim_ + "/keep", S_IFREG | 0644},
      {"/etc/passwd", S_IFREG | 0644},
      {std::string(kGuestSharedDir) + "/../../../.." + victim_ + "/keep", S_IFREG | 0644},
      {std::string(kGuestSharedDir) + "-x/keep", S_IFREG | 0644},
  };
  for (const Case& k : cases) {
    Status s = Copy(k.path, k.mode, "pwned");
    EXPECT_FALSE(s.ok()) << k.path;
    EXPECT_TRUE(s.code() == Code::kInvalidArgument || s.code() == Code::kPermissionDenied)
        << k.path << ": " << s.ToString();
  }
  EXPECT_TRUE(VictimIntact());
}

TEST_F(CopyFileEscape, AFileTurnedIntoALinkBetweenChunksIsNotWrittenThrough) {
  // First chunk of a 10-byte file, then the guest-side name becomes a link
  // (as if planted by an earlier call racing this one), then the last chunk.
  Status first = Copy(kShared + "f", S_IFREG | 0644, "01234", /*size=*/10, /*offset=*/0);
  ASSERT_OK(first);
  std::error_code ec;
  fs::remove(root_ + "/f", ec);
  fs::create_symlink(victim_ + "/keep", root_ + "/f");
  Copy(kShared + "f", S_IFREG | 0644, "56789", /*size=*/10, /*offset=*/5).IgnoreError();
  EXPECT_TRUE(VictimIntact());
}

}  // namespace
}  // namespace vmshare::security
