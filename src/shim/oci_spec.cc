#include "shim/oci_spec.h"

#include <fcntl.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace vmshare::shim {
namespace {

using Json = nlohmann::json;

Status Bad(const std::string& name, const std::string& field, const char* want) {
  return InvalidArgumentError("parse " + name + ": " + field + " must be " + want);
}

Status GetString(const Json& obj, const char* key, const std::string& name, const std::string& path,
                 std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return Bad(name, path + "." + key, "a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status GetStrings(const Json& obj, const char* key, const std::string& name,
                  const std::string& path, std::vector<std::string>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return Bad(name, path + "." + key, "an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return Bad(name, path + "." + key, "an array of strings");
    out->push_back(v.get<std::string>());
  }
  return Status::Ok();
}

Status GetU32(const Json& obj, const char* key, const std::string& name, const std::string& path,
              uint32_t* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_unsigned()) return Bad(name, path + "." + key, "an unsigned 32-bit integer");
  const uint64_t v = it->get<uint64_t>();
  if (v > UINT32_MAX) return Bad(name, path + "." + key, "an unsigned 32-bit integer");
  *out = static_cast<uint32_t>(v);
  return Status::Ok();
}

Result<SpecProcess> ProcessFrom(const Json& p, const std::string& name, const std::string& path) {
  if (!p.is_object()) return Bad(name, path, "an object");
  SpecProcess out;
  if (auto t = p.find("terminal"); t != p.end() && !t->is_null()) {
    if (!t->is_boolean()) return Bad(name, path + ".terminal", "true or false");
    out.terminal = t->get<bool>();
  }
  RETURN_IF_ERROR(GetStrings(p, "args", name, path, &out.args));
  RETURN_IF_ERROR(GetStrings(p, "env", name, path, &out.env));
  RETURN_IF_ERROR(GetString(p, "cwd", name, path, &out.cwd));
  if (out.cwd.empty()) out.cwd = "/";
  if (auto u = p.find("user"); u != p.end() && !u->is_null()) {
    if (!u->is_object()) return Bad(name, path + ".user", "an object");
    RETURN_IF_ERROR(GetU32(*u, "uid", name, path + ".user", &out.uid));
    RETURN_IF_ERROR(GetU32(*u, "gid", name, path + ".user", &out.gid));
    if (auto g = u->find("additionalGids"); g != u->end() && !g->is_null()) {
      if (!g->is_array()) return Bad(name, path + ".user.additionalGids", "an array of integers");
      for (const auto& v : *g) {
        if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX)
          return Bad(name, path + ".user.additionalGids", "an array of integers");
        out.additional_gids.push_back(static_cast<uint32_t>(v.get<uint64_t>()));
      }
    }
  }
  return out;
}

Status MountsFrom(const Json& doc, const std::string& name, std::vector<SpecMountEntry>* out) {
  auto it = doc.find("mounts");
  if (it == doc.end() || it->is_null()) return Status::Ok();
  if (!it->is_array()) return Bad(name, "mounts", "an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& m = (*it)[i];
    const std::string path = "mounts[" + std::to_string(i) + "]";
    if (!m.is_object()) return Bad(name, path, "an object");
    SpecMountEntry e;
    RETURN_IF_ERROR(GetString(m, "destination", name, path, &e.destination));
    RETURN_IF_ERROR(GetString(m, "type", name, path, &e.type));
    RETURN_IF_ERROR(GetString(m, "source", name, path, &e.source));
    RETURN_IF_ERROR(GetStrings(m, "options", name, path, &e.options));
    if (e.destination.empty() || e.destination[0] != '/')
      return Bad(name, path + ".destination", "an absolute path");
    out->push_back(std::move(e));
  }
  return Status::Ok();
}

}  // namespace

Result<OciSpec> ParseSpec(std::string_view json_text, const std::string& name) {
  Json doc = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgumentError("parse " + name + ": malformed JSON");
  if (!doc.is_object()) return InvalidArgumentError("parse " + name + ": must be a JSON object");
  OciSpec s;
  if (auto p = doc.find("process"); p != doc.end() && !p->is_null()) {
    ASSIGN_OR_RETURN(s.process, ProcessFrom(*p, name, "process"));
  }
  if (auto r = doc.find("root"); r != doc.end() && !r->is_null()) {
    if (!r->is_object()) return Bad(name, "root", "an object");
    RETURN_IF_ERROR(GetString(*r, "path", name, "root", &s.root_path));
    if (auto ro = r->find("readonly"); ro != r->end() && !ro->is_null()) {
      if (!ro->is_boolean()) return Bad(name, "root.readonly", "true or false");
      s.root_readonly = ro->get<bool>();
    }
  }
  RETURN_IF_ERROR(GetString(doc, "hostname", name, "", &s.hostname));
  RETURN_IF_ERROR(MountsFrom(doc, name, &s.mounts));
  if (auto a = doc.find("annotations"); a != doc.end() && !a->is_null()) {
    if (!a->is_object()) return Bad(name, "annotations", "an object of strings");
    for (const auto& [k, v] : a->items()) {
      if (!v.is_string()) return Bad(name, "annotations." + k, "a string");
      s.annotations[k] = v.get<std::string>();
    }
  }
  return s;
}

Result<OciSpec> ReadSpec(sys::Env* env, const std::string& bundle) {
  const std::string path = bundle + "/config.json";
  ASSIGN_OR_RETURN(sys::Fd fd, env->OpenAt(sys::Cwd(), path, O_RDONLY));
  ASSIGN_OR_RETURN(std::string text, env->ReadAll(fd, kMaxSpecBytes));
  return ParseSpec(text, path);
}

Result<SpecProcess> ParseProcessSpec(std::string_view json_text, const std::string& name) {
  Json doc = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgumentError("parse " + name + ": malformed JSON");
  return ProcessFrom(doc, name, "process");
}

std::string SandboxIdOf(const OciSpec& spec, const std::string& container_id) {
  if (StartsSandbox(spec, container_id)) return container_id;
  return spec.annotations.at(kCriSandboxId);
}

bool StartsSandbox(const OciSpec& spec, const std::string& container_id) {
  auto type = spec.annotations.find(kCriContainerType);
  auto sid = spec.annotations.find(kCriSandboxId);
  if (type == spec.annotations.end() || type->second != "container") return true;
  return sid == spec.annotations.end() || sid->second.empty() || sid->second == container_id;
}

bool IsHostBindMount(const SpecMountEntry& m) {
  if (m.type == "bind") return true;
  return std::ranges::any_of(m.options,
                             [](const std::string& o) { return o == "bind" || o == "rbind"; });
}

}  // namespace vmshare::shim
