// FakeBackend: a SandboxBackend without a guest, whose processes act like
// tiny programs: "echo ARGS" prints ARGS and exits 0, "exit N" exits N,
// "cat" copies stdin to stdout until stdin is closed, anything else (e.g.
// "sleep") runs until signalled (exit 128 + signal). Shared by the Task
// service tests and the fake shim the containerd protocol test drives.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
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
    cv_.wait(l, [&] { return down || procs_[{cid, eid}].exited; });
    if (!procs_[{cid, eid}].exited) return UnavailableError("agent channel closed");
    return procs_[{cid, eid}].code;
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
    if (stream == 2) {
      cv_.wait(l, [&] { return down || p.out_eof; });
      return std::string();
    }
    cv_.wait(l, [&] { return down || !p.out.empty() || p.out_eof; });
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

 private:
  Status Run(const std::pair<std::string, std::string>& key) {
    std::lock_guard<std::mutex> l(mu_);
    FakeProc& p = procs_[key];
    if (p.args.empty()) return InvalidArgumentError("no args");
    if (p.args[0] == "echo") {
      for (size_t i = 1; i < p.args.size(); ++i) p.out += (i > 1 ? " " : "") + p.args[i];
      p.out += "\n";
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
};

}  // namespace vmshare::shim::testing
