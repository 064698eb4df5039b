#include "core/ids.h"

#include <gtest/gtest.h>

namespace vmshare {
namespace {

struct IdCase {
  const char* name;
  std::string id;
  bool valid;
};

TEST(IdsTest, Table) {
  const IdCase kCases[] = {
      {"simple", "abc", true},
      {"digits_first", "0abc", true},
      {"punct", "a_b.c-d", true},
      {"max_len", std::string(128, 'a'), true},
      {"too_long", std::string(129, 'a'), false},
      {"empty", "", false},
      {"dot_first", ".abc", false},
      {"dotdot", "..", false},
      {"slash", "a/b", false},
      {"nul", std::string("a\0b", 3), false},
      {"space", "a b", false},
      {"dash_first", "-a", false},
      {"unicode", "caf\xc3\xa9", false},
  };
  for (const auto& c : kCases) {
    Status s = ValidateId("sandbox", c.id);
    EXPECT_EQ(s.ok(), c.valid) << c.name << ": " << s.ToString();
    if (!c.valid) {
      EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.name;
      EXPECT_NE(s.message().find("invalid sandbox id"), std::string::npos) << c.name;
    }
  }
}

TEST(IdsTest, MessageEscapesControlBytes) {
  Status s = ValidateId("container", std::string("a\nb", 3));
  EXPECT_EQ(s.message(),
            "invalid container id \"a\\x0ab\": only letters, digits, '_', '.' and '-' are allowed");
}

}  // namespace
}  // namespace vmshare
