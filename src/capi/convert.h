// The C ABI's JSON documents and the core types they carry.
//
// Containers, mounts and sandboxes use persist.json's field names: the
// conversion is persist/schema.h's, reached through text (ParseDocument /
// Serialize), so the ABI's documents are exactly what the store writes.
// Storages and SharedFiles use the agent's field names. The ABI's own
// documents (configs, results) are built here with nlohmann::ordered_json.
//
// Every error is kInvalidArgument naming the document ("container_json") and,
// where there is one, the field; nothing here touches a file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/types.h"

namespace vmshare::capi {

using Json = nlohmann::ordered_json;

// Parses `text` (the argument named `what`) as one JSON object.
Result<Json> ParseObject(std::string_view text, std::string_view what);

// A container document plus "ID" (required, a valid container id).
Result<Container> ContainerFromText(std::string_view text, std::string_view what);
// One Mount in persist.json's field names.
Result<Mount> MountFromText(std::string_view text, std::string_view what);
// A sandbox document; a missing PersistVersion means the current one.
// *has_vmshare tells whether it carries vmshare's own key ("Vmshare").
Result<SandboxState> SandboxFromText(std::string_view text, std::string_view what,
                                     bool* has_vmshare);

Json MountJson(const Mount& m);
// The container's document plus "ID" (as ContainerFromText reads it).
Json ContainerJson(const std::string& id, const ContainerState& state);
Json SandboxJson(const SandboxState& state);
Json StorageJson(const Storage& s);
Json SharedFileJson(const SharedFile& f);

// Compact text of `doc`, as returned to the caller.
std::string Dump(const Json& doc);

// Typed reads of an ABI document's optional keys: absent or null leaves *out
// alone; another type is kInvalidArgument "<what>: field <key>: expected ...".
Status ReadString(const Json& doc, const char* key, std::string_view what, std::string* out);
Status ReadBool(const Json& doc, const char* key, std::string_view what, bool* out);
Status ReadStrings(const Json& doc, const char* key, std::string_view what,
                   std::vector<std::string>* out);
// kInvalidArgument naming the first key of `doc` that is not in `known`.
Status CheckKeys(const Json& doc, std::initializer_list<std::string_view> known,
                 std::string_view what);

}  // namespace vmshare::capi
