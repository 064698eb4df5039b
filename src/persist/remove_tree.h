// RemoveTreeAt: recursive removal that never crosses a mount boundary.
//
// State directories can end up holding a mount (a bug elsewhere, or an
// operator's bind mount); removing through it would delete the mounted
// filesystem's files. So every directory is opened without following
// symlinks, compared with the top's mount, and a mount found inside stops the
// removal with kFailedPrecondition naming it.
#pragma once

#include <string>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::persist {

// Removes dir/name and everything below it. OK when it does not exist.
// `dir_path` names `dir` in errors.
Status RemoveTreeAt(sys::Env* env, const sys::Fd& dir, const std::string& dir_path,
                    const std::string& name);

}  // namespace vmshare::persist
