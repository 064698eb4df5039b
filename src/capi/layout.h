// Where the C ABI's handles find a sandbox's state below vmshare's root: the
// sandbox layer's layout (sandbox/layout.h) is the one that knows.
#pragma once

#include "sandbox/layout.h"

namespace vmshare::capi {

using sandbox::StateRootOf;

}  // namespace vmshare::capi
