#include "core/result.h"

#include <cerrno>
#include <cstring>

namespace vmshare {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kNotFound:
      return "not found";
    case Code::kAlreadyExists:
      return "already exists";
    case Code::kPermissionDenied:
      return "permission denied";
    case Code::kFailedPrecondition:
      return "failed precondition";
    case Code::kCorruption:
      return "corruption";
    case Code::kIoError:
      return "i/o error";
    case Code::kBusy:
      return "busy";
    case Code::kUnimplemented:
      return "unimplemented";
    case Code::kDeadlineExceeded:
      return "deadline exceeded";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kInternal:
      return "internal";
  }
  return "unknown";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m), err_);
}

Status InvalidArgumentError(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
Status NotFoundError(std::string m) { return Status(Code::kNotFound, std::move(m)); }
Status AlreadyExistsError(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }
Status FailedPreconditionError(std::string m) {
  return Status(Code::kFailedPrecondition, std::move(m));
}
Status CorruptionError(std::string m) { return Status(Code::kCorruption, std::move(m)); }
Status InternalError(std::string m) { return Status(Code::kInternal, std::move(m)); }
Status UnimplementedError(std::string m) { return Status(Code::kUnimplemented, std::move(m)); }
Status DeadlineExceededError(std::string m) {
  return Status(Code::kDeadlineExceeded, std::move(m));
}
Status UnavailableError(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
Status PermissionDeniedError(std::string m) {
  return Status(Code::kPermissionDenied, std::move(m));
}

Code CodeFromErrno(int err) {
  switch (err) {
    case 0:
      return Code::kOk;
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
    case EXDEV:
    case ENOTDIR:
    case EISDIR:
      return Code::kInvalidArgument;
    case ENOENT:
    case ESRCH:
      return Code::kNotFound;
    case EEXIST:
    case ENOTEMPTY:
      return Code::kAlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS:
      return Code::kPermissionDenied;
    case EBUSY:
    case EAGAIN:
      return Code::kBusy;
    case ENOSYS:
    case EOPNOTSUPP:
      return Code::kUnimplemented;
    case ETIMEDOUT:
      return Code::kDeadlineExceeded;
    case EPIPE:
    case ECONNRESET:
    case ECONNREFUSED:
    case ENOTCONN:
      return Code::kUnavailable;
    default:
      return Code::kIoError;
  }
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? std::string(name) : "errno " + std::to_string(err);
}

Status ErrnoError(int err, std::string_view what) {
  std::string m(what);
  m += ": ";
  m += strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error";
  // Lowercase the first letter of strerror's sentence-case text.
  const size_t at = what.size() + 2;
  if (at < m.size() && m[at] >= 'A' && m[at] <= 'Z' &&
      !(at + 1 < m.size() && m[at + 1] >= 'A' && m[at + 1] <= 'Z'))
    m[at] = static_cast<char>(m[at] - 'A' + 'a');
  m += " (" + ErrnoName(err) + ")";
  return Status(CodeFromErrno(err), std::move(m), err);
}

}  // namespace vmshare
