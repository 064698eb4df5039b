// WireReader and IsValidUtf8 on hand-written encodings: each rule of the
// protobuf wire format it enforces (wire_reader.h), at its boundary.
// translate_view_test.cc checks the decoders built on it against protobuf.
#include "agent/wire_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/wire_bytes.h"

namespace vmshare::agent {
namespace {

using testing::Bytes;

// Every field of `in`, and whether it was read to its end without failing.
struct Read {
  bool ok = false;
  std::vector<WireField> fields;
};
Read ReadAll(std::string_view in, int depth = WireReader::kMaxDepth) {
  WireReader r(in, depth);
  Read out;
  WireField f;
  while (r.Next(&f)) out.fields.push_back(f);
  out.ok = !r.failed();
  return out;
}

bool Ok(std::string_view in) { return ReadAll(in).ok; }

// `n` nested groups of field 1 around nothing.
std::string Groups(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(0x0b);
  for (int i = 0; i < n; ++i) s.push_back(0x0c);
  return s;
}

TEST(WireReaderTest, ReadsEveryWireType) {
  const std::string in = Bytes({0x08, 0x96, 0x01,                         // 1: 150
                                0x11, 1,    2,    3,    4,   5, 6, 7, 8,  // 2: fixed64
                                0x1a, 0x03, 'a',  'b',  'c',              // 3: "abc"
                                0x25, 0x78, 0x56, 0x34, 0x12});           // 4: fixed32
  Read r = ReadAll(in);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.fields.size(), 4u);
  EXPECT_EQ(r.fields[0].number, 1u);
  EXPECT_EQ(r.fields[0].value, 150u);
  EXPECT_EQ(r.fields[1].type, WireType::kFixed64);
  EXPECT_EQ(r.fields[1].value, 0x0807060504030201u);
  EXPECT_EQ(r.fields[2].bytes, "abc");
  // A view into the input, not a copy.
  EXPECT_EQ(r.fields[2].bytes.data(), in.data() + 14);
  EXPECT_EQ(r.fields[3].value, 0x12345678u);
}

TEST(WireReaderTest, EmptyInputHasNoFields) {
  Read r = ReadAll("");
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.fields.empty());
}

