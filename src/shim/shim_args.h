// The shim's command line, as containerd 1.6 writes it (Go flag syntax:
// "-name value" or "-name=value", boolean "-debug"):
//
//   containerd-shim-vmshare-v2 -namespace NS -address ADDR -publish-binary BIN
//       -id ID [-bundle DIR] [-debug] start|delete
//
// plus the shim's own daemon form, "... -socket-fd N serve", which `start`
// runs. Unknown flags and a missing action are refused with a message naming
// them; -v prints the version.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace vmshare::shim {

struct ShimArgs {
  std::string ns;
  std::string address;         // containerd's grpc socket
  std::string publish_binary;  // containerd's binary (unused: events go over ttrpc)
  std::string id;
  std::string bundle;  // delete: the bundle; start: the working directory
  bool debug = false;
  int socket_fd = -1;  // serve: the listening socket start made
  std::string action;  // start | delete | serve | version
};

Result<ShimArgs> ParseShimArgs(const std::vector<std::string>& argv);

}  // namespace vmshare::shim
