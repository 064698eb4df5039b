// JSON renderings of core types for the CLI's stdout. Field names are
// snake_case, as the agent's protobuf names them.
#pragma once

#include <nlohmann/json.hpp>

#include "core/types.h"

namespace vmshare::cli {

nlohmann::json StorageJson(const Storage& s);
nlohmann::json StoragesJson(const std::vector<Storage>& v);

// Prints `j` on stdout, indented, with a final newline.
void PrintJson(const nlohmann::json& j);
void PrintOrderedJson(const nlohmann::ordered_json& j);

}  // namespace vmshare::cli
