// Kubernetes volumes whose content the kubelet updates in place: configmap,
// secret, projected and downward-API volumes.
//
// Such a volume lives at
//   <kubelet-root>/pods/<36-char pod uid>/volumes/kubernetes.io~<kind>/<name>
// and a container mount whose source is at or below it is *watched*: the
// guest gets its own copy and the watcher keeps it in sync. The kubelet root
// may be a symlink: it is resolved once, when the matcher is made, and both
// the given and the resolved forms match. Matching is lexical on an
// absolute path ("." and repeated "/" ignored; a ".." component never
// matches).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sys/env.h"

namespace vmshare::share {

struct KubeVolume {
  std::string volume_dir;  // the volume directory, in the root form that matched
  std::string rel;         // the source below volume_dir ("" for the directory itself)
  std::string kind;        // "configmap", "secret", "projected" or "downward-api"
  bool operator==(const KubeVolume&) const = default;
};

class KubeVolumeMatcher {
 public:
  // Never fails: a kubelet root that does not exist (or cannot be resolved)
  // matches in its given form only.
  KubeVolumeMatcher(sys::Env* env, const std::string& kubelet_root);

  std::optional<KubeVolume> Match(const std::string& source) const;
  const std::vector<std::string>& roots() const { return roots_; }

 private:
  std::vector<std::string> roots_;  // normalized, without trailing '/'
};

// True for a name the kubelet gives a timestamped payload directory:
// ".." + YYYY_MM_DD_HH_MM_SS + "." + digits.
bool IsTimestampedDirName(const std::string& name);

}  // namespace vmshare::share
