#include "agent/wire_reader.h"

#include <climits>
#include <cstring>

namespace vmshare::agent {
namespace {

constexpr uint64_t kMaxLength = INT_MAX - 16;

}  // namespace

// Up to `max_bytes` bytes; the value is kept modulo 2^64 as protobuf keeps
// it (a 10th byte's bits past 64 are dropped, not refused).
bool WireReader::ReadVarint(uint64_t* out, int max_bytes) {
  uint64_t v = 0;
  for (int i = 0; i < max_bytes; ++i) {
    if (pos_ >= in_.size()) return false;
    const uint8_t b = static_cast<uint8_t>(in_[pos_++]);
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *out = v;
      return true;
    }
  }
  return false;
}

bool WireReader::ReadTag(uint32_t* number, WireType* type) {
  uint64_t tag = 0;
  if (!ReadVarint(&tag, 5)) return false;
  const auto t = static_cast<uint32_t>(tag);  // protobuf keeps 32 bits
  *number = t >> 3;
  *type = static_cast<WireType>(t & 7);
  return *number != 0;
}

bool WireReader::ReadValue(WireType type, WireField* f) {
  f->type = type;
  switch (type) {
    case WireType::kVarint:
      return ReadVarint(&f->value, 10);
    case WireType::kFixed64:
    case WireType::kFixed32: {
      const size_t n = type == WireType::kFixed64 ? 8 : 4;
      if (in_.size() - pos_ < n) return false;
      unsigned char b[8] = {};
      std::memcpy(b, in_.data() + pos_, n);
      f->value = 0;
      for (size_t i = n; i-- > 0;) f->value = (f->value << 8) | b[i];
      pos_ += n;
      return true;
    }
    case WireType::kLengthDelimited: {
      // protobuf's ReadSize: at most 5 bytes, at most INT_MAX - 16 (its
      // slop bytes).
      uint64_t size = 0;
      if (!ReadVarint(&size, 5) || size > kMaxLength || size > in_.size() - pos_) return false;
      f->bytes = in_.substr(pos_, size);
      pos_ += size;
      return true;
    }
    default:  // groups are the callers'; 6 and 7 are not wire types
      return false;
  }
}

// After the start-group tag of `number`: everything up to its end-group tag.
bool WireReader::SkipGroup(uint32_t number, int depth) {
  if (depth <= 0) return false;
  for (;;) {
    uint32_t n = 0;
    WireType type{};
    if (pos_ >= in_.size() || !ReadTag(&n, &type)) return false;
    if (type == WireType::kEndGroup) return n == number;
    if (type == WireType::kStartGroup) {
      if (!SkipGroup(n, depth - 1)) return false;
      continue;
    }
    WireField ignored;
    if (!ReadValue(type, &ignored)) return false;
  }
}

bool WireReader::Next(WireField* f) {
  while (!failed_ && pos_ < in_.size()) {
    uint32_t number = 0;
    WireType type{};
    if (!ReadTag(&number, &type) || type == WireType::kEndGroup) return Fail();
    if (type == WireType::kStartGroup) {
      if (!SkipGroup(number, depth_)) return Fail();
      continue;
    }
    if (!ReadValue(type, f)) return Fail();
    f->number = number;
    return true;
  }
  return false;
}

WireReader WireReader::Nested(std::string_view bytes) const {
  WireReader r(bytes, depth_ - 1);
  if (depth_ <= 0) r.failed_ = true;
  return r;
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // The first byte fixes the length and the range of the second byte
    // (which rules out overlong forms, surrogates and code points past
    // U+10FFFF); later bytes are 80..BF.
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < len || p[1] < lo || p[1] > hi) return false;
    for (size_t i = 2; i < len; ++i) {
      if (p[i] < 0x80 || p[i] > 0xbf) return false;
    }
    p += len;
  }
  return true;
}

}  // namespace vmshare::agent
