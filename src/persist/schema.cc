// The DOM interface of schema.h: nlohmann documents, encoded and decoded by
// the store's codec (schema_fast.cc, schema_decode.cc) through their text.
#include "persist/schema.h"

#include <utility>

namespace vmshare::persist {
namespace {

std::string Text(const Json& doc) {
  return doc.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

// Text the codec wrote itself: always one valid object.
Json FromOwnText(const std::string& text) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return doc.is_object() ? doc : Json::object();
}

}  // namespace

Result<Json> ParseDocument(std::string_view text, const std::string& path) {
  RETURN_IF_ERROR(ValidateDocument(text, path));
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return CorruptionError("parse \"" + path +
                           "\": parse error: not a document this reader accepts");
  return doc;
}

Result<ContainerState> ContainerFromJson(const Json& doc, const std::string& path) {
  return DecodeContainer(Text(doc), path);
}

Json ContainerToJson(const ContainerState& state, const Json* base) {
  const std::string base_text = base && base->is_object() ? Text(*base) : std::string();
  auto text = EncodeContainer(state, base_text.empty() ? nullptr : &base_text, "document");
  return text.ok() ? FromOwnText(*text) : Json::object();
}

Result<Mount> MountFromJson(const Json& doc, const std::string& path) {
  return DecodeMount(Text(doc), path);
}

Json MountToJson(const Mount& mount) { return FromOwnText(EncodeMount(mount)); }

Result<SandboxState> SandboxFromJson(const Json& doc, const std::string& path) {
  return DecodeSandbox(Text(doc), path);
}

Json SandboxToJson(const SandboxState& state, const Json* base) {
  const std::string base_text = base && base->is_object() ? Text(*base) : std::string();
  auto text = EncodeSandbox(state, base_text.empty() ? nullptr : &base_text, "document");
  return text.ok() ? FromOwnText(*text) : Json::object();
}

std::string Serialize(const Json& doc) { return Text(doc) + "\n"; }

}  // namespace vmshare::persist
