#include "persist/processes.h"

#include <fcntl.h>

#include <charconv>

namespace vmshare::persist {
namespace {

constexpr size_t kStatLimit = 4096;

// Replaces (or appends) the record of p.role and saves the sandbox.
Status Upsert(StateStore& store, const std::string& sid, const RecordedProcess& p) {
  ASSIGN_OR_RETURN(SandboxRecord rec, store.LoadSandbox(sid));
  bool found = false;
  for (auto& q : rec.sandbox.processes) {
    if (q.role == p.role) {
      q = p;
      found = true;
    }
  }
  if (!found) rec.sandbox.processes.push_back(p);
  return store.SaveSandbox(sid, rec.sandbox);
}

}  // namespace

Result<uint64_t> ProcessStartTicks(sys::Env* env, pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  if (pid <= 0) return InvalidArgumentError("read \"" + path + "\": not a pid");
  ASSIGN_OR_RETURN(sys::Fd fd, env->OpenAt(sys::Cwd(), path, O_RDONLY));
  ASSIGN_OR_RETURN(std::string text, env->ReadAll(fd, kStatLimit));
  // comm (field 2) is in parentheses and may itself hold ") ", so fields
  // are counted from the last ')': state is field 3, starttime field 22.
  const size_t close = text.rfind(')');
  if (close == std::string::npos)
    return CorruptionError("parse \"" + path + "\": no command field");
  size_t pos = close + 1;
  for (int field = 3; field <= 22; ++field) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    const size_t end = text.find(' ', pos);
    if (field == 22) {
      uint64_t v = 0;
      const char* last = text.data() + (end == std::string::npos ? text.size() : end);
      auto [p, ec] = std::from_chars(text.data() + pos, last, v);
      if (ec != std::errc() || p != last)
        return CorruptionError("parse \"" + path + "\": bad start time");
      return v;
    }
    if (end == std::string::npos) return CorruptionError("parse \"" + path + "\": too few fields");
    pos = end;
  }
  return CorruptionError("parse \"" + path + "\": too few fields");
}

Result<bool> IsSameProcess(sys::Env* env, const RecordedProcess& p) {
  if (p.state != "running" || p.pid <= 0 || p.start_time_ticks == 0) return false;
  auto ticks = ProcessStartTicks(env, p.pid);
  if (!ticks.ok()) {
    if (ticks.status().code() == Code::kNotFound) return false;
    return ticks.status();
  }
  return *ticks == p.start_time_ticks;
}

Status RecordProcessIntent(StateStore& store, const std::string& sid, const std::string& role) {
  return Upsert(store, sid, RecordedProcess{role, 0, 0, "starting"});
}

Status RecordProcessStarted(StateStore& store, sys::Env* env, const std::string& sid,
                            const std::string& role, pid_t pid) {
  ASSIGN_OR_RETURN(uint64_t ticks, ProcessStartTicks(env, pid));
  return Upsert(store, sid, RecordedProcess{role, pid, ticks, "running"});
}

Status RecordProcessExited(StateStore& store, const std::string& sid, const std::string& role) {
  ASSIGN_OR_RETURN(SandboxRecord rec, store.LoadSandbox(sid));
  for (auto& q : rec.sandbox.processes) {
    if (q.role == role) q.state = "exited";
  }
  return store.SaveSandbox(sid, rec.sandbox);
}

}  // namespace vmshare::persist
