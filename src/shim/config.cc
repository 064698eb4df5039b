#include "shim/config.h"

#include <fcntl.h>

#include <nlohmann/json.hpp>

namespace vmshare::shim {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;

using Json = nlohmann::json;

Status TypeError(const std::string& name, const std::string& key, const char* want) {
  return InvalidArgumentError("parse " + name + ": \"" + key + "\" must be " + want);
}

Status ReadString(const Json& j, const std::string& name, const std::string& key,
                  std::string* out) {
  if (!j.is_string()) return TypeError(name, key, "a string");
  *out = j.get<std::string>();
  return Status::Ok();
}

Status CheckAbsolute(const std::string& name, const std::string& key, const std::string& v,
                     bool allow_empty) {
  if (v.empty() && allow_empty) return Status::Ok();
  if (v.empty() || v[0] != '/')
    return InvalidArgumentError("parse " + name + ": \"" + key +
                                "\" must be an absolute path, not \"" + v + "\"");
  return Status::Ok();
}

}  // namespace

Result<ShimConfig> ParseShimConfig(std::string_view json_text, const std::string& name) {
  Json doc = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgumentError("parse " + name + ": malformed JSON");
  if (!doc.is_object()) return InvalidArgumentError("parse " + name + ": must be a JSON object");
  ShimConfig c;
  for (const auto& [key, value] : doc.items()) {
    if (key == "root") {
      RETURN_IF_ERROR(ReadString(value, name, key, &c.root));
      RETURN_IF_ERROR(CheckAbsolute(name, key, c.root, /*allow_empty=*/false));
    } else if (key == "shared_fs") {
      RETURN_IF_ERROR(ReadString(value, name, key, &c.shared_fs));
      if (c.shared_fs != "virtio-fs" && c.shared_fs != "none")
        return InvalidArgumentError("parse " + name +
                                    ": \"shared_fs\" must be \"virtio-fs\" or \"none\", not \"" +
                                    c.shared_fs + "\"");
    } else if (key == "accel") {
      RETURN_IF_ERROR(ReadString(value, name, key, &c.accel));
      if (c.accel != "auto" && c.accel != "kvm" && c.accel != "tcg")
        return InvalidArgumentError("parse " + name +
                                    ": \"accel\" must be \"auto\", \"kvm\" or \"tcg\", not \"" +
                                    c.accel + "\"");
    } else if (key == "memory_mb") {
      if (!value.is_number_integer()) return TypeError(name, key, "an integer");
      const int64_t mb = value.get<int64_t>();
      if (mb < 128 || mb > 65536)
        return InvalidArgumentError(
            "parse " + name + ": \"memory_mb\" must be in [128, 65536], not " + std::to_string(mb));
      c.memory_mb = static_cast<int>(mb);
    } else if (key == "guest_dir") {
      RETURN_IF_ERROR(ReadString(value, name, key, &c.guest_dir));
      RETURN_IF_ERROR(CheckAbsolute(name, key, c.guest_dir, /*allow_empty=*/true));
    } else if (key == "kubelet_root") {
      RETURN_IF_ERROR(ReadString(value, name, key, &c.kubelet_root));
      RETURN_IF_ERROR(CheckAbsolute(name, key, c.kubelet_root, /*allow_empty=*/false));
    } else if (key == "debug") {
      if (!value.is_boolean()) return TypeError(name, key, "true or false");
      c.debug = value.get<bool>();
    } else {
      return InvalidArgumentError("parse " + name + ": unknown key \"" + key + "\"");
    }
  }
  return c;
}

Result<ShimConfig> LoadShimConfig(sys::Env* env, const std::string& env_value) {
  const std::string path = env_value.empty() ? std::string(kDefaultConfigPath) : env_value;
  Result<sys::Fd> fd = env->OpenAt(sys::Cwd(), path, O_RDONLY);
  if (!fd.ok()) {
    if (fd.status().code() == Code::kNotFound && env_value.empty()) return ShimConfig{};
    return Status(
        fd.status().code(),
        "read shim config " + path + " (from " +
            (env_value.empty() ? std::string("default path") : std::string(kConfigEnvVar)) +
            "): " + fd.status().message(),
        fd.status().err());
  }
  ASSIGN_OR_RETURN(std::string text, env->ReadAll(*fd, kMaxConfigBytes));
  return ParseShimConfig(text, path);
}

}  // namespace vmshare::shim
