#include "core/result.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace vmshare {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgumentError("half of " + std::to_string(x) + ": odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(ResultTest, PropagatesFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "half of 3: odd");
}

TEST(ResultTest, ErrnoMapping) {
  struct Case {
    int err;
    Code code;
    const char* name;
  };
  const Case kCases[] = {
      {ENOENT, Code::kNotFound, "ENOENT"},
      {EROFS, Code::kPermissionDenied, "EROFS"},
      {EBUSY, Code::kBusy, "EBUSY"},
      {ENOSYS, Code::kUnimplemented, "ENOSYS"},
      {EEXIST, Code::kAlreadyExists, "EEXIST"},
      {EIO, Code::kIoError, "EIO"},
  };
  for (const auto& c : kCases) {
    Status s = ErrnoError(c.err, "open \"/x\"");
    EXPECT_EQ(s.code(), c.code) << c.name;
    EXPECT_EQ(s.err(), c.err) << c.name;
    EXPECT_NE(s.message().find(std::string("(") + c.name + ")"), std::string::npos) << s.message();
  }
  EXPECT_EQ(ErrnoError(ENOENT, "open \"/x\"").message(),
            "open \"/x\": no such file or directory (ENOENT)");
}

TEST(ResultTest, WithContext) {
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
  Status s = NotFoundError("a").WithContext("b");
  EXPECT_EQ(s.message(), "b: a");
  EXPECT_EQ(s.code(), Code::kNotFound);
}

}  // namespace
}  // namespace vmshare
