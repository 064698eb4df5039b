// Where the C ABI's handles find a sandbox's state below vmshare's root.
#pragma once

#include <string>

#if VMSHARE_CAPI_SANDBOX
#include "sandbox/layout.h"
#endif

namespace vmshare::capi {

#if VMSHARE_CAPI_SANDBOX
using sandbox::StateRootOf;
#else
// <root>/sbs: Kata's persist layout below vmshare's root, as the CLI keeps it.
inline std::string StateRootOf(const std::string& root) { return root + "/sbs"; }
#endif

}  // namespace vmshare::capi
