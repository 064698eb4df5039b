#include "persist/schema.h"

#include <limits>
#include <utility>

namespace vmshare::persist {
namespace {

// Reads typed fields out of one JSON object, remembering the first problem.
// Go's decoder treats `null` and a missing key as the zero value; so do we.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {}

  const Status& status() const { return status_; }

  void Fail(const std::string& where, std::string_view what) {
    if (status_.ok())
      status_ = CorruptionError("parse \"" + path_ + "\": field " + where + ": " + std::string(what));
  }

  // The value of `key` in `obj`, or null when absent or `obj` is not an object.
  static const Json* Find(const Json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  void String(const Json& obj, const char* key, const std::string& where, std::string* out) {
    const Json* v = Find(obj, key);
    if (!v) return;
    if (!v->is_string()) return Fail(where + key, "expected a string");
    *out = v->get_ref<const std::string&>();
  }

  void Bool(const Json& obj, const char* key, const std::string& where, bool* out) {
    const Json* v = Find(obj, key);
    if (!v) return;
    if (!v->is_boolean()) return Fail(where + key, "expected a boolean");
    *out = v->get<bool>();
  }

  template <typename T>
  void Int(const Json& obj, const char* key, const std::string& where, T* out) {
    const Json* v = Find(obj, key);
    if (!v) return;
    if (v->is_number_unsigned()) {
      const uint64_t u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) return Fail(where + key, "out of range");
      *out = static_cast<T>(u);
    } else if (v->is_number_integer()) {
      const int64_t i = v->get<int64_t>();
      if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          i > static_cast<int64_t>(std::numeric_limits<T>::max()))
        return Fail(where + key, "out of range");
      *out = static_cast<T>(i);
    } else {
      Fail(where + key, "expected an integer");
    }
  }

  void Strings(const Json& obj, const char* key, const std::string& where, std::vector<std::string>* out) {
    const Json* v = Find(obj, key);
    if (!v) return;
    if (!v->is_array()) return Fail(where + key, "expected an array of strings");
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string())
        return Fail(where + key + "[" + std::to_string(i) + "]", "expected a string");
      out->push_back((*v)[i].get<std::string>());
    }
  }

  // Calls each(element, "<key>[i].") for every element of the array `key`.
  template <typename F>
  void Array(const Json& obj, const char* key, const std::string& where, F each) {
    const Json* v = Find(obj, key);
    if (!v) return;
    if (!v->is_array()) return Fail(where + key, "expected an array");
    for (size_t i = 0; i < v->size(); ++i) {
      const std::string at = where + key + "[" + std::to_string(i) + "]";
      if (!(*v)[i].is_object()) return Fail(at, "expected an object");
      each((*v)[i], at + ".");
    }
  }

 private:
  std::string path_;
  Status status_;
};

void ReadMount(Reader& r, const Json& m, const std::string& at, Mount* out) {
  r.String(m, "Source", at, &out->source);
  r.String(m, "Destination", at, &out->destination);
  r.String(m, "Type", at, &out->type);
  // Kata 3.x's RootfsState names the filesystem type FsType.
  if (out->type.empty()) r.String(m, "FsType", at, &out->type);
  r.Strings(m, "Options", at, &out->options);
  r.String(m, "HostPath", at, &out->host_path);
  r.String(m, "BlockDeviceID", at, &out->block_device_id);
  r.Bool(m, "ReadOnly", at, &out->read_only);
  r.Bool(m, "Mounted", at, &out->mounted);
}

void ReadProcess(Reader& r, const Json& p, const std::string& at, Process* out) {
  r.String(p, "Token", at, &out->token);
  r.Int(p, "Pid", at, &out->pid);
  r.String(p, "StartTime", at, &out->start_time);
  if (out->start_time == kGoZeroTime) out->start_time.clear();
}

