// How a Status becomes the C ABI's return value and message, and the guard
// that keeps every C++ exception inside the library.
//
// Every exported function body runs inside Guard(): an escaping exception
// (std::bad_alloc, a bug) becomes -EIO with a message naming the operation,
// never a crash of the caller.
#pragma once

#include <cerrno>
#include <exception>
#include <string>
#include <string_view>

#include "core/result.h"

namespace vmshare::capi {

// The negative errno the header documents for `s` (0 for OK): -EINVAL,
// -ENOENT, -EBUSY, the OS's -EROFS/-EPERM/-EACCES, else -EIO.
int ErrnoOf(const Status& s);

// A malloc'd copy of `s` (NUL-terminated), or nullptr when out of memory.
char* DupString(std::string_view s) noexcept;

// Stores a copy of s's message in *error (when error is not null) and returns
// ErrnoOf(s). OK leaves *error null and returns 0.
int Report(const Status& s, char** error) noexcept;

// kInvalidArgument "<op>: <what> is NULL".
Status NullArgument(std::string_view op, std::string_view what);

// "<op>: internal error: <why>" as -EIO, for an exception that reached Guard.
int ReportInternal(std::string_view op, const char* why, char** error) noexcept;

// Runs f() (returning Status) and reports its outcome through `error`; no
// exception leaves it.
template <typename F>
int Guard(std::string_view op, char** error, F&& f) noexcept {
  if (error) *error = nullptr;
  try {
    return Report(f(), error);
  } catch (const std::exception& e) {
    return ReportInternal(op, e.what(), error);
  } catch (...) {
    return ReportInternal(op, "unknown exception", error);
  }
}

// Runs f() (returning nothing) and swallows any exception: for the void
// functions of the ABI (close, stop), which have no way to report one.
template <typename F>
void GuardVoid(F&& f) noexcept {
  try {
    f();
  } catch (...) {
  }
}

}  // namespace vmshare::capi
