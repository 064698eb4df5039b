#include "cli/run_job.h"

#include <poll.h>
#include <signal.h>
#include <string.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace vmshare::cli {
namespace {

using std::chrono::milliseconds;

constexpr uint32_t kReadChunk = 64 * 1024;
constexpr milliseconds kShutdownDeadline{10000};
// How often the stop watcher looks at done_ when it has no wake-up pipe.
constexpr milliseconds kPollStep{100};
constexpr int kTimeoutExitCode = 124;  // timeout(1)'s

// Ends a run early: a signal or the timeout, which it watches from its own
// thread, or an output nobody reads any more (Stop). Interrupts the guest,
// which makes whatever the run is blocked on fail.
class Stopper {
 public:
  Stopper(sys::Env* env, const sys::Fd* signal_fd, std::chrono::seconds timeout)
      : env_(env), signal_fd_(signal_fd) {
    timeout_s_ = timeout.count();
    if (timeout.count() > 0) deadline_ = env->NowNanos() + timeout.count() * 1'000'000'000;
    if (signal_fd_ == nullptr && deadline_ == 0) return;
    // Without the pipe the watcher still ends, by polling done_ (slower).
    if (!env_->Pipe(&wake_r_, &wake_w_).ok()) {
      wake_r_ = sys::Fd();
      wake_w_ = sys::Fd();
    }
    thread_ = std::thread([this] { Watch(); });
  }
  ~Stopper() {
    done_ = true;
    if (wake_w_.valid()) env_->WriteAll(wake_w_, "x").IgnoreError();
    if (thread_.joinable()) thread_.join();
  }

  // The guest to interrupt (nullptr to forget it before it is destroyed).
  void SetGuest(sandbox::Guest* g) {
    std::lock_guard<std::mutex> lock(mu_);
    guest_ = g;
    if (guest_ != nullptr && !reason_.ok()) guest_->Interrupt();
  }
  // Non-OK once the run must stop.
  Status reason() {
    std::lock_guard<std::mutex> lock(mu_);
    return reason_;
  }
  // What the run exits with once reason() is set: 128 + n for signal n,
  // kTimeoutExitCode for the timeout.
  int exit_code() {
    std::lock_guard<std::mutex> lock(mu_);
    return exit_code_;
  }
  // Stops the run from any thread (the first reason stays).
  void Stop(Status why, int exit_code) {
    std::lock_guard<std::mutex> lock(mu_);
    if (reason_.ok()) {
      reason_ = std::move(why);
      exit_code_ = exit_code;
    }
    if (guest_ != nullptr) guest_->Interrupt();
  }

