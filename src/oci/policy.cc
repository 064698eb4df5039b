// Fields vmshare cannot apply: refused or accepted with a notice, per policy.
#include <set>

#include "oci/fields.h"

namespace vmshare::oci::internal {
namespace {

enum class Act { kRefuse, kNotice };

struct Field {
  const char* parent;  // "" top level
  const char* key;
  Act run;
  Act shim;
  const char* why;
};

// kShim notices what containerd's CRI plugin writes for ordinary pods and
// the VM boundary stands in for (Kata does the same: no AppArmor or SELinux
// in the guest, no guest seccomp by default).
constexpr Act R = Act::kRefuse;
constexpr Act N = Act::kNotice;
constexpr Field kFields[] = {
    {"", "hooks", R, R, "hooks would run on the host, outside the VM; not supported"},
    {"", "domainname", R, R, "not supported"},
    {"process", "apparmorProfile", R, N, "the guest has no AppArmor"},
    {"process", "selinuxLabel", R, N, "the guest has no SELinux"},
    {"process", "oomScoreAdj", R, N, "not supported"},
    {"process", "scheduler", R, R, "not supported"},
    {"process", "ioPriority", R, R, "not supported"},
    {"process", "execCPUAffinity", R, R, "not supported"},
    {"linux", "uidMappings", R, R, "user namespaces are not supported"},
    {"linux", "gidMappings", R, R, "user namespaces are not supported"},
    {"linux", "seccomp", R, N, "seccomp filters are not supported yet"},
    {"linux", "mountLabel", R, N, "the guest has no SELinux"},
    {"linux", "intelRdt", R, N, "not applicable in a VM"},
    {"linux", "personality", R, R, "not supported"},
    {"linux", "timeOffsets", R, R, "not supported"},
    {"linux", "netDevices", R, R, "the guest has no host network devices to move"},
    {"linux", "memoryPolicy", R, R, "not supported"},
    {"", "vm", R, R, "vmshare boots its own guest kernel and image (--guest-dir)"},
    {"", "windows", R, R, "not a Linux bundle"},
    {"", "solaris", R, R, "not a Linux bundle"},
    {"", "zos", R, R, "not a Linux bundle"},
};

bool Present(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (it->is_string() || it->is_array() || it->is_object()) return !it->empty();
  return true;
}

}  // namespace

void CheckUnapplied(Reader& r, const json& doc, Policy policy, bool process_only, Config* c) {
  for (const Field& f : kFields) {
    const std::string parent = f.parent;
    if (process_only && parent != "process") continue;
    const json* obj = &doc;
    if (!parent.empty()) {
      auto it = doc.find(parent);
      if (it == doc.end() || !it->is_object()) continue;
      obj = &*it;
    }
    if (!Present(*obj, f.key)) continue;
    const std::string field = parent + (parent.empty() ? "" : ".") + f.key;
    if ((policy == Policy::kRun ? f.run : f.shim) == Act::kRefuse) {
      r.Fail("." + field + ": " + f.why);
      return;
    }
    c->notices.push_back(field + " is not applied: " + f.why);
  }
  if (process_only) return;
  const std::string version = r.String(doc, "ociVersion", "");
  if (!version.empty() && version.rfind("1.", 0) != 0)
    r.Fail(".ociVersion \"" + version + "\": only version 1.x of the runtime spec is supported");
  if (auto l = doc.find("linux"); l != doc.end() && l->is_object()) {
    const std::string prop = r.String(*l, "rootfsPropagation", ".linux");
    if (prop.empty() || prop == "private" || prop == "rprivate") return;
    if (policy == Policy::kRun) {
      r.Fail(".linux.rootfsPropagation \"" + prop + "\": only private is supported");
    } else {
      c->notices.push_back("linux.rootfsPropagation \"" + prop +
                           "\" is not applied: propagation cannot cross the VM boundary, the "
                           "container's mounts stay private");
    }
  }
}

// A bind mount takes the per-mount flags the guest applies to it (and
// propagation, which cannot cross the VM boundary: its mounts stay private).
void CheckBindOptions(Reader& r, const json& entry, const Mount& m, const std::string& at,
                      Policy policy, Config* c) {
  static const std::set<std::string> kApplied = {
      "bind",    "rbind",  "ro",     "rw",         "nosuid",     "suid",     "nodev",
      "dev",     "noexec", "exec",   "defaults",   "private",    "rprivate", "shared",
      "rshared", "slave",  "rslave", "unbindable", "runbindable"};
  for (const char* key : {"uidMappings", "gidMappings"}) {
    if (auto it = entry.find(key); it != entry.end() && !it->is_null() && !it->empty()) {
      r.Fail(at + "." + key + ": idmapped mounts are not supported");
      return;
    }
  }
  for (const std::string& o : m.options) {
    if (kApplied.count(o) != 0 || o.rfind("X-", 0) == 0) continue;
    if (o == "idmap" || o == "ridmap") {
      r.Fail(at + ".options \"" + o + "\": idmapped mounts are not supported");
      return;
    }
    const std::string why =
        "not applied to a bind mount by the guest (it takes "
        "ro/rw, nosuid, nodev, noexec, bind/rbind and propagation)";
    if (policy == Policy::kRun) {
      r.Fail(at + ".options \"" + o + "\": " + why);
      return;
    }
    c->notices.push_back("mount " + m.destination + ": option \"" + o + "\" is " + why);
  }
}

}  // namespace vmshare::oci::internal
