// Protobuf encode/decode shared by the two wire files (translate.cc for the
// Kata-compatible messages, vmshare_wire.cc for vmshare.VmshareService).
//
// Header-only templates over the generated message type M, so this header
// itself includes no generated code. ParseProto never throws and never
// trusts its input: bytes that are too large for protobuf's int size or that
// do not parse as M give kInvalidArgument "decode <name>: malformed protobuf".
// SerializeProto cannot fail.
#pragma once

#include <climits>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace vmshare::agent {

template <typename M>
Result<M> ParseProto(std::string_view bytes, std::string_view name) {
  M m;
  // ParseFromArray takes an int length; larger input cannot be a valid
  // message for us, and the cast below must not wrap.
  if (bytes.size() > static_cast<size_t>(INT_MAX) ||
      !m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgumentError("decode " + std::string(name) + ": malformed protobuf");
  }
  return m;
}

template <typename M>
std::string SerializeProto(const M& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

}  // namespace vmshare::agent