 private:
  void Watch() {
    std::vector<const sys::Fd*> fds;
    if (wake_r_.valid()) fds.push_back(&wake_r_);
    if (signal_fd_ != nullptr) fds.push_back(signal_fd_);
    while (!done_) {
      milliseconds wait = wake_r_.valid() ? milliseconds(-1) : kPollStep;
      if (deadline_ != 0) {
        const int64_t left_ns = deadline_ - env_->NowNanos();
        if (left_ns <= 0) {
          Stop(DeadlineExceededError("run: timed out after " + std::to_string(timeout_s_) + " s"),
               kTimeoutExitCode);
          return;
        }
        const milliseconds left((left_ns + 999'999) / 1'000'000);
        if (wait.count() < 0 || left < wait) wait = left;
      }
      if (fds.empty()) {
        env_->SleepFor(wait);
        continue;
      }
      Result<std::vector<short>> ev = env_->PollMany(fds, POLLIN, wait);
      if (!ev.ok() || signal_fd_ == nullptr || ev->back() == 0) continue;
      Result<int> sig = env_->ReadSignal(*signal_fd_);
      if (sig.ok() && *sig > 0) {
        const char* name = sigabbrev_np(*sig);
        Stop(UnavailableError(std::string("run: interrupted by SIG") + (name ? name : "?")),
             128 + *sig);
      }
    }
  }

  sys::Env* env_;
  const sys::Fd* signal_fd_;
  int64_t timeout_s_ = 0;
  int64_t deadline_ = 0;
  std::atomic<bool> done_{false};
  sys::Fd wake_r_, wake_w_;  // ~Stopper writes to wake the watcher at once
  std::mutex mu_;
  sandbox::Guest* guest_ = nullptr;  // GUARDED_BY(mu_)
  Status reason_;                    // GUARDED_BY(mu_)
  int exit_code_ = 0;                // GUARDED_BY(mu_)
  std::thread thread_;
};

// Forwards the host's stdin to the container's process: what is read goes
// out with WriteStdin, EOF with CloseStdin. It never holds up or fails the
// run: it polls stdin together with a wake-up pipe, so Wake() (the process
// exited) ends it even while stdin stays open (a terminal, a pipe nobody
// closes), and a process that closed its stdin or exited only makes it stop
// reading — the rest of the input is dropped, as for a pipe whose reader went
// away, and our stdin is left unread (its writer blocks, or gets SIGPIPE once
// we exit).
class StdinForwarder {
 public:
  StdinForwarder(sys::Env* env, agent::AgentClient& agent, const std::string& cid)
      : env_(env), agent_(agent), cid_(cid) {}
  ~StdinForwarder() { Stop(); }

  // in == nullptr: no input, the process reads EOF at once. Otherwise
  // forwards from `in` (REQUIRES: outlives Stop) on a thread of its own.
  Status Start(const sys::Fd* in) {
    if (in == nullptr) return agent_.CloseStdin(cid_, "");
    RETURN_IF_ERROR(env_->Pipe(&wake_r_, &wake_w_).WithContext("forward stdin"));
    in_ = in;
    thread_ = std::thread([this] { Forward(); });
    return Status::Ok();
  }
  // The process is gone (or the run is ending): stop reading stdin.
  void Wake() {
    woken_ = true;
    wake_w_.Reset();
  }
  // Wake() and wait for the thread. A WriteStdin in flight ends when the
  // process dies or the channel closes: call before the guest's Shutdown.
  void Stop() {
    Wake();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Forward() {
    for (;;) {
      Result<std::vector<short>> ev = env_->PollMany({in_, &wake_r_}, POLLIN, milliseconds(-1));
      if (!ev.ok() || (*ev)[1] != 0) return;  // woken: the process's stdin went with it
      if ((*ev)[0] == 0) continue;
      // An unreadable stdin (EIO from a terminal we lost) ends the input too.
      Result<std::string> data = env_->Read(*in_, kReadChunk);
      if (!data.ok() || data->empty()) break;
      if (!Send(*data)) break;
    }
    // EOF, or the process closed its stdin: either way it is closed now.
    agent_.CloseStdin(cid_, "").IgnoreError();
  }
  // False once the process takes no more (closed its stdin, exited).
  bool Send(const std::string& data) {
    for (size_t done = 0; done < data.size();) {
      Result<uint32_t> n = agent_.WriteStdin(cid_, "", data.substr(done));
      // A process that does not read for a while (its pipe is full) is not
      // one that went away: the call's deadline passed with nothing
      // written, so write again, unless the run is ending.
      if (!n.ok() && n.status().code() == Code::kDeadlineExceeded && !woken_.load()) continue;
      if (!n.ok() || *n == 0) return false;
      done += *n;
    }
    return true;
  }

  sys::Env* env_;
  agent::AgentClient& agent_;
  const std::string& cid_;
  const sys::Fd* in_ = nullptr;
  sys::Fd wake_r_, wake_w_;
  std::atomic<bool> woken_{false};
  std::thread thread_;
};

// A guest that died under the run (kernel panic, poweroff) shows up as a
// broken agent channel; say so, with the console's last words.
Status GuestDied(const Status& failure, sandbox::Guest& guest) {
  std::string msg =
      "the guest died during the run (kernel panic or poweroff): " + failure.message();
  std::string console = guest.ConsoleTail(16384);
  // The panic line says why; the stack trace after it rarely helps a user.
  if (size_t panic = console.rfind("Kernel panic"); panic != std::string::npos)
    console = console.substr(panic, 600);
  else if (console.size() > 1000)
    console = console.substr(console.size() - 1000);
  if (!console.empty()) msg += "\n--- guest console ---\n" + console;
  return Status(failure.code(), msg, failure.err());
}

// Streams the container's output until it exits; fills the run timings.
Result<int32_t> StreamUntilExit(sys::Env* env, const RunJob& job, sandbox::Guest& guest,
                                Stopper& stopper, int64_t t0, RunTimings& t) {
  const std::string& cid = job.container.id;
  const int64_t started = env->NowNanos();
  std::atomic<int64_t> first_output{0};
  auto reader = [&](int stream) {
    agent::AgentClient& a = guest.agent();
    for (;;) {
      Result<std::string> chunk =
          stream == 1 ? a.ReadStdout(cid, "", kReadChunk) : a.ReadStderr(cid, "", kReadChunk);
      if (!chunk.ok() || chunk->empty()) return;
      int64_t zero = 0;
      first_output.compare_exchange_strong(zero, env->NowNanos());
      if (job.on_output && !job.on_output(stream, *chunk)) {
        // As a pipeline's writer whose reader went away: the run ends, as if
        // by SIGPIPE (which run keeps blocked).
        stopper.Stop(UnavailableError(std::string("run: the reader of ") +
                                      (stream == 1 ? "stdout" : "stderr") + " went away"),
                     128 + SIGPIPE);
        return;
      }
    }
  };
  std::thread out_reader(reader, 1), err_reader(reader, 2);
  Result<int32_t> code = guest.WaitContainer(cid);
  out_reader.join();
  err_reader.join();
  const int64_t now = env->NowNanos();
  t.run = now - started;
  const int64_t first = first_output.load();
  t.exec = first != 0 ? first - started : t.run;
  t.to_first_output = (first != 0 ? first : now) - t0;
  return code;
}

}  // namespace

Result<RunOutcome> RunInGuest(sys::Env* env, const RunJob& job) {
  RunOutcome out;
  RunTimings& t = out.timings;
  const int64_t t0 = env->NowNanos();
  int64_t mark = t0;
  auto lap = [&](int64_t* into) {
    const int64_t now = env->NowNanos();
    *into = now - mark;
    mark = now;
  };
  auto progress = [&](std::string_view what) {
    if (job.on_progress) job.on_progress(what);
  };
  if (job.container.spec.args.empty()) return InvalidArgumentError("run: the process has no args");

  Stopper stopper(env, job.signal_fd, job.timeout);
  sandbox::SandboxOptions so = job.sandbox;
  so.env = env;
  // Copies (shared_fs none) report every few MiB.
  so.copy_progress = [&progress](const std::string& path, uint64_t bytes) {
    progress("copied " + std::to_string(bytes >> 20) + " MiB of " + path);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<sandbox::Sandbox> sb, sandbox::Sandbox::Open(std::move(so)));
  RETURN_IF_ERROR(sb->Hold());
  const std::string& cid = job.container.id;

  // Everything below ends in the teardown at the bottom; `failure` is the
  // first error, and later steps are skipped once it is set.
  Status failure;
  auto step = [&](Status s) {
    if (failure.ok() && !s.ok()) failure = std::move(s);
    if (failure.ok()) failure = stopper.reason();
    return failure.ok();
  };

  progress("preparing sandbox " + sb->id());
  step(sb->Prepare());
  lap(&t.prepare);

  std::unique_ptr<sandbox::Guest> guest;
  if (failure.ok()) {
    Result<std::unique_ptr<sandbox::Guest>> g = sandbox::Guest::New(*sb, job.guest);
    if (step(g.status())) {
      guest = std::move(*g);
      t.accel = guest->accel();
      stopper.SetGuest(guest.get());
    }
  }
  lap(&t.image);

  if (failure.ok()) {
    progress("booting guest (" + t.accel + ")");
    step(guest->Boot());
  }
  lap(&t.boot);

  bool created = false;
  std::unique_ptr<StdinForwarder> input;
  if (failure.ok()) {
    size_t host_mounts = 0;
    for (const sandbox::BundleMount& m : job.container.mounts) host_mounts += m.from_host ? 1 : 0;
    progress("sharing rootfs and " + std::to_string(host_mounts) + " mounts");
    Result<sandbox::CreatedContainer> c = guest->CreateContainer(job.container);
    if (step(c.status())) {
      created = true;
      t.share = c->shared_at - mark;
      mark = c->shared_at;
    }
  }
  if (failure.ok()) {
    progress("running " + job.container.spec.args[0]);
    step(guest->StartContainer(cid));
    // The agent gives the process a stdin pipe, as Kata's does: ours feeds
    // it, or it reads EOF at once when the job has no stdin.
    if (failure.ok()) {
      input = std::make_unique<StdinForwarder>(env, guest->agent(), cid);
      step(input->Start(job.stdin_fd));
    }
  }
  lap(&t.create);

  if (failure.ok()) {
    Result<int32_t> code = StreamUntilExit(env, job, *guest, stopper, t0, t);
    if (step(code.status())) out.exit_code = *code;
    mark = env->NowNanos();
  }
  // The process is gone (or the run failed): its stdin goes with it.
  if (input) input->Wake();

  // QEMU closes the channel as it exits, so give it a moment to finish (a
  // bound for a loaded machine: it returns as soon as QEMU is gone).
  if (!failure.ok() && failure.code() == Code::kUnavailable && guest && stopper.reason().ok() &&
      guest->WaitExit(milliseconds(10000)))
    failure = GuestDied(failure, *guest);

  // Teardown: every step runs; its errors count only if the run succeeded.
  progress("tearing down");
  Status teardown;
  auto keep = [&](Status s) {
    if (teardown.ok() && !s.ok()) teardown = std::move(s);
  };
  // After a failure the agent may be stuck: DestroySandbox (bounded) and the
  // poweroff take the container down with everything else.
  if (created)
    keep(guest->RemoveContainer(cid, /*ask_guest=*/failure.ok() && stopper.reason().ok()));
  // Its WriteStdin in flight, if any, ended with the container; the
  // channel closes in Shutdown.
  if (input) input->Stop();
  if (guest) {
    keep(guest->Shutdown(kShutdownDeadline));
    stopper.SetGuest(nullptr);
    guest.reset();
  }
  // Idempotent; also undoes a half-done Prepare. The record goes only when
  // nothing is left (otherwise it is what gc needs).
  keep(sb->Cleanup(/*force=*/true));
  lap(&t.teardown);

  // Stopped: after the teardown, what a shell expects — 128 + the signal,
  // or 124 for the timeout as timeout(1) has it.
  if (Status why = stopper.reason(); !why.ok()) {
    out.stopped = why;
    out.exit_code = stopper.exit_code();
    return out;
  }
  if (!failure.ok()) return failure;
  if (!teardown.ok()) return teardown.WithContext("run: tear down");
  return out;
}

}  // namespace vmshare::cli
