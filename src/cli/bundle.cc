#include "cli/bundle.h"

#include <fcntl.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace vmshare::cli {
namespace {

using nlohmann::json;

// Walks a parsed config with typed getters that record the first type error
// with its JSON path instead of throwing.
class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  const json* Child(const json& obj, const std::string& key, const std::string& path,
                    json::value_t want) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    const bool ok = it->type() == want || (want == json::value_t::number_unsigned &&
                                           it->is_number_integer() && it->get<int64_t>() >= 0);
    if (!ok) {
      Fail(path + "." + key + " must be " + TypeName(want) + ", not " + it->type_name());
      return nullptr;
    }
    return &*it;
  }

  std::string String(const json& obj, const std::string& key, const std::string& path) {
    const json* v = Child(obj, key, path, json::value_t::string);
    return v ? v->get<std::string>() : std::string();
  }

  std::vector<std::string> Strings(const json& obj, const std::string& key,
                                   const std::string& path) {
    std::vector<std::string> out;
    const json* v = Child(obj, key, path, json::value_t::array);
    if (!v) return out;
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) {
        Fail(path + "." + key + "[" + std::to_string(i) + "] must be a string");
        return {};
      }
      out.push_back((*v)[i].get<std::string>());
    }
    return out;
  }

  uint32_t Uint32(const json& obj, const std::string& key, const std::string& path) {
    const json* v = Child(obj, key, path, json::value_t::number_unsigned);
    if (!v) return 0;
    const uint64_t n = v->get<uint64_t>();
    if (n > UINT32_MAX) {
      Fail(path + "." + key + " is out of range");
      return 0;
    }
    return static_cast<uint32_t>(n);
  }

  uint64_t Uint64(const json& obj, const std::string& key, const std::string& path) {
    const json* v = Child(obj, key, path, json::value_t::number_unsigned);
    return v ? v->get<uint64_t>() : 0;
  }

  int64_t Int64(const json& obj, const std::string& key, const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return 0;
    if (!it->is_number_integer()) {
      Fail(path + "." + key + " must be an integer, not " + it->type_name());
      return 0;
    }
    return it->get<int64_t>();
  }

  std::vector<uint32_t> Uint32s(const json& obj, const std::string& key, const std::string& path) {
    std::vector<uint32_t> out;
    const json* v = Child(obj, key, path, json::value_t::array);
    if (!v) return out;
    for (size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > UINT32_MAX) {
        Fail(path + "." + key + "[" + std::to_string(i) + "] must be a 32-bit unsigned integer");
        return {};
      }
      out.push_back(static_cast<uint32_t>(e.get<uint64_t>()));
    }
    return out;
  }

  bool Bool(const json& obj, const std::string& key, const std::string& path) {
    const json* v = Child(obj, key, path, json::value_t::boolean);
    return v ? v->get<bool>() : false;
  }

  void Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }
  bool failed() const { return !error_.empty(); }
  Status status() const {
    return InvalidArgumentError("read OCI config \"" + name_ + "\": " + error_);
  }

 private:
  static std::string TypeName(json::value_t t) {
    switch (t) {
      case json::value_t::string:
        return "a string";
      case json::value_t::array:
        return "an array";
      case json::value_t::object:
        return "an object";
      case json::value_t::boolean:
        return "a boolean";
      case json::value_t::number_unsigned:
        return "a non-negative integer";
      default:
        return "another type";
    }
  }

  std::string name_;
  std::string error_;
};

// Fields vmshare cannot apply: refused, naming the field.
void RefuseUnsupported(Reader& r, const json& doc) {
  auto present = [](const json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return false;
    if (it->is_string() || it->is_array() || it->is_object()) return !it->empty();
    return true;
  };
  struct Field {
    const char* parent;  // "" top level
    const char* key;
    const char* why;
  };
  static const Field kRefused[] = {
      {"", "hooks", "hooks would run on the host, outside the VM; not supported"},
      {"", "domainname", "not supported"},
      {"process", "apparmorProfile", "the guest has no AppArmor"},
      {"process", "selinuxLabel", "the guest has no SELinux"},
      {"process", "oomScoreAdj", "not supported"},
      {"process", "scheduler", "not supported"},
      {"process", "ioPriority", "not supported"},
      {"linux", "uidMappings", "user namespaces are not supported"},
      {"linux", "gidMappings", "user namespaces are not supported"},
      {"linux", "seccomp", "seccomp filters are not supported yet"},
      {"linux", "mountLabel", "the guest has no SELinux"},
      {"linux", "intelRdt", "not applicable in a VM"},
      {"linux", "personality", "not supported"},
      {"linux", "timeOffsets", "not supported"},
      {"linux", "netDevices", "the guest has no host network devices to move"},
      {"linux", "memoryPolicy", "not supported"},
      {"process", "execCPUAffinity", "not supported"},
      {"", "vm", "vmshare boots its own guest kernel and image (--guest-dir)"},
      {"", "windows", "not a Linux bundle"},
      {"", "solaris", "not a Linux bundle"},
      {"", "zos", "not a Linux bundle"},
  };
  for (const auto& f : kRefused) {
    const json* obj = &doc;
    if (f.parent[0] != '\0') {
      auto it = doc.find(f.parent);
      if (it == doc.end() || !it->is_object()) continue;
      obj = &*it;
    }
    if (present(*obj, f.key)) {
      r.Fail(std::string(f.parent[0] ? "." : "") + f.parent + "." + f.key + ": " + f.why);
      return;
    }
  }
  const std::string version = r.String(doc, "ociVersion", "");
  if (!version.empty() && version.rfind("1.", 0) != 0)
    r.Fail(".ociVersion \"" + version + "\": only version 1.x of the runtime spec is supported");
  if (auto l = doc.find("linux"); l != doc.end() && l->is_object()) {
    const std::string prop = r.String(*l, "rootfsPropagation", ".linux");
    if (!prop.empty() && prop != "private" && prop != "rprivate")
      r.Fail(".linux.rootfsPropagation \"" + prop + "\": only private is supported");
  }
}

