#include "cli/json_out.h"

#include <cstdio>

namespace vmshare::cli {

nlohmann::json StorageJson(const Storage& s) {
  nlohmann::json j = {
      {"driver", s.driver},   {"driver_options", s.driver_options},
      {"source", s.source},   {"fstype", s.fstype},
      {"options", s.options}, {"mount_point", s.mount_point},
  };
  if (s.fs_group) {
    j["fs_group"] = {{"group_id", s.fs_group->group_id},
                     {"group_change_policy", static_cast<int>(s.fs_group->policy)}};
  }
  if (s.shared) j["shared"] = true;
  return j;
}

nlohmann::json StoragesJson(const std::vector<Storage>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& s : v) a.push_back(StorageJson(s));
  return a;
}

namespace {

void PrintText(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace

void PrintJson(const nlohmann::json& j) {
  PrintText(j.dump(2, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace));
}

void PrintOrderedJson(const nlohmann::ordered_json& j) {
  PrintText(
      j.dump(2, ' ', /*ensure_ascii=*/false, nlohmann::ordered_json::error_handler_t::replace));
}

}  // namespace vmshare::cli
