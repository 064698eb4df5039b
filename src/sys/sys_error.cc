#include "sys/sys_error.h"

#include <cerrno>
#include <string>

#include "core/ids.h"
#include "sys/posix_env.h"

namespace vmshare::sys {

Status SysErrorCode(int err, std::string_view op, std::string_view object) {
  std::string what(op);
  if (!object.empty()) what += " " + Quote(object);
  return ErrnoError(err, what);
}

Status SysError(std::string_view op, std::string_view object) {
  const int err = errno;
  return SysErrorCode(err, op, object);
}

Status SysError(std::string_view op, const Fd& dir, const std::string& path) {
  const int err = errno;
  return SysErrorCode(err, op, DescribeAt(dir, path));
}

Status SysError(std::string_view op, const Fd& fd) {
  const int err = errno;
  return SysErrorCode(err, op, DescribeAt(fd, ""));
}

}  // namespace vmshare::sys
