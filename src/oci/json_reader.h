// A typed walk over a parsed OCI config (nlohmann::json) that records the
// first type error with its JSON path instead of throwing. Used by the
// config readers in this directory only. Thread-compatible.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/result.h"

namespace vmshare::oci::internal {

// Walks a parsed config with typed getters that record the first type error
// with its JSON path instead of throwing.
using json = nlohmann::json;

class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  const json* Child(const json& obj, const std::string& key, const std::string& path,
                    json::value_t want) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    const bool ok = it->type() == want || (want == json::value_t::number_unsigned &&
                                           it->is_number_integer() && it->get<int64_t>() >= 0);
    if (!ok) {
      Fail(path + "." + key + " must be " + TypeName(want) + ", not " + it->type_name());
      return nullptr;
    }
    return &*it;
  }

  std::string String(const json& obj, const std::string& key, const std::string& path) {
    const json* v = Child(obj, key, path, json::value_t::string);
    return v ? v->get<std::string>() : std::string();
  }

  std::vector<std::string> Strings(const json& obj, const std::string& key,
                                   const std::string& path) {
    std::vector<std::string> out;
    const json* v = Child(obj, key, path, json::value_t::array);
    if (!v) return out;
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string()) {
        Fail(path + "." + key + "[" + std::to_string(i) + "] must be a string");
        return {};
      }
      out.push_back((*v)[i].get<std::string>());
    }
    return out;
  }

  uint32_t Uint32(const json& obj, const std::string& key, const std::string& path) {
    const json* v = Child(obj, key, path, json::value_t::number_unsigned);
    if (!v) return 0;
    const uint64_t n = v->get<uint64_t>();
    if (n > UINT32_MAX) {
      Fail(path + "." + key + " is out of range");
      return 0;
    }
    return static_cast<uint32_t>(n);
  }

  uint64_t Uint64(const json& obj, const std::string& key, const std::string& path) {
    const json* v = Child(obj, key, path, json::value_t::number_unsigned);
    return v ? v->get<uint64_t>() : 0;
  }

  int64_t Int64(const json& obj, const std::string& key, const std::string& path) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return 0;
    if (!it->is_number_integer()) {
      Fail(path + "." + key + " must be an integer, not " + it->type_name());
      return 0;
    }
    return it->get<int64_t>();
  }

  std::vector<uint32_t> Uint32s(const json& obj, const std::string& key, const std::string& path) {
    std::vector<uint32_t> out;
    const json* v = Child(obj, key, path, json::value_t::array);
    if (!v) return out;
    for (size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > UINT32_MAX) {
        Fail(path + "." + key + "[" + std::to_string(i) + "] must be a 32-bit unsigned integer");
        return {};
      }
      out.push_back(static_cast<uint32_t>(e.get<uint64_t>()));
    }
    return out;
  }

  bool Bool(const json& obj, const std::string& key, const std::string& path) {
    const json* v = Child(obj, key, path, json::value_t::boolean);
    return v ? v->get<bool>() : false;
  }

  void Fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }
  bool failed() const { return !error_.empty(); }
  Status status() const {
    return InvalidArgumentError("read OCI config \"" + name_ + "\": " + error_);
  }

 private:
  static std::string TypeName(json::value_t t) {
    switch (t) {
      case json::value_t::string:
        return "a string";
      case json::value_t::array:
        return "an array";
      case json::value_t::object:
        return "an object";
      case json::value_t::boolean:
        return "a boolean";
      case json::value_t::number_unsigned:
        return "a non-negative integer";
      default:
        return "another type";
    }
  }

  std::string name_;
  std::string error_;
};

}  // namespace vmshare::oci::internal
