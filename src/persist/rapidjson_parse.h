// Internal to persist/: RapidJSON as the codec's two files use it
// (schema_fast.cc writes documents, schema_decode.cc reads them), and the
// one parse both run, so they accept and refuse the same texts with the same
// messages. Only those files include it.
//
// Every x86-64 CPU has SSE2: RapidJSON then scans string runs (reading and
// writing) and whitespace 16 bytes at a time. The macro is set here, once,
// so both files instantiate RapidJSON's templates alike.
#pragma once

#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/result.h"

namespace vmshare::persist::codec {

using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;
// A document whose parser stacks also come from a pool (given a caller's
// buffer, a parse then mallocs nothing); its values are plain Values.
using PoolDocument = rapidjson::GenericDocument<rapidjson::UTF8<>, Alloc, Alloc>;

inline constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag |
                                        rapidjson::kParseFullPrecisionFlag |
                                        rapidjson::kParseIterativeFlag;
// The same without UTF-8 validation, for texts that are all ASCII (what
// vmshare writes, unless a path or annotation is not): nothing to validate.
inline constexpr unsigned kParseAsciiFlags = kParseFlags & ~rapidjson::kParseValidateEncodingFlag;

// One pass eight bytes at a time, far cheaper than validating per string.
inline bool IsAscii(std::string_view text) {
  uint64_t high = 0;
  size_t i = 0;
  for (; i + sizeof high <= text.size(); i += sizeof high) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, sizeof word);
    high |= word;
  }
  for (; i < text.size(); ++i) high |= static_cast<unsigned char>(text[i]);
  return (high & 0x8080808080808080u) == 0;
}

// "string", "object", ...: the JSON type of `v`, for messages.
const char* TypeName(const Value& v);

// Parses `text` with `parse(flags)`, which runs one of doc's parsers; the
// flags skip UTF-8 validation for an all-ASCII text.
template <typename Doc, typename F>
Status ParseWith(Doc* doc, std::string_view text, const std::string& path, F parse) {
  if (text.empty()) return CorruptionError("parse \"" + path + "\": empty file");
  if (IsAscii(text))
    parse(std::integral_constant<unsigned, kParseAsciiFlags>{});
  else
    parse(std::integral_constant<unsigned, kParseFlags>{});
  if (doc->HasParseError())
    return CorruptionError("parse \"" + path + "\": parse error at byte " +
                           std::to_string(doc->GetErrorOffset()) + ": " +
                           rapidjson::GetParseError_En(doc->GetParseError()));
  if (!doc->IsObject())
    return CorruptionError("parse \"" + path + "\": expected a JSON object, got " + TypeName(*doc));
  return Status::Ok();
}

inline bool HasNul(std::string_view text) {
  return std::memchr(text.data(), '\0', text.size()) != nullptr;
}

// By length: RapidJSON's plain stream, which reports a NUL where it is.
template <typename Doc>
Status Parse(Doc* doc, std::string_view text, const std::string& path) {
  return ParseWith(doc, text, path, [&](auto flags) {
    doc->template Parse<decltype(flags)::value>(text.data(), text.size());
  });
}

// RapidJSON's SSE2 scans of string runs and whitespace work on NUL-
// terminated streams, as a std::string is (unless it holds a NUL itself).
template <typename Doc>
Status Parse(Doc* doc, const std::string& text, const std::string& path) {
  if (HasNul(text)) return Parse(doc, std::string_view(text), path);
  return ParseWith(doc, text, path,
                   [&](auto flags) { doc->template Parse<decltype(flags)::value>(text.c_str()); });
}

// The same on `copy` (text's bytes, then a NUL), parsed in place: the
// document's strings point into it, so it must outlive the document.
template <typename Doc>
Status ParseInPlace(Doc* doc, std::string_view text, char* copy, const std::string& path) {
  if (HasNul(text)) return Parse(doc, text, path);
  return ParseWith(doc, text, path,
                   [&](auto flags) { doc->template ParseInsitu<decltype(flags)::value>(copy); });
}

}  // namespace vmshare::persist::codec
