#include "capi/config.h"

#include "capi/convert.h"
#include "core/ids.h"

namespace vmshare::capi {
namespace {

constexpr char kSharerConfig[] = "config_json";

Status RequireAbsolute(std::string_view key, const std::string& path) {
  if (!path.empty() && path.front() == '/') return Status::Ok();
  return InvalidArgumentError("parse \"" + std::string(kSharerConfig) + "\": field " +
                              std::string(key) + ": expected an absolute path, got " + Quote(path));
}

}  // namespace

Result<SharerOptions> ParseSharerConfig(std::string_view text) {
  constexpr std::string_view what = kSharerConfig;
  ASSIGN_OR_RETURN(Json doc, ParseObject(text, what));
  RETURN_IF_ERROR(
      CheckKeys(doc,
                {"sandbox_id", "root", "shared_fs", "sandbox_bind_mounts", "guest_shared_dir",
                 "kubelet_root", "share_base", "rootfs_name", "agent_socket", "persist"},
                what));
  SharerOptions o;
  RETURN_IF_ERROR(ReadString(doc, "sandbox_id", what, &o.sandbox_id));
  RETURN_IF_ERROR(ReadString(doc, "root", what, &o.root));
  RETURN_IF_ERROR(ReadString(doc, "shared_fs", what, &o.shared_fs));
  RETURN_IF_ERROR(ReadStrings(doc, "sandbox_bind_mounts", what, &o.sandbox_bind_mounts));
  RETURN_IF_ERROR(ReadString(doc, "guest_shared_dir", what, &o.guest_shared_dir));
  RETURN_IF_ERROR(ReadString(doc, "kubelet_root", what, &o.kubelet_root));
  RETURN_IF_ERROR(ReadString(doc, "share_base", what, &o.share_base));
  RETURN_IF_ERROR(ReadString(doc, "rootfs_name", what, &o.rootfs_name));
  RETURN_IF_ERROR(ReadString(doc, "agent_socket", what, &o.agent_socket));
  RETURN_IF_ERROR(ReadBool(doc, "persist", what, &o.persist));
  if (o.sandbox_id.empty())
    return InvalidArgumentError("parse \"" + std::string(what) +
                                "\": field sandbox_id is required");
  RETURN_IF_ERROR(ValidateId("sandbox", o.sandbox_id));
  RETURN_IF_ERROR(RequireAbsolute("root", o.root));
  RETURN_IF_ERROR(RequireAbsolute("guest_shared_dir", o.guest_shared_dir));
  RETURN_IF_ERROR(RequireAbsolute("kubelet_root", o.kubelet_root));
  if (!o.share_base.empty()) RETURN_IF_ERROR(RequireAbsolute("share_base", o.share_base));
  if (!o.agent_socket.empty()) RETURN_IF_ERROR(RequireAbsolute("agent_socket", o.agent_socket));
  for (const auto& m : o.sandbox_bind_mounts)
    RETURN_IF_ERROR(RequireAbsolute("sandbox_bind_mounts", m));
  return o;
}

Result<StoreOptions> ParseStoreConfig(std::string_view text) {
  constexpr std::string_view what = "config_json";
  ASSIGN_OR_RETURN(Json doc, ParseObject(text, what));
  RETURN_IF_ERROR(CheckKeys(doc, {"root"}, what));
  StoreOptions o;
  RETURN_IF_ERROR(ReadString(doc, "root", what, &o.root));
  if (o.root.empty() || o.root.front() != '/')
    return InvalidArgumentError(
        "parse \"config_json\": field root: expected an absolute path, got " + Quote(o.root));
  return o;
}

}  // namespace vmshare::capi
