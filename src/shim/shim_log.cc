#include "shim/shim_log.h"

#include <fcntl.h>

#include <chrono>
#include <ctime>

namespace vmshare::shim {
namespace {

std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string Now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

ShimLog::ShimLog(sys::Env* env, const std::string& bundle, const std::string& id, bool debug)
    : env_(env), id_(id), debug_(debug) {
  Result<sys::Fd> fd = env->OpenAt(sys::Cwd(), bundle + "/log", O_RDWR | O_NONBLOCK);
  if (fd.ok()) fd_ = std::move(fd).value();
}

void ShimLog::Line(const char* level, const std::string& msg) {
  if (env_ == nullptr) return;
  const std::string line = "time=\"" + Now() + "\" level=" + level + " msg=" + Quoted(msg) +
                           " id=" + id_ + " runtime=io.containerd.vmshare.v2\n";
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_.valid()) env_->WriteAll(fd_, line).IgnoreError();
}

}  // namespace vmshare::shim
