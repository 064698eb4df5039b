#include "vm/guest.h"

#include "core/ids.h"

namespace vmshare::vm {
namespace {

using std::chrono::milliseconds;

// HealthCheckResponse{status: SERVING}: field 1, varint 1.
constexpr char kServing[] = "\x08\x01";

int64_t Ms(int64_t nanos) { return nanos / 1'000'000; }

}  // namespace

Guest::Guest(sys::Env* env, GuestConfig config)
    : env_(env), config_(std::move(config)), launcher_(env, config_.launch) {}

Guest::~Guest() {
  agent_.reset();
  launcher_.Kill();
}

void Guest::Interrupt() {
  interrupted_ = true;
  launcher_.KillQemu();
}

Status Guest::Boot() {
  RETURN_IF_ERROR(launcher_.Start());
  if (interrupted_) launcher_.KillQemu();
  Status s = WaitForAgent();
  if (!s.ok()) return BootError(s);
  return Status::Ok();
}

Status Guest::BootError(Status why) {
  std::string console = launcher_.ConsoleTail(2000);
  agent_.reset();
  launcher_.Kill();
  if (interrupted_) return UnavailableError("boot guest: interrupted");
  std::string msg = "boot guest: " + why.message();
  if (!console.empty()) msg += "\n--- guest console (last lines) ---\n" + console;
  return Status(why.code(), msg, why.err());
}

Status Guest::WaitForAgent() {
  const int64_t start = env_->NowNanos();
  const int64_t deadline = start + config_.boot_timeout.count() * 1'000'000;
  auto qemu_gone = [&]() -> Status {
    return UnavailableError("qemu exited before the agent answered (guest panic or poweroff)");
  };
  // QEMU creates the socket as it starts; a connection made before the
  // guest opens its port is held, and requests wait in the socket buffer.
  sys::Fd fd;
  while (!fd.valid()) {
    if (!launcher_.QemuRunning()) return qemu_gone();
    Result<sys::Fd> c = env_->UnixConnect(launcher_.agent_socket());
    if (c.ok()) {
      fd = std::move(*c);
      break;
    }
    if (env_->NowNanos() >= deadline)
      return DeadlineExceededError("connect to agent socket " + Quote(launcher_.agent_socket()) +
                                   ": " + c.status().message());
    env_->SleepFor(milliseconds(10));
  }
  ASSIGN_OR_RETURN(agent_, agent::AgentClient::Create(env_, std::move(fd)));
  // Checks are repeated on the one connection: an unanswered one times out
  // and its late reply is dropped by the client.
  Status last = DeadlineExceededError("no answer");
  milliseconds interval = config_.check_interval;
  for (;;) {
    if (!launcher_.QemuRunning()) return qemu_gone();
    const int64_t now = env_->NowNanos();
    if (now >= deadline) break;
    const milliseconds wait(std::min<int64_t>(interval.count(), Ms(deadline - now) + 1));
    interval = std::min(interval * 2, config_.check_interval * 8);
    Result<std::string> reply = agent_->Call(agent::kHealthService, "Check", "", wait);
    if (reply.ok()) {
      if (*reply == std::string_view(kServing, 2)) return Status::Ok();
      last = FailedPreconditionError("agent health check: not serving");
      env_->SleepFor(milliseconds(50));
      continue;
    }
    last = reply.status();
    // A broken channel does not heal; QEMU's state decides what to report.
    if (last.code() == Code::kUnavailable) {
      if (!launcher_.QemuRunning()) return qemu_gone();
      return last;
    }
  }
  return DeadlineExceededError("wait for the agent: no answer to health check within " +
                               std::to_string(config_.boot_timeout.count()) +
                               " ms (last: " + last.message() + ")");
}

Status Guest::Shutdown(milliseconds deadline) {
  Status first;
  if (agent_ && !interrupted_ && launcher_.QemuRunning()) {
    // The agent replies, then powers off; a reply lost to the poweroff is
    // not an error as long as QEMU exits in time.
    Status s = agent_->Call(agent::kAgentService, "DestroySandbox", "", deadline).status();
    if (!s.ok() && s.code() != Code::kUnavailable) first = s.WithContext("shut down guest");
  }
  agent_.reset();
  Status s = launcher_.Stop(interrupted_ ? milliseconds(0) : deadline);
  if (first.ok() && !interrupted_) first = s;
  return first;
}

}  // namespace vmshare::vm
