// The parts of config.h's reader that walk process and linux fields and
// apply the field policy. Internal to src/oci.
#pragma once

#include <string>

#include "oci/config.h"
#include "oci/json_reader.h"

namespace vmshare::oci::internal {

// process.capabilities/rlimits/noNewPrivileges/user.umask/additionalGids
// into c->spec (process.terminal is read by the caller).
void ReadProcessFields(Reader& r, const json& proc, Config* c);

// linux.namespaces/devices/sysctl/maskedPaths/readonlyPaths into c->spec;
// cgroupsPath and resources become notices.
void ReadLinuxFields(Reader& r, const json& doc, Policy policy, Config* c);

// Fields vmshare cannot apply, refused or noticed as `policy` says. With
// process_only, `doc` is {"process": ...} and only process fields count.
void CheckUnapplied(Reader& r, const json& doc, Policy policy, bool process_only, Config* c);

// A bind mount's options beyond the per-mount flags the guest applies:
// refused by kRun, noticed by kShim; idmapped mounts are refused by both.
void CheckBindOptions(Reader& r, const json& entry, const Mount& m, const std::string& at,
                      Policy policy, Config* c);

}  // namespace vmshare::oci::internal