// Go marshals a nil slice as null; an empty one round-trips through it.
Json StringsOrNull(const std::vector<std::string>& v) {
  if (v.empty()) return nullptr;
  Json a = Json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

// The element of base[key] whose `match_key` equals `match`, or an empty object.
Json BaseElement(const Json* base, const char* key, const char* match_key, const std::string& match) {
  if (base && base->is_object()) {
    auto it = base->find(key);
    if (it != base->end() && it->is_array()) {
      for (const auto& e : *it) {
        if (!e.is_object()) continue;
        auto m = e.find(match_key);
        if (m != e.end() && m->is_string() && m->get_ref<const std::string&>() == match) return e;
      }
    }
  }
  return Json::object();
}

Json BaseObject(const Json* base, const char* key) {
  if (base && base->is_object()) {
    auto it = base->find(key);
    if (it != base->end() && it->is_object()) return *it;
  }
  return Json::object();
}

void WriteMount(const Mount& m, Json* j) {
  (*j)["Source"] = m.source;
  (*j)["Destination"] = m.destination;
  (*j)["Type"] = m.type;
  (*j)["HostPath"] = m.host_path;
  (*j)["BlockDeviceID"] = m.block_device_id;
  (*j)["Options"] = StringsOrNull(m.options);
  (*j)["ReadOnly"] = m.read_only;
  (*j)["Mounted"] = m.mounted;
}

Json ProcessJson(const Process& p, Json j) {
  j["StartTime"] = p.start_time.empty() ? std::string(kGoZeroTime) : p.start_time;
  j["Token"] = p.token;
  j["Pid"] = p.pid;
  return j;
}

// Builds the document like Json::parse, but records the parser's message
// (which says where the input went wrong) instead of throwing it.
class ErrorCapturingParser : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  explicit ErrorCapturingParser(Json& doc)
      : nlohmann::detail::json_sax_dom_parser<Json>(doc, /*allow_exceptions_=*/false) {}

  // Hides the base's parse_error: sax_parse calls it through this type.
  template <class Exception>
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/, const Exception& ex) {
    failed_ = true;
    error_ = ex.what();
    return false;
  }
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }

 private:
  bool failed_ = false;
  std::string error_;
};

}  // namespace

Result<Json> ParseDocument(std::string_view text, const std::string& path) {
  Json doc;
  ErrorCapturingParser sax(doc);
  const bool ok = Json::sax_parse(text, &sax, nlohmann::detail::input_format_t::json, /*strict=*/true);
  if (!ok || sax.failed()) {
    const std::string why = text.empty() ? "empty file" : sax.error().empty() ? "invalid JSON" : sax.error();
    return CorruptionError("parse \"" + path + "\": " + why);
  }
  if (!doc.is_object())
    return CorruptionError("parse \"" + path + "\": expected a JSON object, got " + doc.type_name());
  return doc;
}

Result<ContainerState> ContainerFromJson(const Json& doc, const std::string& path) {
  Reader r(path);
  ContainerState s;
  r.String(doc, "State", "", &s.state);
  r.String(doc, "CgroupPath", "", &s.cgroup_path);
  r.String(doc, "BundlePath", "", &s.bundle_path);
  if (const Json* root = Reader::Find(doc, "Rootfs")) {
    if (!root->is_object()) r.Fail("Rootfs", "expected an object");
    else ReadMount(r, *root, "Rootfs.", &s.rootfs);
  }
  const Json* vm = Reader::Find(doc, kVmshareKey);
  if (vm && Reader::Find(*vm, "Processes")) {
    r.Array(*vm, "Processes", std::string(kVmshareKey) + ".", [&](const Json& p, const std::string& at) {
      ReadProcess(r, p, at, &s.process.emplace_back());
    });
  } else if (const Json* proc = Reader::Find(doc, "Process")) {
    if (proc->is_array()) {
      r.Array(doc, "Process", "", [&](const Json& p, const std::string& at) {
        ReadProcess(r, p, at, &s.process.emplace_back());
      });
    } else if (proc->is_object()) {
      Process p;
      ReadProcess(r, *proc, "Process.", &p);
      // Kata 3.x always writes one Process; its zero value means "none".
      if (p != Process{}) s.process.push_back(std::move(p));
    } else {
      r.Fail("Process", "expected an object or an array");
    }
  }
  r.Array(doc, "DeviceMaps", "", [&](const Json& d, const std::string& at) {
    DeviceMap& m = s.device_maps.emplace_back();
    r.String(d, "ID", at, &m.id);
    r.String(d, "ContainerPath", at, &m.container_path);
    r.Int(d, "FileMode", at, &m.file_mode);
    r.Int(d, "UID", at, &m.uid);
    r.Int(d, "GID", at, &m.gid);
  });
  r.Array(doc, "Mounts", "", [&](const Json& m, const std::string& at) {
    ReadMount(r, m, at, &s.mounts.emplace_back());
  });
  if (!r.status().ok()) return r.status();
  return s;
}

