// Where benchmarks put their scratch directories.
//
// The base is `--scratch=DIR` (taken out of argv by the bench main), else
// $TMPDIR, else /tmp. Unless `--no-tmpfs` is given, the bench main mounts a
// tmpfs there in its private mount namespace (the host keeps /run on tmpfs,
// so that is the medium the figures are for) and ScratchBase() names it.
#pragma once

#include <string>

namespace vmshare::bench {

// The directory benchmarks create their scratch directories in.
const std::string& ScratchBase();

// A fresh directory `<ScratchBase()>/vmshare-bench-<tag>-XXXXXX`; aborts
// with a message when it cannot be made.
std::string MakeScratchDir(const std::string& tag);

}  // namespace vmshare::bench
