// Names of shares: the entry under mounts/ and the matching guest path.
//
// Kata's conventions, kept so a Kata agent can consume our Storage list:
// a volume is <guest-shared>/<cid>-<16 hex>-<basename(destination)>, a
// directory rootfs <guest-shared>/<cid>/rootfs, a sandbox bind mount
// <guest-shared>/sandbox-mounts/<basename>.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "sys/env.h"

namespace vmshare::share {

inline constexpr char kSandboxMountsDir[] = "sandbox-mounts";
inline constexpr char kRootfsDir[] = "rootfs";

// The last component of `path` (trailing slashes ignored). kInvalidArgument
// when there is none usable as a file name ("", "/", ".", "..").
// `what` names the path in the message, e.g. `mount destination`.
Result<std::string> UsableBaseName(std::string_view what, std::string_view path);

// 16 lowercase hex digits from getrandom(2) (through env).
Result<std::string> RandomHex16(sys::Env* env);

// "<cid>-<hex16>-<basename(destination)>", the name under mounts/ and
// guest-shared. kInvalidArgument when the destination has no usable base
// name or the result would exceed NAME_MAX.
Result<std::string> VolumeShareName(std::string_view container_id, std::string_view destination,
                                    std::string_view hex16);

// True when `name` could have come from VolumeShareName for container_id.
bool IsVolumeShareNameOf(std::string_view container_id, std::string_view name);

// guest_shared + "/" + rel.
std::string GuestPath(std::string_view guest_shared, std::string_view rel);

}  // namespace vmshare::share