Json ContainerToJson(const ContainerState& s, const Json* base) {
  Json j = (base && base->is_object()) ? *base : Json::object();
  j["State"] = s.state;
  j["CgroupPath"] = s.cgroup_path;
  j["BundlePath"] = s.bundle_path;

  Json root = BaseObject(base, "Rootfs");
  WriteMount(s.rootfs, &root);
  root["FsType"] = s.rootfs.block_device_id.empty() ? std::string() : s.rootfs.type;
  j["Rootfs"] = std::move(root);

  j["Process"] = ProcessJson(s.process.empty() ? Process{} : s.process.front(), BaseObject(base, "Process"));
  Json vm = BaseObject(base, kVmshareKey);
  // A lone zero Process would read back as "none" from "Process"; keep it here.
  if (s.process.size() > 1 || (s.process.size() == 1 && s.process.front() == Process{})) {
    Json all = Json::array();
    for (const auto& p : s.process) all.push_back(ProcessJson(p, Json::object()));
    vm["Processes"] = std::move(all);
  } else {
    vm.erase("Processes");
  }
  if (vm.empty()) j.erase(kVmshareKey);
  else j[kVmshareKey] = std::move(vm);

  Json maps = nullptr;
  for (const auto& d : s.device_maps) {
    Json e = BaseElement(base, "DeviceMaps", "ContainerPath", d.container_path);
    e["ID"] = d.id;
    e["ContainerPath"] = d.container_path;
    e["FileMode"] = d.file_mode;
    e["UID"] = d.uid;
    e["GID"] = d.gid;
    maps.push_back(std::move(e));
  }
  j["DeviceMaps"] = std::move(maps);

  Json mounts = nullptr;
  for (const auto& m : s.mounts) {
    Json e = BaseElement(base, "Mounts", "Destination", m.destination);
    e.erase("FsType");  // Type carries it now; a stale one would be read back
    WriteMount(m, &e);
    mounts.push_back(std::move(e));
  }
  j["Mounts"] = std::move(mounts);
  return j;
}

Result<SandboxState> SandboxFromJson(const Json& doc, const std::string& path) {
  Reader r(path);
  SandboxState s;
  uint64_t version = 0;
  r.Int(doc, "PersistVersion", "", &version);
  if (!r.status().ok()) return r.status();
  if (version != kPersistVersion)
    return Status(Code::kUnimplemented, "read \"" + path + "\": unsupported PersistVersion " +
                                            std::to_string(version) + " (this vmshare reads " +
                                            std::to_string(kPersistVersion) + ")");
  s.persist_version = static_cast<uint32_t>(version);
  r.String(doc, "State", "", &s.state);
  r.String(doc, "SandboxContainer", "", &s.sandbox_container);
  if (const Json* vm = Reader::Find(doc, kVmshareKey)) {
    const std::string at = std::string(kVmshareKey) + ".";
    r.String(*vm, "SharedFs", at, &s.shared_fs);
    r.Strings(*vm, "BindMounts", at, &s.bind_mounts);
    r.String(*vm, "ShareBase", at, &s.share_base);
    r.String(*vm, "RootfsName", at, &s.rootfs_name);
    r.Array(*vm, "Processes", at, [&](const Json& p, const std::string& pat) {
      RecordedProcess& rp = s.processes.emplace_back();
      r.String(p, "Role", pat, &rp.role);
      r.Int(p, "Pid", pat, &rp.pid);
      r.Int(p, "StartTimeTicks", pat, &rp.start_time_ticks);
      r.String(p, "State", pat, &rp.state);
    });
  }
  if (!r.status().ok()) return r.status();
  return s;
}

Json SandboxToJson(const SandboxState& s, const Json* base) {
  Json j = (base && base->is_object()) ? *base : Json::object();
  j["State"] = s.state;
  j["SandboxContainer"] = s.sandbox_container;
  j["PersistVersion"] = kPersistVersion;
  Json vm = BaseObject(base, kVmshareKey);
  vm["SharedFs"] = s.shared_fs;
  vm["BindMounts"] = StringsOrNull(s.bind_mounts);
  // Written only when not the default, so default documents keep their shape.
  vm.erase("ShareBase");
  vm.erase("RootfsName");
  if (!s.share_base.empty()) vm["ShareBase"] = s.share_base;
  if (s.rootfs_name != "rootfs") vm["RootfsName"] = s.rootfs_name;
  if (s.processes.empty()) {
    vm.erase("Processes");
  } else {
    Json all = Json::array();
    for (const auto& p : s.processes)
      all.push_back({{"Role", p.role}, {"Pid", p.pid}, {"StartTimeTicks", p.start_time_ticks}, {"State", p.state}});
    vm["Processes"] = std::move(all);
  }
  j[kVmshareKey] = std::move(vm);
  return j;
}

std::string Serialize(const Json& doc) {
  // Invalid UTF-8 in a string is replaced rather than thrown about.
  return doc.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace) + "\n";
}

}  // namespace vmshare::persist
