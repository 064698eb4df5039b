#include "oci/config.h"

#include <algorithm>

#include "oci/fields.h"

namespace vmshare::oci {
namespace {

using internal::json;
using internal::Reader;

Result<json> ParseJson(std::string_view text, const std::string& name) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return InvalidArgumentError("read OCI config \"" + name + "\": " + e.what());
  }
  if (!doc.is_object())
    return InvalidArgumentError("read OCI config \"" + name + "\": top level must be an object");
  return doc;
}

void ReadProcess(Reader& r, const json& proc, Config* c) {
  c->process.args = r.Strings(proc, "args", ".process");
  c->process.env = r.Strings(proc, "env", ".process");
  const std::string cwd = r.String(proc, "cwd", ".process");
  if (!cwd.empty()) c->process.cwd = cwd;
  c->process.terminal = r.Bool(proc, "terminal", ".process");
  if (const json* user = r.Child(proc, "user", ".process", json::value_t::object)) {
    c->process.uid = r.Uint32(*user, "uid", ".process.user");
    c->process.gid = r.Uint32(*user, "gid", ".process.user");
  }
  internal::ReadProcessFields(r, proc, c);
}

void ReadMounts(Reader& r, const json& doc, Policy policy, Config* c) {
  const json* mounts = r.Child(doc, "mounts", "", json::value_t::array);
  if (!mounts) return;
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
    if (!r.failed() && IsHostBind(mount)) internal::CheckBindOptions(r, m, mount, at, policy, c);
    c->mounts.push_back(std::move(mount));
  }
}

void ReadAnnotations(Reader& r, const json& doc, Config* c) {
  const json* a = r.Child(doc, "annotations", "", json::value_t::object);
  if (!a) return;
  for (const auto& [k, v] : a->items()) {
    if (!v.is_string()) {
      r.Fail(".annotations." + k + " must be a string");
      return;
    }
    c->annotations[k] = v.get<std::string>();
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

Result<Config> ParseConfig(std::string_view text, const std::string& name, Policy policy) {
  ASSIGN_OR_RETURN(json doc, ParseJson(text, name));
  Reader r(name);
  Config c;
  const json* root = r.Child(doc, "root", "", json::value_t::object);
  if (!root && !r.failed() && policy == Policy::kRun) r.Fail(".root is missing");
  if (root) {
    c.root_path = r.String(*root, "path", ".root");
    if (!r.failed() && c.root_path.empty() && policy == Policy::kRun)
      r.Fail(".root.path is missing or empty");
    c.root_readonly = r.Bool(*root, "readonly", ".root");
  }
  if (const json* proc = r.Child(doc, "process", "", json::value_t::object))
    ReadProcess(r, *proc, &c);
  c.spec.hostname = r.String(doc, "hostname", "");
  internal::ReadLinuxFields(r, doc, policy, &c);
  internal::CheckUnapplied(r, doc, policy, /*process_only=*/false, &c);
  ReadMounts(r, doc, policy, &c);
  ReadAnnotations(r, doc, &c);
  if (r.failed()) return r.status();
  return c;
}

Result<Config> ParseProcess(std::string_view text, const std::string& name, Policy policy) {
  ASSIGN_OR_RETURN(json proc, ParseJson(text, name));
  Reader r(name);
  Config c;
  ReadProcess(r, proc, &c);
  json doc = json::object();
  doc["process"] = std::move(proc);
  internal::CheckUnapplied(r, doc, policy, /*process_only=*/true, &c);
  if (r.failed()) return r.status();
  return c;
}

}  // namespace vmshare::oci
