// Test support for the copy sharer and the volume watcher: the real
// vmshare-agent in a child process with a mount namespace of its own,
// listening on a unix socket, with its shared root in a temp dir (or where
// the test says); a host AgentClient connected to it; a way to look at the
// guest side from the test (through /proc/<agent>/root, which sees the
// agent's tmpfs mounts); tree comparison; and a kubelet atomic writer.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "agent/client.h"
#include "core/types.h"
#include "support/test_util.h"
#include "sys/env.h"

namespace vmshare::testing {

namespace fs = std::filesystem;

class RunningAgent {
 public:
  // Starts the agent serving `shared_root`; ok() tells whether it is up.
  RunningAgent(const std::string& dir, const std::string& shared_root) : shared_root_(shared_root) {
    sys::ChildOptions o;
    o.argv = {"unshare",         "--mount",   "--propagation",     "private",
              VMSHARE_AGENT_BIN, "--socket",  dir + "/agent.sock", "--shared-root",
              shared_root,       "--run-dir", dir + "/agent-run",  "--no-init"};
    o.stderr_path = dir + "/agent.log";
    o.die_with_parent = true;
    log_ = dir + "/agent.log";
    auto child = sys::Env::Default()->Spawn(o);
    if (!child.ok()) return;
    child_ = std::move(child).value();
    for (int i = 0; i < 500 && !client_; ++i) {
      auto c = agent::AgentClient::Connect(sys::Env::Default(), dir + "/agent.sock");
      if (c.ok()) {
        client_ = std::move(c).value();
      } else {
        sys::Env::Default()->SleepFor(std::chrono::milliseconds(20));
      }
    }
  }
  ~RunningAgent() {
    client_.reset();
    if (child_.pid > 0) {
      sys::Env::Default()->Kill(child_, SIGKILL).IgnoreError();
      sys::Env::Default()->Wait(child_).status().IgnoreError();
    }
  }
  bool ok() const { return client_ != nullptr; }
  std::string log() const { return ReadFile(log_); }
  agent::AgentClient* client() { return client_.get(); }
  // Closes the test's own connection: the agent serves one host connection
  // at a time (as on a virtio-serial port), so another client can then talk.
  void Disconnect() { client_.reset(); }
  // The host-visible path of a guest path (kGuestSharedDir/...).
  std::string Host(const std::string& guest_path) const {
    const std::string prefix = kGuestSharedDir;
    return "/proc/" + std::to_string(child_.pid) + "/root" + shared_root_ +
           guest_path.substr(prefix.size());
  }

 private:
  std::string shared_root_;
  std::string log_;
  sys::Child child_;
  std::unique_ptr<agent::AgentClient> client_;
};

// Every difference between two trees (names, types, modes, owners,
// contents, link targets), never following symlinks; empty when equal.
inline void DiffTrees(const std::string& a, const std::string& b, const std::string& rel,
                      std::string* out) {
  struct stat sa, sb;
  const std::string pa = a + rel, pb = b + rel;
  if (::lstat(pa.c_str(), &sa) != 0 || ::lstat(pb.c_str(), &sb) != 0) {
    *out += "missing: " + rel + "\n";
    return;
  }
  if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
    *out += "type: " + rel + "\n";
    return;
  }
  if (!S_ISLNK(sa.st_mode) && !rel.empty() && (sa.st_mode & 07777) != (sb.st_mode & 07777))
    *out += "mode: " + rel + "\n";
  if (!rel.empty() && (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid))
    *out += "owner: " + rel + "\n";
  if (S_ISLNK(sa.st_mode)) {
    if (fs::read_symlink(pa) != fs::read_symlink(pb)) *out += "link: " + rel + "\n";
  } else if (S_ISREG(sa.st_mode)) {
    if (ReadFile(pa) != ReadFile(pb)) *out += "content: " + rel + "\n";
  } else if (S_ISDIR(sa.st_mode)) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(pa)) names.insert(e.path().filename());
    for (const auto& e : fs::directory_iterator(pb)) names.insert(e.path().filename());
    for (const auto& n : names) DiffTrees(a, b, rel + "/" + n, out);
  }
}

