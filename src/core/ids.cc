#include "core/ids.h"

#include <cstdio>

namespace vmshare {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

Status ValidateId(std::string_view kind, std::string_view id) {
  auto bad = [&](std::string_view why) {
    std::string shown = id.size() > 64 ? std::string(id.substr(0, 64)) + "..." : std::string(id);
    return InvalidArgumentError("invalid " + std::string(kind) + " id " + Quote(shown) + ": " +
                                std::string(why));
  };
  if (id.empty()) return bad("must not be empty");
  if (id.size() > kMaxIdLength) return bad("longer than 128 characters");
  if (!IsAlnum(id[0])) return bad("must start with a letter or digit");
  for (char c : id) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-')
      return bad("only letters, digits, '_', '.' and '-' are allowed");
  }
  return Status::Ok();
}

}  // namespace vmshare
