// The view decoders (translate_view.cc) against the protobuf-generated ones
// (translate.cc) on the same bytes: hand-picked cases, every UTF-8 sequence
// of up to three bytes, and many random encodings (fields in any order and
// repeated, known field numbers with the wrong wire type, unknown fields of
// every wire type, nested and broken groups, overlong varints, tags and
// lengths, garbage, truncations and flipped bytes). Both must accept the same
// inputs, decode them to the same values and fail with the same status.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "agent/translate.h"
#include "agent/wire_reader.h"

namespace vmshare::agent {
namespace {

// Protobuf wire bytes in the forms a parser meets, including overlong ones.
struct Enc {
  std::string out;
  // `extra` redundant bytes after the minimal encoding.
  Enc& Varint(uint64_t v, int extra = 0) {
    do {
      const uint8_t low = v & 0x7f;
      v >>= 7;
      out.push_back(static_cast<char>(low | ((v != 0 || extra > 0) ? 0x80 : 0)));
    } while (v != 0);
    for (int i = extra; i > 0; --i) out.push_back(static_cast<char>(i > 1 ? 0x80 : 0));
    return *this;
  }
  Enc& Tag(uint32_t number, WireType t, int extra = 0) {
    return Varint(uint64_t{number} << 3 | static_cast<uint8_t>(t), extra);
  }
  Enc& Len(uint32_t number, std::string_view b, int extra = 0) {
    Tag(number, WireType::kLengthDelimited);
    Varint(b.size(), extra);
    out.append(b);
    return *this;
  }
};

std::string Hex(std::string_view s) {
  std::string h;
  for (unsigned char c : s) h += "0123456789abcdef"[c >> 4], h += "0123456789abcdef"[c & 15];
  return h;
}

RpcRequest Owned(const RpcRequestView& v) {
  RpcRequest r{
      std::string(v.service), std::string(v.method), std::string(v.payload), v.timeout_nano, {}};
  for (const auto& [k, val] : v.metadata) r.metadata.emplace_back(k, val);
  return r;
}

bool Within(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void ExpectSameStatus(const Status& got, const Status& want) {
  EXPECT_EQ(got.code(), want.code());
  EXPECT_EQ(got.err(), want.err());
  EXPECT_EQ(got.message(), want.message());
}

// Both decoders on `bytes`; true if protobuf accepted them.
bool SameRequest(std::string_view bytes) {
  auto want = DecodeRpcRequest(bytes);
  auto got = DecodeRpcRequestView(bytes);
  EXPECT_EQ(got.ok(), want.ok()) << Hex(bytes);
  if (!want.ok() || !got.ok()) {
    if (!want.ok() && !got.ok()) ExpectSameStatus(got.status(), want.status());
    return want.ok();
  }
  EXPECT_EQ(Owned(*got), *want) << Hex(bytes);
  EXPECT_TRUE(Within(got->payload, bytes));
  return true;
}

bool SameCopyFile(std::string_view bytes) {
  auto want = DecodeCopyFileRequest(bytes);
  auto got = DecodeCopyFileRequestView(bytes);
  EXPECT_EQ(got.ok(), want.ok()) << Hex(bytes);
  if (!want.ok() || !got.ok()) {
    if (!want.ok() && !got.ok()) ExpectSameStatus(got.status(), want.status());
    return want.ok();
  }
  EXPECT_TRUE(got->header.data.empty());
  CopyFileRequest owned = got->header;
  owned.data = std::string(got->data);
  EXPECT_EQ(owned, *want) << Hex(bytes);
  EXPECT_TRUE(Within(got->data, bytes));
  return true;
}

TEST(TranslateViewTest, DecodesWhatTheEncoderWrites) {
  const RpcRequest r{
      "grpc.AgentService", "CopyFile", std::string(5000, 'p'), -7, {{"k", "v"}, {"", "é"}}};
  const std::string bytes = EncodeRpcRequest(r);
  auto v = DecodeRpcRequestView(bytes);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(Owned(*v), r);
  CopyFileRequest c{
      "/run/kata-containers/shared/containers/x", 9, 0100644, 0755, -1, 2, 3, "abcdef"};
  auto cv = DecodeCopyFileRequestView(EncodeCopyFileRequest(c));
  ASSERT_TRUE(cv.ok());
  EXPECT_EQ(cv->data, "abcdef");
  c.data.clear();
  EXPECT_EQ(cv->header, c);
}

TEST(TranslateViewTest, MalformedIsTheSameStatus) {
  auto r = DecodeRpcRequestView(
      "\x0a\x05"
      "ab");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "decode ttrpc Request: malformed protobuf");
  auto c = DecodeCopyFileRequestView("\xff");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "decode CopyFileRequest: malformed protobuf");
}

TEST(TranslateViewTest, HandPickedEdges) {
  for (const std::string& s : {
           Enc().Len(1, "a").Len(1, "\xff").out,           // bad UTF-8, then replaced: refused
           Enc().Len(1, "\xff").Len(1, "a").out,           // likewise
           Enc().Len(3, "x").Len(3, "yz").out,             // last wins
           Enc().Tag(3, WireType::kVarint).Varint(1).out,  // known number, other wire type
           Enc().Tag(4, WireType::kLengthDelimited).Varint(0).out,
           Enc().Len(5, Enc().Len(1, "\xc0\x80").out).out,           // bad UTF-8 in a key
           Enc().Len(5, Enc().Tag(1, WireType::kEndGroup).out).out,  // end group in a submessage
           Enc()
               .Len(5,
                    "\x0a\x05"
                    "ab")
               .out,  // a key longer than its KeyValue
           Enc().Tag(4, WireType::kVarint).Varint(~uint64_t{0}).out,
           Enc().Tag(4, WireType::kVarint, 3).Varint(5, 4).out,
       }) {
    SameRequest(s);
    SameCopyFile(s);
  }
  // int32/uint32 fields keep the low 32 bits of a 64-bit varint.
  SameCopyFile(Enc().Tag(5, WireType::kVarint).Varint(0xfffffffe00000001ull).out);
  SameCopyFile(Enc().Tag(3, WireType::kVarint).Varint(0x1'0000'0755ull).out);
}

TEST(TranslateViewTest, NestingLimitIsProtobufs) {
  for (int n : {98, 99, 100, 101}) {
    std::string groups;
    for (int i = 0; i < n; ++i) groups += Enc().Tag(9, WireType::kStartGroup).out;
    for (int i = 0; i < n; ++i) groups += Enc().Tag(9, WireType::kEndGroup).out;
    SameRequest(groups);
    SameCopyFile(groups);
    SameRequest(Enc().Len(5, groups).out);  // one level more, in a KeyValue
  }
}

// Every sequence of up to 3 bytes, and 4-byte ones around the boundaries,
// as a string field (service, a metadata key, the CopyFile path).
TEST(TranslateViewTest, Utf8AsProtobufChecksIt) {
  auto check = [](const std::string& s) {
    SameRequest(Enc().Len(1, s).out);
    SameCopyFile(Enc().Len(1, s).out);
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) {
      const std::string ab{static_cast<char>(a), static_cast<char>(b)};
      check(ab);
      if (a < 0xe0 || a > 0xf7) continue;
      for (int c = 0; c < 256; ++c) {
        SameRequest(Enc().Len(1, ab + static_cast<char>(c)).out);
        if (a < 0xf0) continue;
        for (int d : {0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xff}) {
          if (c == 0x80 || c == 0xbf || c == 0x7f || c == 0xc0) {
            SameRequest(Enc().Len(1, ab + static_cast<char>(c) + static_cast<char>(d)).out);
          }
        }
      }
    }
  }
  SameRequest(Enc().Len(5, Enc().Len(1, "\xed\xa0\x80").out).out);
  SameRequest(Enc().Len(5, Enc().Len(2, "\xf4\x8f\xbf\xbf").out).out);
}