inline std::string Diff(const std::string& a, const std::string& b) {
  std::string out;
  DiffTrees(a, b, "", &out);
  return out;
}

// Waits (up to 60 s) until the trees are equal; returns the last diff.
inline std::string WaitEqual(const std::string& host, const std::string& guest) {
  std::string d;
  for (int i = 0; i < 3000; ++i) {
    d = Diff(host, guest);
    if (d.empty()) return d;
    sys::Env::Default()->SleepFor(std::chrono::milliseconds(20));
  }
  return d;
}

// One file of a volume payload.
struct PayloadFile {
  std::string content;
  mode_t mode = 0644;
  bool operator==(const PayloadFile&) const = default;
};
using Payload = std::map<std::string, PayloadFile>;  // key path ("a/b") -> file

// The kubelet's atomic writer, step by step as in
// reference/kubernetes-volume-updates.md. gid >= 0 chowns every file and
// directory of the payload to root:gid (fsGroup).
class KubeletWriter {
 public:
  explicit KubeletWriter(std::string dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }

  // Returns false when the payload equals the current one (nothing written).
  bool Write(const Payload& payload, int gid = -1) {
    // 1-2.
    std::string old;
    std::error_code ec;
    auto target = fs::read_symlink(dir_ + "/..data", ec);
    if (!ec) old = target.string();
    if (!old.empty() && payload == current_ && gid == gid_) return false;
    // 3.
    char name[64];
    std::snprintf(name, sizeof name, "..2026_11_22_10_00_%02d.%09d", seq_ % 60, seq_);
    ++seq_;
    const std::string ts = dir_ + "/" + name;
    ::mkdir(ts.c_str(), 0755);
    if (gid >= 0) {
      EXPECT_EQ(::chown(ts.c_str(), 0, gid), 0);
    }
    for (const auto& [key, file] : payload) {
      const std::string path = ts + "/" + key;
      fs::create_directories(fs::path(path).parent_path());
      if (gid >= 0) {
        for (fs::path p = fs::path(key).parent_path(); !p.empty(); p = p.parent_path()) {
          EXPECT_EQ(::chown((ts + "/" + p.string()).c_str(), 0, gid), 0);
        }
      }
      WriteFile(path, file.content);
      EXPECT_EQ(::chmod(path.c_str(), file.mode), 0);
      if (gid >= 0) {
        EXPECT_EQ(::chown(path.c_str(), 0, gid), 0);
      }
    }
    // 4.
    std::set<std::string> old_top = TopLevel(current_), new_top = TopLevel(payload);
    for (const auto& k : new_top) {
      if (!old_top.contains(k)) fs::create_symlink("..data/" + k, dir_ + "/" + k);
    }
    // 5-6.
    fs::create_symlink(name, dir_ + "/..data_tmp");
    EXPECT_EQ(::rename((dir_ + "/..data_tmp").c_str(), (dir_ + "/..data").c_str()), 0);
    // 7.
    for (const auto& k : old_top) {
      if (!new_top.contains(k)) fs::remove(dir_ + "/" + k);
    }
    // 8.
    if (!old.empty()) fs::remove_all(dir_ + "/" + old);
    current_ = payload;
    gid_ = gid;
    return true;
  }

  const std::string& dir() const { return dir_; }

 private:
  static std::set<std::string> TopLevel(const Payload& p) {
    std::set<std::string> out;
    for (const auto& [k, f] : p) out.insert(k.substr(0, k.find('/')));
    return out;
  }
  std::string dir_;
  Payload current_;
  int gid_ = -1;
  int seq_ = 0;
};

}  // namespace vmshare::testing
