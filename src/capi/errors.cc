#include "capi/errors.h"

#include <cstdlib>
#include <cstring>

namespace vmshare::capi {

int ErrnoOf(const Status& s) {
  if (s.ok()) return 0;
  switch (s.err()) {
    case EROFS:
    case EPERM:
    case EACCES:
      return -s.err();
    default:
      break;
  }
  switch (s.code()) {
    case Code::kInvalidArgument:
      return -EINVAL;
    case Code::kNotFound:
      return -ENOENT;
    case Code::kBusy:
      return -EBUSY;
    case Code::kPermissionDenied:
      return -EPERM;
    default:
      return -EIO;
  }
}

char* DupString(std::string_view s) noexcept {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) return nullptr;
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

int Report(const Status& s, char** error) noexcept {
  if (error) *error = s.ok() ? nullptr : DupString(s.message());
  return ErrnoOf(s);
}

Status NullArgument(std::string_view op, std::string_view what) {
  return InvalidArgumentError(std::string(op) + ": " + std::string(what) + " is NULL");
}

int ReportInternal(std::string_view op, const char* why, char** error) noexcept {
  if (error) {
    // Built without std::string: the exception may have been bad_alloc.
    const char kMid[] = ": internal error: ";
    const size_t n = op.size() + sizeof(kMid) - 1 + std::strlen(why);
    char* p = static_cast<char*>(std::malloc(n + 1));
    if (p) {
      std::memcpy(p, op.data(), op.size());
      std::memcpy(p + op.size(), kMid, sizeof(kMid) - 1);
      std::strcpy(p + op.size() + sizeof(kMid) - 1, why);
    }
    *error = p;
  }
  return -EIO;
}

}  // namespace vmshare::capi
