// vmshare_store_*: the persist store through the C ABI (include/vmshare/vmshare.h).
#include <utility>

#include "capi/config.h"
#include "capi/convert.h"
#include "capi/errors.h"
#include "capi/layout.h"
#include "core/ids.h"
#include "persist/store.h"
#include "vmshare/vmshare.h"

struct vmshare_store {
  vmshare::persist::StateStore store;
};

struct vmshare_lock {
  vmshare::persist::SandboxLock lock;
};

namespace vmshare::capi {
namespace {

std::string SandboxWhat(const char* sid) { return "sandbox " + Quote(sid); }

// The arguments every store call needs, checked: the op names the sandbox.
Status CheckStore(std::string_view op, vmshare_store* st, const char* sid) {
  if (st == nullptr) return NullArgument(op, "store");
  if (sid == nullptr) return NullArgument(op, "sandbox_id");
  return ValidateId("sandbox", sid).WithContext(op);
}

}  // namespace
}  // namespace vmshare::capi

using namespace vmshare;
using namespace vmshare::capi;

extern "C" {

int vmshare_store_open(const char* config_json, vmshare_store** out, char** error) {
  if (out) *out = nullptr;
  return Guard("open store", error, [&]() -> Status {
    if (config_json == nullptr) return NullArgument("open store", "config_json");
    if (out == nullptr) return NullArgument("open store", "out");
    auto options = ParseStoreConfig(config_json);
    if (!options.ok()) return options.status().WithContext("open store");
    *out = new vmshare_store{persist::StateStore(sys::Env::Default(), StateRootOf(options->root))};
    return Status::Ok();
  });
}

void vmshare_store_close(vmshare_store* st) {
  GuardVoid([&] { delete st; });
}

int vmshare_store_save_sandbox(vmshare_store* st, const char* sandbox_id, const char* sandbox_json,
                               char** error) {
  return Guard("save sandbox", error, [&]() -> Status {
    RETURN_IF_ERROR(CheckStore("save sandbox", st, sandbox_id));
    const std::string op = "save " + SandboxWhat(sandbox_id);
    if (sandbox_json == nullptr) return NullArgument(op, "sandbox_json");
    bool has_vmshare = false;
    auto state = SandboxFromText(sandbox_json, "sandbox_json", &has_vmshare);
    if (!state.ok()) return state.status().WithContext(op);
    if (!has_vmshare) {
      // A runtime's own document (Kata's SandboxState) does not know
      // vmshare's settings; the recorded ones stay.
      auto existing = st->store.LoadSandbox(sandbox_id);
      if (existing.ok()) {
        state->shared_fs = existing->sandbox.shared_fs;
        state->bind_mounts = existing->sandbox.bind_mounts;
        state->share_base = existing->sandbox.share_base;
        state->rootfs_name = existing->sandbox.rootfs_name;
        state->processes = existing->sandbox.processes;
      } else if (existing.status().code() != Code::kNotFound) {
        return existing.status().WithContext(op);
      }
    }
    return st->store.SaveSandbox(sandbox_id, *state).WithContext(op);
  });
}

int vmshare_store_save_container(vmshare_store* st, const char* sandbox_id,
                                 const char* container_json, char** error) {
  return Guard("save container", error, [&]() -> Status {
    RETURN_IF_ERROR(CheckStore("save container", st, sandbox_id));
    const std::string op = "save container of " + SandboxWhat(sandbox_id);
    if (container_json == nullptr) return NullArgument(op, "container_json");
    auto c = ContainerFromText(container_json, "container_json");
    if (!c.ok()) return c.status().WithContext(op);
    return st->store.SaveContainer(sandbox_id, c->id, c->state)
        .WithContext("save container " + Quote(c->id) + " of " + SandboxWhat(sandbox_id));
  });
}

int vmshare_store_load_sandbox(vmshare_store* st, const char* sandbox_id, char** sandbox_json,
                               char** error) {
  if (sandbox_json) *sandbox_json = nullptr;
  return Guard("load sandbox", error, [&]() -> Status {
    RETURN_IF_ERROR(CheckStore("load sandbox", st, sandbox_id));
    const std::string op = "load " + SandboxWhat(sandbox_id);
    if (sandbox_json == nullptr) return NullArgument(op, "sandbox_json");
    auto rec = st->store.LoadSandbox(sandbox_id);
    if (!rec.ok()) return rec.status().WithContext(op);
    Json containers = Json::object();
    for (const auto& [cid, state] : rec->containers) containers[cid] = ContainerJson(cid, state);
    Json doc = Json::object();
    doc["sandbox"] = SandboxJson(rec->sandbox);
    doc["containers"] = std::move(containers);
    char* text = DupString(Dump(doc));
    if (text == nullptr) return Status(Code::kIoError, op + ": out of memory");
    *sandbox_json = text;
    return Status::Ok();
  });
}

int vmshare_store_remove_container(vmshare_store* st, const char* sandbox_id,
                                   const char* container_id, char** error) {
  return Guard("remove container", error, [&]() -> Status {
    RETURN_IF_ERROR(CheckStore("remove container", st, sandbox_id));
    if (container_id == nullptr)
      return NullArgument("remove container of " + SandboxWhat(sandbox_id), "container_id");
    const std::string op =
        "remove container " + Quote(container_id) + " of " + SandboxWhat(sandbox_id);
    RETURN_IF_ERROR(ValidateId("container", container_id).WithContext(op));
    return st->store.RemoveContainer(sandbox_id, container_id).WithContext(op);
  });
}

int vmshare_store_destroy_sandbox(vmshare_store* st, const char* sandbox_id, char** error) {
  return Guard("destroy sandbox", error, [&]() -> Status {
    RETURN_IF_ERROR(CheckStore("destroy sandbox", st, sandbox_id));
    return st->store.DestroySandbox(sandbox_id).WithContext("destroy " + SandboxWhat(sandbox_id));
  });
}

int vmshare_store_lock(vmshare_store* st, const char* sandbox_id, int flags, vmshare_lock** out,
                       char** error) {
  if (out) *out = nullptr;
  return Guard("lock sandbox", error, [&]() -> Status {
    RETURN_IF_ERROR(CheckStore("lock sandbox", st, sandbox_id));
    const std::string op = "lock " + SandboxWhat(sandbox_id);
    if (out == nullptr) return NullArgument(op, "out");
    if ((flags & ~(VMSHARE_LOCK_EXCLUSIVE | VMSHARE_LOCK_NONBLOCK)) != 0)
      return InvalidArgumentError(op + ": unknown flags " + std::to_string(flags));
    const auto mode = (flags & VMSHARE_LOCK_EXCLUSIVE) ? persist::LockMode::kExclusive
                                                       : persist::LockMode::kShared;
    auto lock =
        st->store.Lock(sandbox_id, mode, /*nonblocking=*/(flags & VMSHARE_LOCK_NONBLOCK) != 0);
    if (!lock.ok()) return lock.status();  // names the sandbox already
    *out = new vmshare_lock{std::move(lock).value()};
    return Status::Ok();
  });
}

void vmshare_store_unlock(vmshare_lock* lock) {
  GuardVoid([&] { delete lock; });
}

}  // extern "C"