// A bind mount takes the per-mount flags the guest applies to it (and
// propagation, which cannot cross the VM boundary: its mounts stay private);
// anything else would be dropped without a word, so it is refused.
void CheckBindOptions(Reader& r, const json& entry, const Mount& m, const std::string& at) {
  static const std::set<std::string> kApplied = {
      "bind",    "rbind",  "ro",     "rw",         "nosuid",     "suid",     "nodev",
      "dev",     "noexec", "exec",   "defaults",   "private",    "rprivate", "shared",
      "rshared", "slave",  "rslave", "unbindable", "runbindable"};
  for (const std::string& o : m.options) {
    if (kApplied.count(o) != 0 || o.rfind("X-", 0) == 0) continue;
    r.Fail(at + ".options \"" + o + "\": not applied to a bind mount by the guest (it takes " +
           "ro/rw, nosuid, nodev, noexec, bind/rbind and propagation)");
    return;
  }
  for (const char* key : {"uidMappings", "gidMappings"}) {
    if (auto it = entry.find(key); it != entry.end() && !it->is_null() && !it->empty()) {
      r.Fail(at + "." + key + ": idmapped mounts are not supported");
      return;
    }
  }
}

void ReadProcessExtras(Reader& r, const json& proc, Bundle* b) {
  agent::ContainerSpec& s = b->oci;
  s.terminal = b->process.terminal;
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
  if (b->process.terminal) {
    b->notices.push_back(
        "process.terminal is ignored: vmshare run relays stdin, stdout and stderr on pipes");
  }
}

void ReadLinux(Reader& r, const json& doc, Bundle* b) {
  agent::ContainerSpec& s = b->oci;
  const json* linux = r.Child(doc, "linux", "", json::value_t::object);
  if (!linux) return;
  if (const json* nss = r.Child(*linux, "namespaces", ".linux", json::value_t::array)) {
    for (size_t i = 0; i < nss->size() && !r.failed(); ++i) {
      const std::string at = ".linux.namespaces[" + std::to_string(i) + "]";
      if (!(*nss)[i].is_object()) {
        r.Fail(at + " must be an object");
        break;
      }
      s.namespaces.push_back({r.String((*nss)[i], "type", at), r.String((*nss)[i], "path", at)});
    }
  }
  if (const json* devs = r.Child(*linux, "devices", ".linux", json::value_t::array)) {
    for (size_t i = 0; i < devs->size() && !r.failed(); ++i) {
      const std::string at = ".linux.devices[" + std::to_string(i) + "]";
      if (!(*devs)[i].is_object()) {
        r.Fail(at + " must be an object");
        break;
      }
      const json& d = (*devs)[i];
      s.devices.push_back({r.String(d, "path", at), r.String(d, "type", at),
                           r.Int64(d, "major", at), r.Int64(d, "minor", at),
                           r.Uint32(d, "fileMode", at), r.Uint32(d, "uid", at),
                           r.Uint32(d, "gid", at)});
    }
  }
  if (const json* sysctl = r.Child(*linux, "sysctl", ".linux", json::value_t::object)) {
    for (const auto& [k, v] : sysctl->items()) {
      if (!v.is_string()) {
        r.Fail(".linux.sysctl." + k + " must be a string");
        break;
      }
      s.sysctl[k] = v.get<std::string>();
    }
  }
  s.masked_paths = r.Strings(*linux, "maskedPaths", ".linux");
  s.readonly_paths = r.Strings(*linux, "readonlyPaths", ".linux");
  if (!r.String(*linux, "cgroupsPath", ".linux").empty()) {
    b->notices.push_back(
        "linux.cgroupsPath is not used: the guest agent gives the container a cgroup of its own");
  }
  if (linux->contains("resources") && !(*linux)["resources"].is_null()) {
    b->notices.push_back(
        "linux.resources is not applied: the guest's --memory and --cpus bound the container");
  }
}

}  // namespace