// Random messages: the fields of ttrpc.Request or CopyFileRequest, known
// numbers with any wire type, unknown fields, overlong encodings, garbage.
class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

  std::string Request() {
    Enc e;
    for (int i = Pick(10); i > 0; --i) {
      switch (Pick(8)) {
        case 0:
        case 1:
          Bytes(e, 1 + Pick(2), Text());
          break;
        case 2:
          Bytes(e, 3, Blob());
          break;
        case 3:
          e.Tag(4, WireType::kVarint, Extra()).Varint(Value(), Extra());
          break;
        case 4:
          Bytes(e, 5, KeyValue());
          break;
        default:
          Field(e, 2);
      }
    }
    return e.out;
  }

  std::string CopyFile() {
    Enc e;
    for (int i = Pick(12); i > 0; --i) {
      const int kind = Pick(10);
      if (kind == 0) {
        Bytes(e, 1, Text());
      } else if (kind <= 6) {
        e.Tag(1 + kind, WireType::kVarint, Extra()).Varint(Value(), Extra());
      } else if (kind == 7) {
        Bytes(e, 8, Blob());
      } else {
        Field(e, 2);
      }
    }
    return e.out;
  }

  // Truncated, a byte flipped, inserted or deleted, or as it was.
  std::string Mutate(std::string s) {
    const size_t at = s.empty() ? 0 : static_cast<size_t>(Pick(static_cast<int>(s.size())));
    switch (Pick(5)) {
      case 0:
        return s.substr(0, at);
      case 1:
        if (!s.empty()) s[at] = static_cast<char>(s[at] ^ (1 << Pick(8)));
        return s;
      case 2:
        return s.insert(at, 1, static_cast<char>(rng_()));
      case 3:
        return s.empty() ? s : s.erase(at, 1);
      default:
        return s;
    }
  }

 private:
  int Extra() { return Pick(8) == 0 ? Pick(7) : 0; }
  uint64_t Value() {
    switch (Pick(5)) {
      case 0:
        return rng_();
      case 1:
        return ~uint64_t{0} - static_cast<uint64_t>(Pick(3));  // small negatives
      case 2:
        return uint64_t{1} << Pick(64);
      case 3:
        return 0xffffffffull - 1 + static_cast<uint64_t>(Pick(3));
      default:
        return static_cast<uint64_t>(Pick(1 << 20));
    }
  }
  std::string Text() {
    static const char* const kTexts[] = {"", "grpc.AgentService", "CopyFile",
                                         "\xc3\xa9\xf0\x9f\x98\x80",
                                         "/run/kata-containers/shared/containers/c/f"};
    if (Pick(4) != 0) return kTexts[Pick(5)];
    std::string s;
    for (int i = Pick(6); i > 0; --i) s.push_back(static_cast<char>(rng_()));
    return s;
  }
  std::string Blob() {
    std::string s(static_cast<size_t>(Pick(8) == 0 ? Pick(3000) : Pick(20)), 'd');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }
  std::string KeyValue() {
    Enc e;
    for (int i = Pick(4); i > 0; --i) {
      if (Pick(4) == 0) {
        Field(e, 1);
      } else {
        Bytes(e, 1 + Pick(2), Text());
      }
    }
    return e.out;
  }
  void Bytes(Enc& e, uint32_t number, std::string_view b) {
    e.Tag(number, WireType::kLengthDelimited, Extra()).Varint(b.size(), Extra());
    e.out.append(b);
  }
  // A field of a random number (often a known one) and wire type, groups
  // nested up to `depth`, or a random byte.
  void Field(Enc& e, int depth) {
    static const uint32_t kNumbers[] = {9, 15, 16, 2047, (1u << 29) - 1};
    const uint32_t number = Pick(2) == 0 ? kNumbers[Pick(5)] : 1 + static_cast<uint32_t>(Pick(8));
    switch (Pick(depth > 0 ? 7 : 6)) {
      case 0:
        e.Tag(number, WireType::kVarint, Extra()).Varint(Value(), Extra());
        break;
      case 1:
      case 2: {
        const bool wide = Pick(2) == 0;
        e.Tag(number, wide ? WireType::kFixed64 : WireType::kFixed32, Extra());
        for (int i = wide ? 8 : 4; i > 0; --i) e.out.push_back(static_cast<char>(rng_()));
        break;
      }
      case 3:
        Bytes(e, number, Pick(2) == 0 ? Text() : Blob());
        break;
      case 4:
        Bytes(e, number, Pick(2) == 0 ? KeyValue() : CopyFile());
        break;
      case 5:
        e.out.push_back(static_cast<char>(rng_()));
        break;
      default:
        e.Tag(number, WireType::kStartGroup, Extra());
        for (int i = Pick(3); i > 0; --i) Field(e, depth - 1);
        e.Tag(Pick(10) == 0 ? number + 1 : number, WireType::kEndGroup, Extra());
    }
  }

  std::mt19937_64 rng_;
};

