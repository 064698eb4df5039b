// Fixture for sharer tests: a fresh vmshare root in a temp dir, a sharer for
// sandbox "sb1", and helpers that poke at the result with plain syscalls.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>

#include "share/share_tree.h"
#include "share/sharer.h"
#include "support/test_util.h"
#include "sys/env.h"

namespace vmshare::testing {

class ShareFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts";
    root_ = tmp_ / "root";
    src_ = tmp_ / "src";
    std::filesystem::create_directories(src_);
    sharer_ = MakeSharer(Config());
    ASSERT_NE(sharer_, nullptr);
  }
  void TearDown() override {
    if (sharer_) {
      Status s = sharer_->Cleanup();
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }

  share::SharerConfig Config() const {
    share::SharerConfig c;
    c.env = env();
    c.root = root_;
    c.sandbox_id = "sb1";
    return c;
  }
  virtual sys::Env* env() const { return sys::Env::Default(); }

  static std::unique_ptr<share::FilesystemSharer> MakeSharer(share::SharerConfig c) {
    auto r = share::NewSharer("virtio-fs", std::move(c));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  share::ShareTreePaths Paths() const { return share::ShareTreePaths::For(root_, "sb1"); }
  std::string SandboxDir() const { return Paths().sandbox; }
  std::string Mounts() const { return Paths().mounts; }
  std::string Shared() const { return Paths().shared; }

  // A directory under src/ holding one file "f" with `content`.
  std::string MakeVolume(const std::string& name, const std::string& content = "hello") {
    const std::string dir = src_ + "/" + name;
    std::filesystem::create_directories(dir);
    WriteFile(dir + "/f", content);
    return dir;
  }

  static Mount BindMount(const std::string& source, const std::string& dest, bool ro = false) {
    Mount m;
    m.source = source;
    m.destination = dest;
    m.type = "bind";
    m.options = {"bind"};
    m.read_only = ro;
    return m;
  }

  // 0 when creating/overwriting `path` works, else the errno.
  static int TryWrite(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return errno;
    const ssize_t n = ::write(fd, "x", 1);
    const int e = n == 1 ? 0 : errno;
    ::close(fd);
    return e;
  }

  static bool Exists(const std::string& path) {
    std::error_code ec;
    return std::filesystem::exists(std::filesystem::symlink_status(path, ec));
  }

  TempDir tmp_;
  std::string root_;
  std::string src_;
  std::unique_ptr<share::FilesystemSharer> sharer_;
};

}  // namespace vmshare::testing
