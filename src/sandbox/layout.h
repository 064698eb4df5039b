// SandboxLayout: every host path that belongs to one sandbox, derived in one
// place from vmshare's root, the sandbox id and (Kata compatibility) the
// share-tree base:
//
//   <root>/sandboxes/<sid>/{mounts,shared,private}   the share tree
//   (or <share_base>/<sid>/{mounts,shared,private} when share_base is set)
//   <root>/sbs/<sid>/persist.json                    the sandbox's state
//   <root>/sbs/<sid>/<cid>/persist.json              one per container
//   <root>/vm/<sid>/                                 a running guest's sockets
//                                                    and logs (the run dir)
//
// The share tree's location is spelled by share::ShareTreePaths::For (the
// sharer below needs it too); everything above the share layer asks this
// struct. Pure: nothing here touches the filesystem.
#pragma once

#include <string>

#include "share/share_tree.h"
#include "sys/env.h"

namespace vmshare::sandbox {

struct SandboxLayout {
  std::string root;        // vmshare's root, as given (absolute)
  std::string sandbox_id;  // validated by whoever built the layout
  std::string share_base;  // "" (default tree under <root>/sandboxes) or Kata's base
  share::ShareTreePaths tree;  // .sandboxes, .sandbox, .mounts, .shared, .private_dir
  std::string state_root;  // <root>/sbs: persist::StateStore's root
  std::string state_dir;   // <root>/sbs/<sid>
  std::string vm_root;     // <root>/vm: parent of every run dir (kept)
  std::string run_dir;     // <root>/vm/<sid>
  std::string kvm_probe;   // <root>/kvm-probe: the cached KVM probe answer (shared)

  // REQUIRES: root (and share_base if not empty) absolute; sid a valid id.
  static SandboxLayout For(const std::string& root, const std::string& sid,
                           const std::string& share_base = "");
};

// <root>/sbs, where persisted state lives (Kata's persist layout below root).
std::string StateRootOf(const std::string& root);
// <root>/vm, the parent of every sandbox's run dir.
std::string VmRootOf(const std::string& root);
// <root>/sandboxes, the default parent of every share tree.
std::string DefaultShareBaseOf(const std::string& root);

// The id `vmshare run` gives its sandbox: "run-<pid>-<hex>" (gc knows the
// form: such a sandbox without state is left alone while <pid> lives).
std::string NewRunSandboxId(sys::Env* env);

}  // namespace vmshare::sandbox