TEST(TranslateViewTest, RandomEncodingsDecodeAsProtobufDecodesThem) {
  Gen gen(20261202);
  int accepted = 0;
  constexpr int kRounds = 20000;
  for (int i = 0; i < kRounds && !HasFailure(); ++i) {
    const std::string r = gen.Request();
    const std::string c = gen.CopyFile();
    accepted += SameRequest(r) + SameCopyFile(c);
    // Each message through the other's decoder too, and mutated.
    SameRequest(c);
    SameCopyFile(r);
    SameRequest(gen.Mutate(r));
    SameCopyFile(gen.Mutate(c));
  }
  // Both outcomes are well exercised.
  EXPECT_GT(accepted, kRounds / 5);
  EXPECT_LT(accepted, 2 * kRounds - kRounds / 5);
}

// Every prefix of valid messages: only the whole one (or one ending between
// fields) decodes.
TEST(TranslateViewTest, EveryTruncation) {
  Gen gen(7);
  for (int i = 0; i < 1000; ++i) {
    const std::string r = gen.Request();
    const std::string c = gen.CopyFile();
    if (r.size() + c.size() > 600) continue;  // quadratic
    for (size_t n = 0; n <= r.size(); ++n) SameRequest(std::string_view(r).substr(0, n));
    for (size_t n = 0; n <= c.size(); ++n) SameCopyFile(std::string_view(c).substr(0, n));
  }
}

}  // namespace
}  // namespace vmshare::agent
