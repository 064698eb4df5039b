// process.* and linux.* fields the guest agent applies.
#include <map>

#include "oci/fields.h"

namespace vmshare::oci::internal {
namespace {

// The namespace a sysctl belongs to ("" for one of the whole guest), as the
// agent decides it (agent/server/oci_process.cc).
std::string SysctlNamespace(const std::string& key) {
  if (key.rfind("net.", 0) == 0) return "network";
  if (key.rfind("kernel.msg", 0) == 0 || key.rfind("kernel.sem", 0) == 0 ||
      key.rfind("kernel.shm", 0) == 0 || key.rfind("fs.mqueue.", 0) == 0)
    return "ipc";
  if (key == "kernel.hostname" || key == "kernel.domainname") return "uts";
  return "";
}

// kShim: a sysctl of a namespace joined by path (a CRI container's pod
// network/ipc namespace) would set the pod's, which in the guest is the
// guest's own: it is left out with a notice instead of failing the pod.
void DropJoinedNamespaceSysctls(Config* c) {
  std::map<std::string, std::string> joined;
  for (const auto& ns : c->spec.namespaces) {
    if (!ns.path.empty()) joined[ns.type] = ns.path;
  }
  for (auto it = c->spec.sysctl.begin(); it != c->spec.sysctl.end();) {
    const std::string ns = SysctlNamespace(it->first);
    auto j = joined.find(ns);
    if (ns.empty() || j == joined.end()) {
      ++it;
      continue;
    }
    c->notices.push_back("linux.sysctl \"" + it->first + "\" is not applied: the container joins " +
                         ns + " namespace " + j->second +
                         ", which in the VM is the guest's own, shared by the whole sandbox");
    it = c->spec.sysctl.erase(it);
  }
}

void ReadNamespaces(Reader& r, const json& linux, agent::ContainerSpec& s) {
  const json* nss = r.Child(linux, "namespaces", ".linux", json::value_t::array);
  if (!nss) return;
  for (size_t i = 0; i < nss->size() && !r.failed(); ++i) {
    const std::string at = ".linux.namespaces[" + std::to_string(i) + "]";
    if (!(*nss)[i].is_object()) {
      r.Fail(at + " must be an object");
      break;
    }
    s.namespaces.push_back({r.String((*nss)[i], "type", at), r.String((*nss)[i], "path", at)});
  }
}

void ReadDevices(Reader& r, const json& linux, agent::ContainerSpec& s) {
  const json* devs = r.Child(linux, "devices", ".linux", json::value_t::array);
  if (!devs) return;
  for (size_t i = 0; i < devs->size() && !r.failed(); ++i) {
    const std::string at = ".linux.devices[" + std::to_string(i) + "]";
    if (!(*devs)[i].is_object()) {
      r.Fail(at + " must be an object");
      break;
    }
    const json& d = (*devs)[i];
    s.devices.push_back({r.String(d, "path", at), r.String(d, "type", at), r.Int64(d, "major", at),
                         r.Int64(d, "minor", at), r.Uint32(d, "fileMode", at),
                         r.Uint32(d, "uid", at), r.Uint32(d, "gid", at)});
  }
}

}  // namespace

void ReadProcessFields(Reader& r, const json& proc, Config* c) {
  agent::ContainerSpec& s = c->spec;
  s.terminal = c->process.terminal;
  if (const json* user = r.Child(proc, "user", ".process", json::value_t::object)) {
    s.additional_gids = r.Uint32s(*user, "additionalGids", ".process.user");
    if (user->contains("umask") && !(*user)["umask"].is_null())
      s.umask = r.Uint32(*user, "umask", ".process.user");
  }
  if (const json* caps = r.Child(proc, "capabilities", ".process", json::value_t::object)) {
    const std::string at = ".process.capabilities";
    s.capabilities =
        agent::SpecCapabilities{r.Strings(*caps, "bounding", at), r.Strings(*caps, "effective", at),
                                r.Strings(*caps, "inheritable", at),
                                r.Strings(*caps, "permitted", at), r.Strings(*caps, "ambient", at)};
  }
  if (const json* limits = r.Child(proc, "rlimits", ".process", json::value_t::array)) {
    for (size_t i = 0; i < limits->size() && !r.failed(); ++i) {
      const std::string at = ".process.rlimits[" + std::to_string(i) + "]";
      if (!(*limits)[i].is_object()) {
        r.Fail(at + " must be an object");
        break;
      }
      const json& l = (*limits)[i];
      s.rlimits.push_back(
          {r.String(l, "type", at), r.Uint64(l, "hard", at), r.Uint64(l, "soft", at)});
    }
  }
  s.no_new_privileges = r.Bool(proc, "noNewPrivileges", ".process");
}

void ReadLinuxFields(Reader& r, const json& doc, Policy policy, Config* c) {
  agent::ContainerSpec& s = c->spec;
  const json* linux = r.Child(doc, "linux", "", json::value_t::object);
  if (!linux) return;
  ReadNamespaces(r, *linux, s);
  ReadDevices(r, *linux, s);
  if (const json* sysctl = r.Child(*linux, "sysctl", ".linux", json::value_t::object)) {
    for (const auto& [k, v] : sysctl->items()) {
      if (!v.is_string()) {
        r.Fail(".linux.sysctl." + k + " must be a string");
        break;
      }
      s.sysctl[k] = v.get<std::string>();
    }
  }
  if (policy == Policy::kShim) DropJoinedNamespaceSysctls(c);
  s.masked_paths = r.Strings(*linux, "maskedPaths", ".linux");
  s.readonly_paths = r.Strings(*linux, "readonlyPaths", ".linux");
  if (!r.String(*linux, "cgroupsPath", ".linux").empty()) {
    c->notices.push_back(
        "linux.cgroupsPath is not used: the guest agent gives the container a cgroup of its own");
  }
  if (linux->contains("resources") && !(*linux)["resources"].is_null()) {
    c->notices.push_back(policy == Policy::kRun
                             ? "linux.resources is not applied: the guest's --memory and --cpus "
                               "bound the container"
                             : "linux.resources is not applied at create: the guest's memory and "
                               "CPUs bound the container");
  }
}

}  // namespace vmshare::oci::internal
