// Test input for the wire tests: a byte string written as numbers.
#pragma once

#include <initializer_list>
#include <string>

namespace vmshare::agent::testing {

inline std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

}  // namespace vmshare::agent::testing
