#include "shim/shim_args.h"

#include <charconv>

namespace vmshare::shim {

Result<ShimArgs> ParseShimArgs(const std::vector<std::string>& argv) {
  ShimArgs a;
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string arg = argv[i];
    if (arg.empty() || arg[0] != '-') {
      if (!a.action.empty()) return InvalidArgumentError("unexpected argument \"" + arg + "\"");
      if (arg != "start" && arg != "delete" && arg != "serve")
        return InvalidArgumentError("unknown action \"" + arg + "\" (want start or delete)");
      a.action = arg;
      continue;
    }
    std::string name = arg.substr(arg.starts_with("--") ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "debug") {
      a.debug = !has_value || value == "true" || value == "1";
      continue;
    }
    if (name == "v" || name == "version") {
      a.action = "version";
      continue;
    }
    std::string* target = nullptr;
    std::string fd_text;
    if (name == "namespace")
      target = &a.ns;
    else if (name == "address")
      target = &a.address;
    else if (name == "publish-binary")
      target = &a.publish_binary;
    else if (name == "id")
      target = &a.id;
    else if (name == "bundle")
      target = &a.bundle;
    else if (name == "socket-fd")
      target = &fd_text;
    else
      return InvalidArgumentError("unknown flag \"-" + name + "\"");
    if (!has_value) {
      if (i + 1 >= argv.size()) return InvalidArgumentError("flag \"-" + name + "\" needs a value");
      value = argv[++i];
    }
    *target = value;
    if (target == &fd_text) {
      int fd = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), fd);
      if (ec != std::errc() || end != value.data() + value.size() || fd < 3)
        return InvalidArgumentError("flag \"-socket-fd\": \"" + value +
                                    "\" is not a descriptor number");
      a.socket_fd = fd;
    }
  }
  if (a.action.empty()) return InvalidArgumentError("no action given (want start or delete)");
  if (a.action == "version") return a;
  if (a.id.empty()) return InvalidArgumentError("flag \"-id\" is required");
  if (a.ns.empty()) return InvalidArgumentError("flag \"-namespace\" is required");
  if (a.action == "serve" && a.socket_fd < 0)
    return InvalidArgumentError("serve needs \"-socket-fd\"");
  return a;
}

}  // namespace vmshare::shim
