// Status and Result<T>: errors as values for all of vmshare.
//
// A Status is OK or carries a fixed Code, the raw errno (0 when the error did
// not come from the OS) and a message of the form
// `<operation> <object>: <cause>`. Result<T> holds either a T or a non-OK
// Status, never both. Neither type throws. Callers branch on code() or err(),
// never on message text.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vmshare {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong (bad id, malformed JSON)
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // a named thing exists and must not
  kPermissionDenied,    // refused by policy or by the OS (EACCES, EPERM)
  kFailedPrecondition,  // the system is not in the state the call needs
  kCorruption,          // persisted data is unreadable
  kIoError,             // any other OS error
  kBusy,                // EBUSY, a lock held by someone else
  kUnimplemented,       // ENOSYS and friends
  kDeadlineExceeded,    // a timeout
  kUnavailable,         // a peer went away
  kInternal,            // a bug or an unexpected peer answer
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, int err = 0)
      : code_(code), err_(err), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // The errno this error came from, or 0.
  int err() const { return err_; }
  const std::string& message() const { return message_; }
  // "ok" or the message; what cli/ prints.
  std::string ToString() const { return ok() ? "ok" : message_; }

  // Returns a copy whose message is "<context>: <message>". OK stays OK.
  Status WithContext(std::string_view context) const;

  // Marks a status as handled on purpose.
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  int err_ = 0;
  std::string message_;
};

Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status FailedPreconditionError(std::string message);
Status CorruptionError(std::string message);
Status InternalError(std::string message);
Status UnimplementedError(std::string message);
Status DeadlineExceededError(std::string message);
Status UnavailableError(std::string message);
Status PermissionDeniedError(std::string message);

// Maps an errno to a Code (the one place that does).
Code CodeFromErrno(int err);
// "<what>: <strerror> (<ENAME>)" with the code mapped from err.
Status ErrnoError(int err, std::string_view what);
// "EROFS", "ENOENT", ... or "errno N".
std::string ErrnoName(int err);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<Status, T> v_;
};

namespace internal {
inline Status AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace vmshare

#define VMSHARE_CONCAT_INNER(a, b) a##b
#define VMSHARE_CONCAT(a, b) VMSHARE_CONCAT_INNER(a, b)

// Returns the status of `expr` (a Status or Result) from the current function
// if it is not OK.
#define RETURN_IF_ERROR(expr)                                                \
  do {                                                                       \
    ::vmshare::Status vmshare_status_ = ::vmshare::internal::AsStatus(expr); \
    if (!vmshare_status_.ok()) return vmshare_status_;                       \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns its
// error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(VMSHARE_CONCAT(vmshare_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
