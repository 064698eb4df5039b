// Helpers shared by tests: root checks, fresh temp dirs, mountinfo queries.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/result.h"

namespace vmshare::testing {

// Skips the current test unless running as root (tests/ need real mounts).
#define REQUIRE_ROOT()                                             \
  do {                                                             \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for mounts"; \
  } while (0)

#define ASSERT_OK(expr)                                    \
  do {                                                     \
    auto vmshare_s_ = ::vmshare::internal::AsStatus(expr); \
    ASSERT_TRUE(vmshare_s_.ok()) << vmshare_s_.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                    \
  do {                                                     \
    auto vmshare_s_ = ::vmshare::internal::AsStatus(expr); \
    EXPECT_TRUE(vmshare_s_.ok()) << vmshare_s_.ToString(); \
  } while (0)

// A fresh directory under /tmp, removed (recursively, not across mounts the
// test forgot: those make the removal fail loudly) when it goes out of scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/vmshare-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::trunc);
  out << data;
}

// Number of lines of /proc/self/mountinfo whose mount point starts with prefix.
inline int CountMountsUnder(const std::string& prefix) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, mountpoint;
    ls >> id >> parent >> devno >> root >> mountpoint;
    if (mountpoint.rfind(prefix, 0) == 0) ++n;
  }
  return n;
}

}  // namespace vmshare::testing
