#include "capi/convert.h"

#include "core/ids.h"
#include "persist/schema.h"

namespace vmshare::capi {
namespace {

// persist reports a document it cannot decode as kCorruption (it reads
// files); here the document is the caller's input.
Status AsInput(const Status& s) {
  if (s.ok() || s.code() != Code::kCorruption) return s;
  return InvalidArgumentError(s.message());
}

Status FieldError(std::string_view what, const char* key, std::string_view expected) {
  return InvalidArgumentError("parse \"" + std::string(what) + "\": field " + key + ": expected " +
                              std::string(expected));
}

const Json* Find(const Json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return nullptr;
  return &*it;
}

// Our own document re-read in the ABI's JSON type (it always parses).
Json Reparse(const std::string& text) {
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

Result<Json> ParseObject(std::string_view text, std::string_view what) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    // persist's parser says where the text went wrong.
    auto parsed = persist::ParseDocument(text, std::string(what));
    if (!parsed.ok()) return AsInput(parsed.status());
    return InvalidArgumentError("parse \"" + std::string(what) + "\": expected a JSON object");
  }
  return doc;
}

Result<Container> ContainerFromText(std::string_view text, std::string_view what) {
  ASSIGN_OR_RETURN(Json doc, ParseObject(text, what));
  Container c;
  const Json* id = Find(doc, "ID");
  if (id == nullptr)
    return InvalidArgumentError("parse \"" + std::string(what) + "\": field ID is required");
  if (!id->is_string()) return FieldError(what, "ID", "a string");
  c.id = id->get<std::string>();
  RETURN_IF_ERROR(ValidateId("container", c.id));
  ASSIGN_OR_RETURN(auto pdoc, persist::ParseDocument(text, std::string(what)));
  auto state = persist::ContainerFromJson(pdoc, std::string(what));
  if (!state.ok()) return AsInput(state.status());
  c.state = std::move(state).value();
  return c;
}

Result<Mount> MountFromText(std::string_view text, std::string_view what) {
  RETURN_IF_ERROR(ParseObject(text, what));
  ASSIGN_OR_RETURN(auto pdoc, persist::ParseDocument(text, std::string(what)));
  auto m = persist::MountFromJson(pdoc, std::string(what));
  if (!m.ok()) return AsInput(m.status());
  return std::move(m).value();
}

Result<SandboxState> SandboxFromText(std::string_view text, std::string_view what,
                                     bool* has_vmshare) {
  ASSIGN_OR_RETURN(Json doc, ParseObject(text, what));
  *has_vmshare = Find(doc, persist::kVmshareKey) != nullptr;
  if (Find(doc, "PersistVersion") == nullptr) doc["PersistVersion"] = persist::kPersistVersion;
  ASSIGN_OR_RETURN(auto pdoc, persist::ParseDocument(Dump(doc), std::string(what)));
  auto state = persist::SandboxFromJson(pdoc, std::string(what));
  if (!state.ok()) {
    // An unknown PersistVersion is the caller's input too.
    if (state.status().code() == Code::kUnimplemented)
      return InvalidArgumentError(state.status().message());
    return AsInput(state.status());
  }
  return std::move(state).value();
}

Json MountJson(const Mount& m) { return Reparse(persist::Serialize(persist::MountToJson(m))); }

Json ContainerJson(const std::string& id, const ContainerState& state) {
  Json doc = Json::object();
  doc["ID"] = id;
  const Json fields = Reparse(persist::Serialize(persist::ContainerToJson(state, nullptr)));
  for (auto it = fields.begin(); it != fields.end(); ++it) doc[it.key()] = it.value();
  return doc;
}

Json SandboxJson(const SandboxState& state) {
  return Reparse(persist::Serialize(persist::SandboxToJson(state, nullptr)));
}

Json StorageJson(const Storage& s) {
  Json j = Json::object();
  j["driver"] = s.driver;
  j["driver_options"] = s.driver_options;
  j["source"] = s.source;
  j["fstype"] = s.fstype;
  j["options"] = s.options;
  j["mount_point"] = s.mount_point;
  if (s.fs_group) {
    j["fs_group"] = {{"group_id", s.fs_group->group_id},
                     {"group_change_policy", static_cast<int>(s.fs_group->policy)}};
  } else {
    j["fs_group"] = nullptr;
  }
  return j;
}

Json SharedFileJson(const SharedFile& f) {
  Json container = Json::array();
  for (const auto& s : f.container_storages) container.push_back(StorageJson(s));
  Json volume = Json::array();
  for (const auto& s : f.volume_storages) volume.push_back(StorageJson(s));
  Json j = Json::object();
  j["guest_path"] = f.guest_path;
  j["container_storages"] = std::move(container);
  j["volume_storages"] = std::move(volume);
  return j;
}

std::string Dump(const Json& doc) {
  return doc.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

Status ReadString(const Json& doc, const char* key, std::string_view what, std::string* out) {
  const Json* v = Find(doc, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_string()) return FieldError(what, key, "a string");
  *out = v->get<std::string>();
  return Status::Ok();
}

Status ReadBool(const Json& doc, const char* key, std::string_view what, bool* out) {
  const Json* v = Find(doc, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_boolean()) return FieldError(what, key, "a boolean");
  *out = v->get<bool>();
  return Status::Ok();
}

Status ReadStrings(const Json& doc, const char* key, std::string_view what,
                   std::vector<std::string>* out) {
  const Json* v = Find(doc, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_array()) return FieldError(what, key, "an array of strings");
  std::vector<std::string> got;
  for (const auto& e : *v) {
    if (!e.is_string()) return FieldError(what, key, "an array of strings");
    got.push_back(e.get<std::string>());
  }
  *out = std::move(got);
  return Status::Ok();
}

Status CheckKeys(const Json& doc, std::initializer_list<std::string_view> known,
                 std::string_view what) {
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    bool found = false;
    for (std::string_view k : known) found = found || it.key() == k;
    if (!found)
      return InvalidArgumentError("parse \"" + std::string(what) + "\": unknown key " +
                                  Quote(it.key()));
  }
  return Status::Ok();
}

}  // namespace vmshare::capi
