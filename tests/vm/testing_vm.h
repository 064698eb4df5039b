// Helpers for the vm tests: is QEMU here, is a process alive, how many
// children does a process have, which processes name a path, what is left
// under a directory.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

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

// Processes whose command line mentions `needle` (QEMU's and virtiofsd's
// name the run's socket paths, which are under the test's root).
inline std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> found;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(needle) != std::string::npos && ProcessAlive(std::stoi(name)))
      found.push_back(std::stoi(name));
  }
  return found;
}

// ProcessesMentioning(needle) once it is empty, or after 30 s (a hang
// guard): a process that ends by its parent-death signal (virtiofsd's
// sandboxed child, once its leader is killed) goes on its own schedule.
inline std::vector<pid_t> ProcessesLeft(const std::string& needle) {
  std::vector<pid_t> left = ProcessesMentioning(needle);
  for (int i = 0; i < 300 && !left.empty(); ++i) {
    ::usleep(100 * 1000);
    left = ProcessesMentioning(needle);
  }
  return left;
}

// Every entry under `dir`, recursively (sockets included).
inline std::vector<std::string> EntriesUnder(const std::string& dir) {
  std::vector<std::string> v;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    v.push_back(it->path().string());
  return v;
}

}  // namespace vmshare::vm
