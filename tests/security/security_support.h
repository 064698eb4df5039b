// What the attack cases share: a snapshot of the mount table outside a
// directory (so a case can assert nothing outside the intended place was
// mounted or unmounted), and a victim: a tmpfs mount holding a file, which
// an attack tries to reach.
#pragma once

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <filesystem>
#include <set>
#include <string>

#include "support/test_util.h"
#include "sys/mountinfo.h"

namespace vmshare::security {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

// Every mount (id and mount point) whose mount point is not under `inside`.
inline std::set<std::string> MountsOutside(const std::string& inside) {
  std::set<std::string> out;
  auto table = sys::ReadMountTable();
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  if (!table.ok()) return out;
  for (const auto& e : *table) {
    const bool under = e.target == inside || e.target.rfind(inside + "/", 0) == 0;
    if (!under) out.insert(std::to_string(e.id) + " " + e.target);
  }
  return out;
}

// A tmpfs at `dir` holding "keep" = "precious"; unmounted on destruction.
class Victim {
 public:
  explicit Victim(std::string dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=1m") == 0;
    EXPECT_TRUE(mounted_) << "mount tmpfs at " << dir_;
    WriteFile(dir_ + "/keep", "precious");
  }
  ~Victim() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  const std::string& dir() const { return dir_; }
  // Still mounted, still holding exactly its one file.
  bool Intact() const {
    if (testing::CountMountsUnder(dir_) != 1) return false;
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) n += e.path().filename() == "keep" ? 1 : 100;
    return n == 1 && ReadFile(dir_ + "/keep") == "precious";
  }

 private:
  std::string dir_;
  bool mounted_ = false;
};

}  // namespace vmshare::security
