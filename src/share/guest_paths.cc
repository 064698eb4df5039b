#include "share/guest_paths.h"

#include <fcntl.h>
#include <limits.h>

#include "core/ids.h"

namespace vmshare::share {

Result<std::string> UsableBaseName(std::string_view what, std::string_view path) {
  std::string_view p = path;
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  const size_t slash = p.rfind('/');
  std::string_view base = slash == std::string_view::npos ? p : p.substr(slash + 1);
  if (base.empty() || base == "." || base == "..")
    return InvalidArgumentError(std::string(what) + " " + Quote(path) +
                                ": has no base name usable as a file name");
  return std::string(base);
}

Result<std::string> RandomHex16(sys::Env* env) {
  unsigned char bytes[8];
  RETURN_IF_ERROR(env->GetRandom(bytes, sizeof bytes));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (size_t i = 0; i < sizeof bytes; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

Result<std::string> VolumeShareName(std::string_view container_id, std::string_view destination,
                                    std::string_view hex16) {
  ASSIGN_OR_RETURN(std::string base, UsableBaseName("mount destination", destination));
  std::string name = std::string(container_id) + "-" + std::string(hex16) + "-" + base;
  if (name.size() > NAME_MAX)
    return InvalidArgumentError(
        "mount destination " + Quote(destination) + ": base name too long for a share name (" +
        std::to_string(name.size()) + " > " + std::to_string(NAME_MAX) + ")");
  return name;
}

bool IsVolumeShareNameOf(std::string_view container_id, std::string_view name) {
  // <cid>-<16 hex>-<at least one byte>, no slash, not . or ..
  const size_t prefix = container_id.size() + 1 + 16 + 1;
  if (name.size() <= prefix || name.find('/') != std::string_view::npos) return false;
  if (name.substr(0, container_id.size()) != container_id || name[container_id.size()] != '-')
    return false;
  for (char c : name.substr(container_id.size() + 1, 16)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return name[prefix - 1] == '-';
}

std::string GuestPath(std::string_view guest_shared, std::string_view rel) {
  std::string out(guest_shared);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out != "/") out += '/';
  out += rel;
  return out;
}

}  // namespace vmshare::share
