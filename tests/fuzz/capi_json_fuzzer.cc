// Fuzzes the JSON entry points of the C ABI (include/vmshare/vmshare.h),
// through libvmshare.so itself: the input is handed, as the document, to
// every function that takes one (sharer and store configs, container_json,
// mount_json, sandbox_json).
//
// Properties checked, beyond "no crash, no sanitizer report":
//   - no exception crosses the boundary (one would reach std::terminate);
//   - every call returns 0 or a documented code (-EINVAL, -ENOENT, -EBUSY,
//     -EROFS, -EPERM, -EACCES, -EIO), and a failure has a message without a
//     program-name prefix, while a success has none;
//   - out-parameters are NULL after a failure;
//   - a store call refused with -EINVAL changes nothing on disk;
//   - a container that saves loads back, as JSON that parses, under its ID.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_util.h"
#include "vmshare/vmshare.h"

namespace vmshare::fuzz {
namespace {

bool Documented(int rc) {
  switch (rc) {
    case 0:
    case -EINVAL:
    case -ENOENT:
    case -EBUSY:
    case -EROFS:
    case -EPERM:
    case -EACCES:
    case -EIO:
      return true;
    default:
      return false;
  }
}

// Checks rc and the message, then frees the message. Takes the message's
// address so that it is read after the call (argument order is unspecified).
void CheckCall(const char* what, int rc, char** message) {
  char* error = *message;
  *message = nullptr;
  FUZZ_CHECK(Documented(rc), std::string(what) + " returned " + std::to_string(rc));
  if (rc == 0) {
    FUZZ_CHECK(error == nullptr, std::string(what) + " succeeded with a message");
  } else {
    FUZZ_CHECK(error != nullptr && *error != '\0', std::string(what) + " failed without a message");
    FUZZ_CHECK(std::string(error).rfind("vmshare:", 0) != 0,
               std::string(what) + ": prefixed message: " + error);
  }
  vmshare_free(error);
}

struct Env {
  ScratchDir dir{"capi"};
  std::string root = dir.path() + "/root";
  vmshare_sharer* sharer = nullptr;  // not prepared, records nothing: no mount is ever made
  vmshare_store* store = nullptr;

  Env() {
    char* error = nullptr;
    const std::string sc =
        "{\"sandbox_id\": \"s1\", \"root\": \"" + root + "\", \"persist\": false}";
    CheckCall("open sharer", vmshare_sharer_open(sc.c_str(), &sharer, &error), &error);
    const std::string stc = "{\"root\": \"" + root + "\"}";
    CheckCall("open store", vmshare_store_open(stc.c_str(), &store, &error), &error);
    FUZZ_CHECK(sharer && store, "fixture handles");
    CheckCall("save sandbox", vmshare_store_save_sandbox(store, "s1", "{}", &error), &error);
  }
  ~Env() {
    vmshare_sharer_close(sharer);
    vmshare_store_close(store);
  }
};

Env& Fixture() {
  static Env env;  // destroyed at exit, with its scratch directory
  return env;
}

void FuzzOpen(const std::string& text) {
  char* error = nullptr;
  // Opening touches no file, whatever the config says; nothing else is called.
  vmshare_sharer* s = reinterpret_cast<vmshare_sharer*>(&error);
  int rc = vmshare_sharer_open(text.c_str(), &s, &error);
  FUZZ_CHECK(rc == 0 || s == nullptr, "sharer_open failed but set *out");
  CheckCall("sharer_open", rc, &error);
  vmshare_sharer_close(s);
  vmshare_store* st = reinterpret_cast<vmshare_store*>(&error);
  rc = vmshare_store_open(text.c_str(), &st, &error);
  FUZZ_CHECK(rc == 0 || st == nullptr, "store_open failed but set *out");
  CheckCall("store_open", rc, &error);
  vmshare_store_close(st);
}

void FuzzSharer(Env& env, const std::string& text) {
  char* error = nullptr;
  char* result = reinterpret_cast<char*>(&error);
  int rc = vmshare_share_file(env.sharer, text.c_str(), text.c_str(), &result, &error);
  FUZZ_CHECK(rc != 0 ? result == nullptr : result != nullptr, "share_file result_json");
  vmshare_free(result);
  CheckCall("share_file(x, x)", rc, &error);
  CheckCall("share_file(c, x)",
            vmshare_share_file(env.sharer, "{\"ID\": \"c1\"}", text.c_str(), nullptr, &error),
            &error);
  CheckCall("unshare_file", vmshare_unshare_file(env.sharer, text.c_str(), text.c_str(), &error),
            &error);
  result = reinterpret_cast<char*>(&error);
  rc = vmshare_share_rootfs(env.sharer, text.c_str(), &result, &error);
  FUZZ_CHECK(rc != 0 ? result == nullptr : result != nullptr, "share_rootfs result_json");
  vmshare_free(result);
  CheckCall("share_rootfs", rc, &error);
  CheckCall("unshare_rootfs", vmshare_unshare_rootfs(env.sharer, text.c_str(), &error), &error);
}

void FuzzStore(Env& env, const std::string& text) {
  char* error = nullptr;
  const Snapshot before = TakeSnapshot(env.root);
  int rc = vmshare_store_save_sandbox(env.store, "s1", text.c_str(), &error);
  CheckCall("save_sandbox", rc, &error);
  if (rc == -EINVAL)
    FUZZ_CHECK(TakeSnapshot(env.root) == before, "refused save_sandbox changed the store");
  const Snapshot middle = TakeSnapshot(env.root);
  rc = vmshare_store_save_container(env.store, "s1", text.c_str(), &error);
  CheckCall("save_container", rc, &error);
  if (rc == -EINVAL)
    FUZZ_CHECK(TakeSnapshot(env.root) == middle, "refused save_container changed the store");

  char* out = reinterpret_cast<char*>(&error);
  const int lrc = vmshare_store_load_sandbox(env.store, "s1", &out, &error);
  FUZZ_CHECK(lrc != 0 ? out == nullptr : out != nullptr, "load_sandbox sandbox_json");
  CheckCall("load_sandbox", lrc, &error);
  if (lrc == 0) {
    auto doc = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(doc.is_object() && doc.contains("sandbox") && doc.contains("containers"),
               std::string("load_sandbox gave ") + out);
    if (rc == 0) {
      auto id = nlohmann::json::parse(text, nullptr, false).value("ID", std::string());
      FUZZ_CHECK(doc["containers"].contains(id), "saved container " + id + " does not load");
      CheckCall("remove_container",
                vmshare_store_remove_container(env.store, "s1", id.c_str(), &error), &error);
    }
  }
  vmshare_free(out);
  // Back to the fixture's sandbox document for the next input.
  CheckCall("save sandbox", vmshare_store_save_sandbox(env.store, "s1", "{}", &error), &error);
}

}  // namespace
}  // namespace vmshare::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vmshare::fuzz;
  // The ABI takes NUL-terminated strings: the input up to its first NUL.
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string doc = text.substr(0, text.find('\0'));
  FuzzOpen(doc);
  Env& env = Fixture();
  FuzzSharer(env, doc);
  FuzzStore(env, doc);
  return 0;
}