bool HasReadOnlyOption(const std::vector<std::string>& options) {
  return std::find(options.begin(), options.end(), "ro") != options.end();
}

bool IsHostBind(const Mount& m) {
  if (m.type == "bind") return true;
  return std::any_of(m.options.begin(), m.options.end(),
                     [](const std::string& o) { return o == "bind" || o == "rbind"; });
}

Result<Bundle> ParseBundleConfig(std::string_view text, const std::string& dir,
                                 const std::string& name) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return InvalidArgumentError("read OCI config \"" + name + "\": " + e.what());
  }
  if (!doc.is_object())
    return InvalidArgumentError("read OCI config \"" + name + "\": top level must be an object");

  Reader r(name);
  Bundle b;
  b.dir = dir;
  const json* root = r.Child(doc, "root", "", json::value_t::object);
  if (!root && !r.failed()) r.Fail(".root is missing");
  if (root) {
    const std::string path = r.String(*root, "path", ".root");
    if (!r.failed() && path.empty()) r.Fail(".root.path is missing or empty");
    b.rootfs = (!path.empty() && path[0] == '/') ? path : dir + "/" + path;
    b.rootfs_readonly = r.Bool(*root, "readonly", ".root");
  }
  if (const json* proc = r.Child(doc, "process", "", json::value_t::object)) {
    b.process.args = r.Strings(*proc, "args", ".process");
    b.process.env = r.Strings(*proc, "env", ".process");
    const std::string cwd = r.String(*proc, "cwd", ".process");
    if (!cwd.empty()) b.process.cwd = cwd;
    b.process.terminal = r.Bool(*proc, "terminal", ".process");
    if (const json* user = r.Child(*proc, "user", ".process", json::value_t::object)) {
      b.process.uid = r.Uint32(*user, "uid", ".process.user");
      b.process.gid = r.Uint32(*user, "gid", ".process.user");
    }
    ReadProcessExtras(r, *proc, &b);
  }
  b.oci.hostname = r.String(doc, "hostname", "");
  ReadLinux(r, doc, &b);
  RefuseUnsupported(r, doc);
  if (const json* mounts = r.Child(doc, "mounts", "", json::value_t::array)) {
    for (size_t i = 0; i < mounts->size() && !r.failed(); ++i) {
      const std::string at = ".mounts[" + std::to_string(i) + "]";
      const json& m = (*mounts)[i];
      if (!m.is_object()) {
        r.Fail(at + " must be an object");
        break;
      }
      Mount mount;
      mount.destination = r.String(m, "destination", at);
      mount.source = r.String(m, "source", at);
      mount.type = r.String(m, "type", at);
      mount.options = r.Strings(m, "options", at);
      if (!r.failed() && (mount.destination.empty() || mount.destination[0] != '/'))
        r.Fail(at + ".destination must be an absolute path");
      mount.read_only = HasReadOnlyOption(mount.options);
      if (!r.failed() && IsHostBind(mount) && mount.source.empty())
        r.Fail(at + ".source is missing for a bind mount");
      if (!r.failed() && IsHostBind(mount)) CheckBindOptions(r, m, mount, at);
      b.mounts.push_back(std::move(mount));
    }
  }
  if (r.failed()) return r.status();
  return b;
}

Result<Bundle> ReadBundle(sys::Env* env, const std::string& dir) {
  auto dir_fd = env->OpenAt(sys::Cwd(), dir, O_PATH | O_DIRECTORY);
  if (!dir_fd.ok()) {
    if (dir_fd.status().code() == Code::kNotFound)
      return NotFoundError("read OCI bundle \"" + dir + "\": no such directory");
    return dir_fd.status().WithContext("read OCI bundle");
  }
  // Relative root paths are relative to the bundle, so pin it down once.
  ASSIGN_OR_RETURN(const std::string abs_dir, env->FdPath(*dir_fd));
  const std::string name = abs_dir + "/config.json";
  auto fd = env->OpenAt(*dir_fd, "config.json", O_RDONLY | O_NOCTTY | O_NOFOLLOW);
  if (!fd.ok()) {
    if (fd.status().code() == Code::kNotFound)
      return NotFoundError("read OCI bundle \"" + dir + "\": no config.json");
    return fd.status().WithContext("read OCI bundle");
  }
  ASSIGN_OR_RETURN(std::string text, env->ReadAll(*fd, kMaxConfigBytes));
  return ParseBundleConfig(text, abs_dir, name);
}

}  // namespace vmshare::cli
