// WireReader: a forward-only reader of protobuf wire format that hands out
// length-delimited fields as views into its input, never copies.
//
// It exists for the guest's hot path (translate_view.cc): a 1 MiB CopyFile
// chunk is decoded from the ttrpc frame buffer in place instead of being
// copied by the generated parser twice. It accepts exactly what the protobuf
// 3.21 parser accepts, so a message decodes the same either way:
//   - a tag is a varint of at most 5 bytes (bits past 32 dropped); field
//     number 0, wire types 6 and 7, and an end-group tag outside its group
//     are malformed;
//   - a varint value has at most 10 bytes (bits past 64 dropped);
//   - a length has at most 5 bytes, is at most INT_MAX - 16, and must fit
//     the input;
//   - fixed32/fixed64 values must fit the input;
//   - groups (no message we read declares one) are skipped whole, their
//     contents checked, and must end with the end-group tag of their field;
//   - submessages and groups nest at most kMaxDepth deep (protobuf's default
//     recursion limit), counting both.
// What a field means, and which wire type a known field must have (a field
// of another wire type is unknown to protobuf, so skipped), is the caller's.
#pragma once

#include <cstdint>
#include <string_view>

namespace vmshare::agent {

enum class WireType : uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// One field as read. Never a group: Next skips those.
struct WireField {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t value = 0;      // kVarint, kFixed64, kFixed32
  std::string_view bytes;  // kLengthDelimited: a view into the input
};

class WireReader {
 public:
  static constexpr int kMaxDepth = 100;

  // `depth` is how many levels of submessages and groups may nest below
  // this message.
  explicit WireReader(std::string_view bytes, int depth = kMaxDepth) : in_(bytes), depth_(depth) {}

  // Reads the next field into *f. false at the end of the input, or when it
  // is malformed (then failed() is true and stays so).
  bool Next(WireField* f);
  bool failed() const { return failed_; }

  // A reader of `bytes` (a length-delimited field of this message) as a
  // submessage: one level deeper, failed at once if that is too deep.
  WireReader Nested(std::string_view bytes) const;

 private:
  bool Fail() {
    failed_ = true;
    return false;
  }
  bool ReadVarint(uint64_t* out, int max_bytes);
  bool ReadTag(uint32_t* number, WireType* type);
  bool ReadValue(WireType type, WireField* f);
  bool SkipGroup(uint32_t number, int depth);

  std::string_view in_;
  size_t pos_ = 0;
  int depth_;
  bool failed_ = false;
};

// True if `s` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF), as protobuf requires of a proto3 string field.
bool IsValidUtf8(std::string_view s);

}  // namespace vmshare::agent
