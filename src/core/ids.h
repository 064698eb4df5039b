// Sandbox and container id validation.
//
// Ids become path components under --root, so they are checked before any
// filesystem change: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$. A failure names
// what kind of id it was and quotes it (with control bytes escaped).
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace vmshare {

inline constexpr size_t kMaxIdLength = 128;

// kind is "sandbox" or "container"; used in the message only.
Status ValidateId(std::string_view kind, std::string_view id);

// Quotes s for an error message, escaping control and non-ASCII bytes.
std::string Quote(std::string_view s);

}  // namespace vmshare
