// SysError: the one way sys/ turns a failed call into a Status. Internal to
// sys/.
//
// Every form reads errno (or takes the error number it is given) before it
// does anything else, quotes the object with Quote(), and builds
// `<op> "<object>": <cause> (<ENAME>)`; an empty object is left out.
//
// The object is built by the caller before the call, so build it from
// strings only. For an open fd or a dir fd + path use the Fd forms: they
// describe the file (a readlink, which may itself set errno) only after the
// error number is saved.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "sys/fd.h"

namespace vmshare::sys {

// The error of the call that just failed, from errno.
Status SysError(std::string_view op, std::string_view object = {});
// The same, naming the file `path` under `dir` (`dir` itself when `path` is
// empty), as DescribeAt() spells it.
Status SysError(std::string_view op, const Fd& dir, const std::string& path);
Status SysError(std::string_view op, const Fd& fd);
// For an error number that did not come from errno: a return value
// (pthread_*, libmount) or what a forked child reported.
Status SysErrorCode(int err, std::string_view op, std::string_view object = {});

}  // namespace vmshare::sys
