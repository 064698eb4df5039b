// Where the C ABI's handles find a sandbox's state below vmshare's root.
#pragma once

#include <string>

namespace vmshare::capi {

// <root>/sbs: Kata's persist layout below vmshare's root, as the CLI keeps it.
inline std::string StateRootOf(const std::string& root) { return root + "/sbs"; }

}  // namespace vmshare::capi
