// What the chaos and gc tests share: running the vmshare binary (optionally
// SIGKILLing it after a delay), a scratch world of sources and a bundle
// under one TempDir, checksums of every source file, and the checks made
// after each trial (no mount, directory, state or process left; every state
// file parses; sources byte-identical).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "persist/schema.h"
#include "support/run_vmshare.h"
#include "support/test_util.h"
#include "sys/env.h"
#include "sys/mountinfo.h"

namespace vmshare::chaos {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

using testing::CmdResult;

// FNV-1a of name and content of every file under `dir` (sorted walk).
inline std::map<std::string, uint64_t> Checksums(const std::string& dir) {
  std::map<std::string, uint64_t> sums;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    if (e.is_symlink()) {
      sums[rel] = std::hash<std::string>{}("->" + fs::read_symlink(e.path()).string());
    } else if (e.is_regular_file()) {
      uint64_t h = 1469598103934665603ULL;
      for (unsigned char c : ReadFile(e.path())) h = (h ^ c) * 1099511628211ULL;
      sums[rel] = h;
    } else {
      sums[rel] = 0;
    }
  }
  return sums;
}

class World {
 public:
  World() {
    root_ = tmp_ / "root";
    fs::create_directories(tmp_ / "bundle/rootfs/etc");
    fs::create_directories(tmp_ / "data/sub/deeper");
    fs::create_directories(tmp_ / "config");
    WriteFile(tmp_ / "bundle/rootfs/etc/motd", "hello\n");
    for (int i = 0; i < 20; ++i)
      WriteFile(tmp_ / ("data/sub/f" + std::to_string(i)), std::string(100 * i, 'a' + i));
    WriteFile(tmp_ / "data/sub/deeper/x", "deep\n");
    WriteFile(tmp_ / "config/b", "ro volume\n");
    nlohmann::json config = {{"ociVersion", "1.0.2"},
                             {"process", {{"args", {"sh"}}, {"cwd", "/"}}},
                             {"root", {{"path", "rootfs"}}},
                             {"mounts",
                              {{{"destination", "/data"},
                                {"type", "bind"},
                                {"source", tmp_ / "data"},
                                {"options", {"rbind", "rw"}}},
                               {{"destination", "/etc/app"},
                                {"type", "bind"},
                                {"source", tmp_ / "config"},
                                {"options", {"rbind", "ro"}}},
                               {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"}}}}};
    WriteFile(tmp_ / "bundle/config.json", config.dump());
    // A bundle of many bind mounts: a kill lands between its intent write
    // and its mounted write often.
    fs::create_directories(tmp_ / "many/rootfs");
    nlohmann::json many = config;
    many["mounts"] = nlohmann::json::array();
    for (int i = 0; i < kManyMounts; ++i) {
      const std::string v = "data/many/v" + std::to_string(i);
      fs::create_directories(tmp_ / v);
      WriteFile(tmp_ / (v + "/f"), std::to_string(i));
      many["mounts"].push_back({{"destination", "/mnt/v" + std::to_string(i)},
                                {"type", "bind"},
                                {"source", tmp_ / v},
                                {"options", {"rbind", i % 3 == 2 ? "ro" : "rw"}}});
    }
    WriteFile(tmp_ / "many/config.json", many.dump());
    sums_ = AllSums();
  }

  const std::string& root() const { return root_; }
  // The checksums taken when the world was made.
  const std::map<std::string, uint64_t>& initial_sums() const { return sums_; }
  std::string bundle() const { return tmp_ / "bundle"; }
  // The bundle of kManyMounts bind mounts.
  std::string many_bundle() const { return tmp_ / "many"; }
  static constexpr int kManyMounts = 40;
  std::string path(const std::string& rel) const { return tmp_ / rel; }

  std::map<std::string, uint64_t> AllSums() const {
    std::map<std::string, uint64_t> all;
    for (const char* d : {"data", "config", "bundle"})
      for (auto& [k, v] : Checksums(tmp_ / d)) all[std::string(d) + "/" + k] = v;
    return all;
  }

  // Runs vmshare --root <root> args...; with kill_after, SIGKILLs it after
  // that long (if it is still running).
  CmdResult Vmshare(const std::vector<std::string>& args,
                    std::optional<std::chrono::microseconds> kill_after = {}) const {
    return testing::RunVmshare(VMSHARE_BIN, root_, args, tmp_ / "stdout", tmp_ / "stderr",
                               kill_after);
  }

  // Every persist.json under the state root parses and decodes. Returns the
  // problems found (empty: all good).
  std::vector<std::string> StateFileProblems() const {
    std::vector<std::string> problems;
    const std::string sbs = root_ + "/sbs";
    if (!fs::exists(sbs)) return problems;
    for (const auto& e : fs::recursive_directory_iterator(sbs)) {
      if (e.path().filename() != "persist.json") continue;
      const std::string p = e.path().string();
      auto doc = persist::ParseDocument(ReadFile(p), p);
      if (!doc.ok()) {
        problems.push_back(doc.status().ToString());
        continue;
      }
      const bool sandbox = e.path().parent_path().parent_path() == sbs;
      Status s = sandbox ? persist::SandboxFromJson(*doc, p).status()
                         : persist::ContainerFromJson(*doc, p).status();
      if (!s.ok()) problems.push_back(s.ToString());
    }
    return problems;
  }

  // What is left under the root after a gc: mounts, and entries of the
  // directories vmshare makes per sandbox.
  std::vector<std::string> Leftovers() const {
    std::vector<std::string> left;
    auto table = sys::ReadMountTable();
    if (!table.ok()) return {table.status().ToString()};
    for (const auto& m : sys::MountsUnder(*table, root_)) left.push_back("mount " + m.target);
    for (const char* d : {"sandboxes", "sbs", "vm"}) {
      const std::string dir = root_ + "/" + d;
      if (!fs::exists(dir)) continue;
      for (const auto& e : fs::directory_iterator(dir))
        left.push_back("entry " + e.path().string());
    }
    return left;
  }

 private:
  TempDir tmp_;
  std::string root_;
  std::map<std::string, uint64_t> sums_;
};

// A child that sleeps, in a session of its own, standing in for virtiofsd or
// QEMU. The caller reaps it.
inline Result<sys::Child> SpawnSleeper() {
  return sys::Env::Default()->Spawn(
      {.argv = {"sleep", "1000"}, .new_session = true, .die_with_parent = true});
}

// True when `child` has exited (its pidfd is readable).
inline bool Exited(sys::Child& child) {
  auto ev = sys::Env::Default()->PollOne(child.pidfd, POLLIN, std::chrono::milliseconds(0));
  return ev.ok() && *ev != 0;
}

}  // namespace vmshare::chaos
