// Fuzzes the persist.json decoders (persist/schema.h): the input is the text
// of one persist.json, decoded both as a container and as a sandbox.
//
// Properties checked, beyond "no crash, no sanitizer report":
//   - every error names the file (`"<path>"` appears in the message) and has
//     the documented code (kCorruption; kUnimplemented for a PersistVersion);
//   - a document that decodes re-encodes (on top of itself, as a save does,
//     and from scratch) to bytes that parse and decode to an equal state;
//   - re-encoding is a fixpoint: encoding the re-decoded state on top of the
//     re-encoded document gives the same bytes again;
//   - the keys the encoder does not own are kept, value for value.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "persist/schema.h"

namespace vmshare::fuzz {
namespace {

using persist::Json;

const std::string kPath = "/run/vmshare/state/s1/c1/persist.json";

void CheckError(const Status& s, const std::string& what) {
  FUZZ_CHECK(Contains(s.message(), "\"" + kPath + "\""),
             what + " error does not name the file: " + s.ToString());
}

// Top-level keys that ContainerToJson / SandboxToJson write; the rest must
// come through a rewrite untouched.
const std::set<std::string> kContainerKeys = {"State",   "CgroupPath", "BundlePath", "Rootfs",
                                              "Process", "Vmshare",    "DeviceMaps", "Mounts"};
const std::set<std::string> kSandboxKeys = {"State", "SandboxContainer", "PersistVersion",
                                            "Vmshare"};

void CheckUnknownKeysKept(const Json& before, const Json& after,
                          const std::set<std::string>& owned) {
  for (auto it = before.begin(); it != before.end(); ++it) {
    if (owned.count(it.key())) continue;
    auto found = after.find(it.key());
    FUZZ_CHECK(found != after.end() && *found == it.value(),
               "unknown key \"" + it.key() + "\" was not kept");
  }
}

// Parses `bytes` that we wrote ourselves: must always succeed.
Json Reparse(const std::string& bytes) {
  auto doc = persist::ParseDocument(bytes, kPath);
  FUZZ_CHECK(doc.ok(), "our own output does not parse: " + doc.status().ToString() + "\n" + bytes);
  return *std::move(doc);
}

void FuzzContainer(const Json& doc) {
  auto state = persist::ContainerFromJson(doc, kPath);
  if (!state.ok()) {
    FUZZ_CHECK(state.status().code() == Code::kCorruption, state.status().ToString());
    CheckError(state.status(), "ContainerFromJson");
    return;
  }
  // Saved on top of the document it was read from (what a save does).
  const Json encoded = persist::ContainerToJson(*state, &doc);
  CheckUnknownKeysKept(doc, encoded, kContainerKeys);
  const std::string bytes = persist::Serialize(encoded);
  const Json doc2 = Reparse(bytes);
  auto state2 = persist::ContainerFromJson(doc2, kPath);
  FUZZ_CHECK(state2.ok(),
             "re-encoded container does not decode: " + state2.status().ToString() + "\n" + bytes);
  FUZZ_CHECK(*state2 == *state, "re-encoded container decodes to a different state:\n" + bytes);
  const std::string bytes2 = persist::Serialize(persist::ContainerToJson(*state2, &doc2));
  FUZZ_CHECK(bytes2 == bytes, "re-encoding is not a fixpoint:\n" + bytes + bytes2);

  // Saved from scratch (a new file).
  const std::string fresh = persist::Serialize(persist::ContainerToJson(*state, nullptr));
  auto state3 = persist::ContainerFromJson(Reparse(fresh), kPath);
  FUZZ_CHECK(state3.ok() && *state3 == *state,
             "fresh container encoding does not round-trip:\n" + fresh);
}

void FuzzSandbox(const Json& doc) {
  auto state = persist::SandboxFromJson(doc, kPath);
  if (!state.ok()) {
    const Code c = state.status().code();
    FUZZ_CHECK(c == Code::kCorruption || c == Code::kUnimplemented, state.status().ToString());
    CheckError(state.status(), "SandboxFromJson");
    return;
  }
  FUZZ_CHECK(state->persist_version == persist::kPersistVersion, "accepted another PersistVersion");
  const Json encoded = persist::SandboxToJson(*state, &doc);
  CheckUnknownKeysKept(doc, encoded, kSandboxKeys);
  const std::string bytes = persist::Serialize(encoded);
  const Json doc2 = Reparse(bytes);
  auto state2 = persist::SandboxFromJson(doc2, kPath);
  FUZZ_CHECK(state2.ok(),
             "re-encoded sandbox does not decode: " + state2.status().ToString() + "\n" + bytes);
  FUZZ_CHECK(*state2 == *state, "re-encoded sandbox decodes to a different state:\n" + bytes);
  const std::string bytes2 = persist::Serialize(persist::SandboxToJson(*state2, &doc2));
  FUZZ_CHECK(bytes2 == bytes, "re-encoding is not a fixpoint:\n" + bytes + bytes2);

  const std::string fresh = persist::Serialize(persist::SandboxToJson(*state, nullptr));
  auto state3 = persist::SandboxFromJson(Reparse(fresh), kPath);
  FUZZ_CHECK(state3.ok() && *state3 == *state,
             "fresh sandbox encoding does not round-trip:\n" + fresh);
}

}  // namespace
}  // namespace vmshare::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmshare;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = persist::ParseDocument(text, fuzz::kPath);
  if (!doc.ok()) {
    FUZZ_CHECK(doc.status().code() == Code::kCorruption, doc.status().ToString());
    fuzz::CheckError(doc.status(), "ParseDocument");
    return 0;
  }
  FUZZ_CHECK(doc->is_object(), "ParseDocument returned a non-object");
  fuzz::FuzzContainer(*doc);
  fuzz::FuzzSandbox(*doc);
  return 0;
}