TEST(WireReaderTest, VarintsUpToTenBytesKeepTheLow64Bits) {
  // 2^64 - 1 in ten bytes; a 10th byte's extra bits are dropped.
  Read r = ReadAll(Bytes({0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.fields[0].value, ~uint64_t{0});
  // Overlong zero in ten bytes is fine; eleven bytes are not.
  EXPECT_TRUE(Ok(Bytes({0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00})));
  EXPECT_FALSE(Ok(Bytes({0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0})));
  EXPECT_FALSE(Ok(Bytes({0x08, 0x80})));  // truncated
}

TEST(WireReaderTest, TagsUpToFiveBytesKeepTheLow32Bits) {
  // Field 1, varint, as a 5-byte tag; the 5th byte's high bits are dropped.
  Read r = ReadAll(Bytes({0x88, 0x80, 0x80, 0x80, 0x70, 0x05}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.fields[0].number, 1u);
  EXPECT_EQ(r.fields[0].value, 5u);
  EXPECT_FALSE(Ok(Bytes({0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x05})));  // 6 bytes
  // The largest field number.
  r = ReadAll(Bytes({0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.fields[0].number, (1u << 29) - 1);
}

TEST(WireReaderTest, RefusesFieldZeroBadWireTypesAndStrayEndGroups) {
  EXPECT_FALSE(Ok(Bytes({0x00})));
  EXPECT_FALSE(Ok(Bytes({0x02, 0x00})));  // field 0, length-delimited
  EXPECT_FALSE(Ok(Bytes({0x0e, 0x00})));  // wire type 6
  EXPECT_FALSE(Ok(Bytes({0x0f, 0x00})));  // wire type 7
  EXPECT_FALSE(Ok(Bytes({0x0c})));        // end group, none open
}

TEST(WireReaderTest, LengthsHaveAtMostFiveBytesAndMustFit) {
  EXPECT_TRUE(Ok(Bytes({0x0a, 0x81, 0x80, 0x80, 0x80, 0x00, 'x'})));  // 1 in 5 bytes
  EXPECT_FALSE(Ok(Bytes({0x0a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 'x'})));
  EXPECT_FALSE(Ok(Bytes({0x0a, 0x80, 0x80, 0x80, 0x80, 0x08})));  // 2^31
  EXPECT_FALSE(Ok(Bytes({0x0a, 0x02, 'x'})));
  EXPECT_FALSE(Ok(Bytes({0x09, 1, 2, 3, 4, 5, 6, 7})));  // fixed64 short by one
  EXPECT_FALSE(Ok(Bytes({0x0d, 1, 2, 3})));              // fixed32 short by one
}

TEST(WireReaderTest, SkipsGroupsWholeAndChecksTheirEnd) {
  // Field 2 group holding a varint, a string and a nested group, then field 3.
  Read r = ReadAll(Bytes({0x13, 0x08, 0x01, 0x12, 0x01, 'x', 0x0b, 0x0c, 0x14, 0x18, 0x07}));
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.fields.size(), 1u);
  EXPECT_EQ(r.fields[0].number, 3u);
  EXPECT_FALSE(Ok(Bytes({0x13, 0x1c})));        // ended by field 3's end tag
  EXPECT_FALSE(Ok(Bytes({0x13, 0x08, 0x01})));  // never ended
  EXPECT_FALSE(Ok(Bytes({0x13, 0x00, 0x14})));  // tag 0 inside
  EXPECT_FALSE(Ok(Bytes({0x13, 0x04})));        // end tag of field 0
  EXPECT_FALSE(Ok(Bytes({0x13, 0x0e, 0x14})));  // wire type 6 inside
}

TEST(WireReaderTest, NestingStopsAtTheRecursionLimit) {
  EXPECT_TRUE(Ok(Groups(WireReader::kMaxDepth)));
  EXPECT_FALSE(Ok(Groups(WireReader::kMaxDepth + 1)));
  EXPECT_FALSE(ReadAll(Groups(1), 0).ok);
  EXPECT_TRUE(ReadAll(Groups(1), 1).ok);
  // A submessage takes a level as a group does.
  WireReader top("", 1);
  WireReader sub = top.Nested(Groups(1));
  WireField f;
  EXPECT_FALSE(sub.Next(&f));
  EXPECT_TRUE(sub.failed());
  WireReader none("", 0);
  WireReader empty = none.Nested("");
  EXPECT_TRUE(empty.failed());
}

TEST(WireReaderTest, StaysFailed) {
  WireReader r(Bytes({0x0e, 0x08, 0x01}));
  WireField f;
  EXPECT_FALSE(r.Next(&f));
  EXPECT_TRUE(r.failed());
  EXPECT_FALSE(r.Next(&f));
}

TEST(Utf8Test, AcceptsWellFormedAndRefusesTheRest) {
  for (const std::string& good :
       {std::string(), std::string("plain"), std::string(1, '\0'), Bytes({0xc2, 0x80}),
        Bytes({0xdf, 0xbf}), Bytes({0xe0, 0xa0, 0x80}), Bytes({0xed, 0x9f, 0xbf}),
        Bytes({0xee, 0x80, 0x80}), Bytes({0xf0, 0x90, 0x80, 0x80}),
        Bytes({0xf4, 0x8f, 0xbf, 0xbf})}) {
    EXPECT_TRUE(IsValidUtf8(good)) << good;
  }
  for (const std::string& bad :
       {Bytes({0x80}), Bytes({0xc0, 0x80}), Bytes({0xc1, 0xbf}),  // overlong
        Bytes({0xe0, 0x9f, 0xbf}), Bytes({0xed, 0xa0, 0x80}),     // overlong, surrogate
        Bytes({0xf0, 0x8f, 0xbf, 0xbf}), Bytes({0xf4, 0x90, 0x80, 0x80}), Bytes({0xf5, 0x80}),
        Bytes({0xe2, 0x82}), Bytes({0xc2}), Bytes({0xc2, 0x41}), Bytes({0xff})}) {
    EXPECT_FALSE(IsValidUtf8(bad));
  }
}

}  // namespace
}  // namespace vmshare::agent
