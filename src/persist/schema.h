// The JSON mapping of persisted state: Kata's persist.json documents.
//
// Field names are exactly those Kata's Go runtime writes (Go's default
// encoding: the struct field name), in the order of Kata 3.x's structs
// (src/runtime/virtcontainers/persist/api/{container,sandbox}.go), so a
// directory written here is read by Kata and one written by Kata reads here.
// Two shapes of ContainerState are accepted on read:
//   - Kata 3.x: "Rootfs" is RootfsState {BlockDeviceID, FsType} and
//     "Process" is one object;
//   - Kata 2.x (the seed): "Rootfs" is a full Mount and "Process" an array.
// What we write satisfies both decoders where it can: Rootfs carries the Mount
// fields plus FsType, and Process is one object (Kata 3.x's shape; extra
// processes go under "Vmshare", which Go's decoder ignores).
//
// Unknown keys are accepted, and kept when a document is rewritten: the
// encoders start from the document being replaced (`base`) and overwrite
// only the keys they own. Elements of Mounts / DeviceMaps keep their unknown
// keys by position and identity: the old element at the same index when its
// Destination and Source (ContainerPath and ID) are the same, else the first
// unused old element with the same identity, else with the same Destination
// (ContainerPath). Two mounts at one destination keep their own keys.
//
// Two interfaces: the codec the store uses (Decode*/Encode*: text in, text
// out, RapidJSON inside, schema_decode.cc and schema_fast.cc), and a DOM one
// over nlohmann's ordered_json for callers that want a document to look at
// or print (the CLI, tests, fuzzers). The DOM one is the codec underneath
// (the document is serialized and re-read), so both accept, refuse and
// write the same.
//
// Go conventions kept: a nil slice is `null`, time.Time is RFC 3339 with the
// zero time "0001-01-01T00:00:00Z" (mapped to an empty start_time), and
// os.FileMode is a number.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/types.h"

namespace vmshare::persist {

using Json = nlohmann::ordered_json;

// The PersistVersion this code reads and writes (Kata's CurPersistVersion).
inline constexpr uint32_t kPersistVersion = 2;

// The key under which vmshare-only data lives in Kata's documents.
inline constexpr char kVmshareKey[] = "Vmshare";

// Go's zero time.Time as encoding/json writes it.
inline constexpr char kGoZeroTime[] = "0001-01-01T00:00:00Z";

// ---- the store's codec ------------------------------------------------------

// OK when `text` is one JSON object; else kCorruption:
// `parse "<path>": <parser message>` (UTF-8 is validated).
Status ValidateDocument(std::string_view text, const std::string& path);

// Decode the text of a document; errors as for the Json overloads below.
Result<ContainerState> DecodeContainer(std::string_view text, const std::string& path);
Result<SandboxState> DecodeSandbox(std::string_view text, const std::string& path);

// The bytes of `state` encoded on top of `base` (the text of the document
// being replaced; null for a new one): compact, newline-terminated, valid
// UTF-8. A base that does not parse gives kCorruption (a save never
// replaces what it cannot read).
Result<std::string> EncodeContainer(const ContainerState& state, const std::string* base,
                                    const std::string& path);
Result<std::string> EncodeSandbox(const SandboxState& state, const std::string* base,
                                  const std::string& path);
// One Mount object (an element of Mounts, or Rootfs), with Mounts' field names.
Result<Mount> DecodeMount(std::string_view text, const std::string& path);
std::string EncodeMount(const Mount& mount);

// ---- the DOM interface --------------------------------------------------------

// Parses `text` (the content of the file at `path`). Anything that is not one
// JSON object gives kCorruption: `parse "<path>": <parser message>`.
Result<Json> ParseDocument(std::string_view text, const std::string& path);

// Decodes a container document. A known key with the wrong type gives
// kCorruption naming `path` and the key (e.g. `Mounts[1].ReadOnly`).
Result<ContainerState> ContainerFromJson(const Json& doc, const std::string& path);

// Encodes `state`; `base` (may be null) is the document being replaced, whose
// unknown keys are kept.
Json ContainerToJson(const ContainerState& state, const Json* base);

// Decodes one Mount object (an element of Mounts, or Rootfs); errors as
// ContainerFromJson's, naming the key (e.g. `ReadOnly`).
Result<Mount> MountFromJson(const Json& doc, const std::string& path);

// Encodes one Mount with the field names of Mounts' elements.
Json MountToJson(const Mount& mount);

// Decodes a sandbox document. A PersistVersion other than kPersistVersion
// (including a missing one) gives kUnimplemented naming `path` and the version.
Result<SandboxState> SandboxFromJson(const Json& doc, const std::string& path);

// Encodes `state` (PersistVersion is always kPersistVersion); `base` as above.
Json SandboxToJson(const SandboxState& state, const Json* base);

// The bytes of a document on disk: compact, newline-terminated (as Go's
// json.Encoder writes them).
std::string Serialize(const Json& doc);

}  // namespace vmshare::persist
