// Helpers for the vm tests: is QEMU here, is a process alive, how many
// children does a process have.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vmshare::vm {

inline bool HaveQemu() {
  return std::filesystem::exists("/usr/bin/qemu-system-x86_64") &&
         std::filesystem::exists("/usr/lib/qemu/virtiofsd");
}

// True when /proc/<pid> exists and the process is not a zombie.
inline bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return false;
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// Number of processes whose parent is `pid` (zombies included).
inline int ChildrenOf(pid_t pid) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    if (ppid == pid) ++n;
  }
  return n;
}

}  // namespace vmshare::vm
