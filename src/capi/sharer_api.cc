// vmshare_sharer_* and the FilesystemSharer operations through the C ABI
// (include/vmshare/vmshare.h): JSON in, capi::Sharer, JSON out.
#include <memory>
#include <utility>

#include "capi/config.h"
#include "capi/convert.h"
#include "capi/errors.h"
#include "capi/sharer.h"
#include "core/ids.h"
#include "vmshare/vmshare.h"

struct vmshare_sharer {
  std::unique_ptr<vmshare::capi::Sharer> sharer;
};

namespace vmshare::capi {
namespace {

// Hands `doc` to the caller through *out (when out is not null).
Status Return(const Json& doc, char** out, std::string_view op) {
  if (out == nullptr) return Status::Ok();
  char* text = DupString(Dump(doc));
  if (text == nullptr) return Status(Code::kIoError, std::string(op) + ": out of memory");
  *out = text;
  return Status::Ok();
}

// The container (and mount) of one call, parsed; errors name the call.
struct Args {
  Container container;
  Mount mount;
};

Result<Args> ParseArgs(std::string_view op, vmshare_sharer* s, const char* container_json,
                       const char* mount_json, bool want_mount) {
  if (s == nullptr) return NullArgument(op, "sharer");
  if (container_json == nullptr) return NullArgument(op, "container_json");
  if (want_mount && mount_json == nullptr) return NullArgument(op, "mount_json");
  Args a;
  auto c = ContainerFromText(container_json, "container_json");
  if (!c.ok()) return c.status().WithContext(op);
  a.container = std::move(c).value();
  if (want_mount) {
    auto m = MountFromText(mount_json, "mount_json");
    if (!m.ok()) return m.status().WithContext(op);
    a.mount = std::move(m).value();
  }
  return a;
}

}  // namespace
}  // namespace vmshare::capi

using namespace vmshare;
using namespace vmshare::capi;

extern "C" {

int vmshare_sharer_open(const char* config_json, vmshare_sharer** out, char** error) {
  if (out) *out = nullptr;
  return Guard("open sharer", error, [&]() -> Status {
    if (config_json == nullptr) return NullArgument("open sharer", "config_json");
    if (out == nullptr) return NullArgument("open sharer", "out");
    auto options = ParseSharerConfig(config_json);
    if (!options.ok()) return options.status().WithContext("open sharer");
    const std::string op = "open sharer of sandbox " + Quote(options->sandbox_id);
    auto sharer = Sharer::Open(std::move(options).value());
    if (!sharer.ok()) return sharer.status().WithContext(op);
    *out = new vmshare_sharer{std::move(sharer).value()};
    return Status::Ok();
  });
}

void vmshare_sharer_close(vmshare_sharer* s) {
  GuardVoid([&] { delete s; });
}

int vmshare_prepare(vmshare_sharer* s, char** error) {
  return Guard("prepare sandbox", error, [&]() -> Status {
    if (s == nullptr) return NullArgument("prepare sandbox", "sharer");
    return s->sharer->Prepare();
  });
}

int vmshare_cleanup(vmshare_sharer* s, char** error) {
  return Guard("clean up sandbox", error, [&]() -> Status {
    if (s == nullptr) return NullArgument("clean up sandbox", "sharer");
    return s->sharer->Cleanup();
  });
}

int vmshare_share_file(vmshare_sharer* s, const char* container_json, const char* mount_json,
                       char** result_json, char** error) {
  if (result_json) *result_json = nullptr;
  return Guard("share file", error, [&]() -> Status {
    ASSIGN_OR_RETURN(Args a,
                     ParseArgs("share file", s, container_json, mount_json, /*want_mount=*/true));
    ASSIGN_OR_RETURN(auto shared, s->sharer->ShareFile(std::move(a.container), a.mount));
    Json doc = Json::object();
    doc["mount"] = MountJson(a.mount);
    doc["shared_file"] = shared.has_value() ? SharedFileJson(*shared) : Json(nullptr);
    return Return(doc, result_json, "share file");
  });
}

int vmshare_unshare_file(vmshare_sharer* s, const char* container_json, const char* mount_json,
                         char** error) {
  return Guard("unshare file", error, [&]() -> Status {
    ASSIGN_OR_RETURN(Args a,
                     ParseArgs("unshare file", s, container_json, mount_json, /*want_mount=*/true));
    return s->sharer->UnshareFile(std::move(a.container), std::move(a.mount));
  });
}

int vmshare_share_rootfs(vmshare_sharer* s, const char* container_json, char** result_json,
                         char** error) {
  if (result_json) *result_json = nullptr;
  return Guard("share rootfs", error, [&]() -> Status {
    ASSIGN_OR_RETURN(Args a,
                     ParseArgs("share rootfs", s, container_json, nullptr, /*want_mount=*/false));
    ASSIGN_OR_RETURN(SharedFile shared, s->sharer->ShareRootfs(a.container));
    Json doc = Json::object();
    doc["rootfs"] = MountJson(a.container.state.rootfs);
    doc["shared_file"] = SharedFileJson(shared);
    return Return(doc, result_json, "share rootfs");
  });
}

int vmshare_unshare_rootfs(vmshare_sharer* s, const char* container_json, char** error) {
  return Guard("unshare rootfs", error, [&]() -> Status {
    ASSIGN_OR_RETURN(Args a,
                     ParseArgs("unshare rootfs", s, container_json, nullptr, /*want_mount=*/false));
    return s->sharer->UnshareRootfs(std::move(a.container));
  });
}

int vmshare_start_file_event_watcher(vmshare_sharer* s, char** error) {
  return Guard("start file event watcher", error, [&]() -> Status {
    if (s == nullptr) return NullArgument("start file event watcher", "sharer");
    return s->sharer->StartFileEventWatcher();
  });
}

void vmshare_stop_file_event_watcher(vmshare_sharer* s) {
  GuardVoid([&] {
    if (s) s->sharer->StopFileEventWatcher();
  });
}

}  // extern "C"
