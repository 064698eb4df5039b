#include "share/kube_volume.h"

#include <fcntl.h>

#include <array>
#include <cctype>

namespace vmshare::share {
namespace {

constexpr std::array<const char*, 4> kKinds = {"configmap", "secret", "projected", "downward-api"};

// Components of an absolute path; nullopt for a relative path or "..".
std::optional<std::vector<std::string>> Components(const std::string& path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string> out;
  size_t i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string c = path.substr(i, j - i);
    if (c == "..") return std::nullopt;
    if (!c.empty() && c != ".") out.push_back(std::move(c));
    i = j + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    if (i > from) out += '/';
    out += parts[i];
  }
  return out;
}

bool IsPodUid(const std::string& s) {
  if (s.size() != 36) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

}  // namespace

KubeVolumeMatcher::KubeVolumeMatcher(sys::Env* env, const std::string& kubelet_root) {
  auto add = [this](const std::string& root) {
    auto parts = Components(root);
    if (!parts) return;
    std::string norm = "/";  // not "/" + Join(...): a false -Wrestrict at -O3 (GCC 12)
    norm += Join(*parts, 0, parts->size());
    for (const auto& r : roots_) {
      if (r == norm) return;
    }
    roots_.push_back(norm);
  };
  add(kubelet_root);
  auto fd = env->OpenAt(sys::Cwd(), kubelet_root, O_PATH | O_DIRECTORY);
  if (fd.ok()) {
    auto real = env->FdPath(*fd);
    if (real.ok()) add(*real);
  }
}

std::optional<KubeVolume> KubeVolumeMatcher::Match(const std::string& source) const {
  auto parts = Components(source);
  if (!parts) return std::nullopt;
  for (const auto& root : roots_) {
    auto root_parts = Components(root);
    const size_t n = root_parts->size();
    // pods/<uid>/volumes/kubernetes.io~<kind>/<name>
    if (parts->size() < n + 5) continue;
    bool prefix = true;
    for (size_t i = 0; i < n && prefix; ++i) prefix = (*parts)[i] == (*root_parts)[i];
    if (!prefix) continue;
    const auto& p = *parts;
    if (p[n] != "pods" || !IsPodUid(p[n + 1]) || p[n + 2] != "volumes") continue;
    const std::string plugin = p[n + 3];
    const std::string kPrefix = "kubernetes.io~";
    if (plugin.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    const std::string kind = plugin.substr(kPrefix.size());
    bool known = false;
    for (const char* k : kKinds) known = known || kind == k;
    if (!known) continue;
    KubeVolume v;
    v.volume_dir = "/";
    v.volume_dir += Join(p, 0, n + 5);
    v.rel = Join(p, n + 5, p.size());
    v.kind = kind;
    return v;
  }
  return std::nullopt;
}

bool IsTimestampedDirName(const std::string& name) {
  // ..YYYY_MM_DD_HH_MM_SS.<digits>
  static constexpr char kShape[] = "..dddd_dd_dd_dd_dd_dd.";
  const size_t fixed = sizeof(kShape) - 1;
  if (name.size() <= fixed) return false;
  for (size_t i = 0; i < fixed; ++i) {
    const char want = kShape[i];
    const char c = name[i];
    if (want == 'd' ? !std::isdigit(static_cast<unsigned char>(c)) : c != want) return false;
  }
  for (size_t i = fixed; i < name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  return true;
}

}  // namespace vmshare::share
