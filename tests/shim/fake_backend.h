// FakeBackend: a SandboxBackend without a guest, whose processes act like
// tiny programs: "echo ARGS" prints ARGS and exits 0, "seq N" prints the
// lines 1 to N and exits 0, "exit N" exits N, "cat" copies stdin to stdout
// until stdin is closed, anything else (e.g. "sleep") runs until signalled
// (exit 128 + signal). Shared by the Task service tests and the fake shim
// the containerd protocol test drives.
//
// Output follows the agent's contract (agent/server/exec.cc): what a
// process printed stays readable after it exited, until read; and once
// WaitProcess has answered for an exec, the exec is forgotten (reads of it
// fail with kNotFound), as the vmshare agent and Kata's do.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "shim/backend.h"

namespace vmshare::shim::testing {

class FakeBackend : public SandboxBackend {
 public:
  struct FakeProc {
    std::vector<std::string> args;
    std::string out;
    bool out_eof = false;
    bool exited = false;
    bool forgotten = false;  // an exec whose WaitProcess answered
    int32_t code = 0;
  };

  Status Boot(const std::string& sid, const OciSpec&) override {
    std::lock_guard<std::mutex> l(mu_);
    booted = sid;
    return Status::Ok();
  }
  Status CreateContainer(const ContainerSpecIn& c) override {
    std::lock_guard<std::mutex> l(mu_);
    if (down) return UnavailableError("guest is down");
    procs_[{c.id, ""}].args = c.spec.process.args;
    created.push_back(c.id);
    specs.push_back(c.spec);
    return Status::Ok();
  }
  Status StartContainer(const std::string& cid) override { return Run({cid, ""}); }
  Status ExecProcess(const std::string& cid, const std::string& eid,
                     const SpecProcess& p) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      procs_[{cid, eid}].args = p.args;
    }
    return Run({cid, eid});
  }
  Result<int32_t> WaitProcess(const std::string& cid, const std::string& eid) override {
    std::unique_lock<std::mutex> l(mu_);
    FakeProc& p = procs_[{cid, eid}];
    cv_.wait(l, [&] { return down || p.exited; });
    if (!p.exited) return UnavailableError("agent channel closed");
    if (!p.out.empty()) ++waits_with_output_unread_;
    if (!eid.empty()) p.forgotten = true;
    return p.code;
  }
  Status SignalProcess(const std::string& cid, const std::string& eid, int sig) override {
    std::lock_guard<std::mutex> l(mu_);
    Exit(procs_[{cid, eid}], 128 + sig);
    signals.push_back(sig);
    return Status::Ok();
  }
  Result<std::string> ReadOutput(const std::string& cid, const std::string& eid, int stream,
                                 uint32_t max) override {
    std::unique_lock<std::mutex> l(mu_);
    FakeProc& p = procs_[{cid, eid}];
    if (p.forgotten) return NotFoundError("process " + eid + " does not exist");
    if (stream == 2) {
      cv_.wait(l, [&] { return down || p.out_eof; });
      return std::string();
    }
    cv_.wait(l, [&] { return down || !p.out.empty() || p.out_eof; });
    if (!p.out.empty() && read_lag.count() > 0) {
      // A read in flight goes on after the exit (it holds the process).
      l.unlock();
      std::this_thread::sleep_for(read_lag);
      l.lock();
    }
    if (read_chunk != 0) max = std::min<uint32_t>(max, read_chunk);
    std::string chunk = p.out.substr(0, max);
    p.out.erase(0, chunk.size());
    return chunk;
  }
  Status WriteStdin(const std::string& cid, const std::string& eid, std::string_view d) override {
    std::lock_guard<std::mutex> l(mu_);
    procs_[{cid, eid}].out += d;
    cv_.notify_all();
    return Status::Ok();
  }
  Status CloseStdin(const std::string& cid, const std::string& eid) override {
    std::lock_guard<std::mutex> l(mu_);
    FakeProc& p = procs_[{cid, eid}];
    if (!p.args.empty() && p.args[0] == "cat") Exit(p, 0);
    return Status::Ok();
  }
  Status ResizeTerminal(const std::string&, const std::string&, uint32_t w, uint32_t h) override {
    std::lock_guard<std::mutex> l(mu_);
    resized = {w, h};
    return Status::Ok();
  }
  Status RemoveContainer(const std::string& cid) override {
    std::lock_guard<std::mutex> l(mu_);
    removed.push_back(cid);
    return Status::Ok();
  }
  Status Shutdown() override {
    std::lock_guard<std::mutex> l(mu_);
    down = true;
    ++shutdowns;
    cv_.notify_all();
    return Status::Ok();
  }
  uint32_t pid() override { return 4242; }

  // Kills the "guest": every process wait fails.
  void Crash() {
    std::lock_guard<std::mutex> l(mu_);
    down = true;
    cv_.notify_all();
  }

  std::string booted;
  std::vector<std::string> created, removed;
  std::vector<OciSpec> specs;  // of each CreateContainer, in order
  std::vector<int> signals;
  std::pair<uint32_t, uint32_t> resized;
  bool down = false;
  int shutdowns = 0;
  // A relay that lags behind its process, as on a loaded host: each read
  // that returns output takes read_lag and returns at most read_chunk bytes
  // (0: any). Set before the process starts.
  std::chrono::milliseconds read_lag{0};
  uint32_t read_chunk = 0;
  // WaitProcess calls that answered while the process had output unread.
  int WaitsWithOutputUnread() {
    std::lock_guard<std::mutex> l(mu_);
    return waits_with_output_unread_;
  }

 private:
  Status Run(const std::pair<std::string, std::string>& key) {
    std::lock_guard<std::mutex> l(mu_);
    FakeProc& p = procs_[key];
    if (p.args.empty()) return InvalidArgumentError("no args");
    if (p.args[0] == "echo") {
      for (size_t i = 1; i < p.args.size(); ++i) p.out += (i > 1 ? " " : "") + p.args[i];
      p.out += "\n";
      Exit(p, 0);
    } else if (p.args[0] == "seq") {
      for (int i = 1; i <= std::stoi(p.args.at(1)); ++i) p.out += std::to_string(i) + "\n";
      Exit(p, 0);
    } else if (p.args[0] == "exit") {
      Exit(p, std::stoi(p.args.at(1)));
    }
    return Status::Ok();
  }
  void Exit(FakeProc& p, int32_t code) {
    if (p.exited) return;
    p.exited = true;
    p.code = code;
    p.out_eof = true;
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<std::string, std::string>, FakeProc> procs_;
  int waits_with_output_unread_ = 0;
};

}  // namespace vmshare::shim::testing
