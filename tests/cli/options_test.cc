// The command line's own contract (issue 9 item 7, issue 12 item 9): global
// options before or after the subcommand, `--version`, and usage errors that
// exit 2 with one line on stderr and nothing on stdout.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "support/test_util.h"
#include "sys/env.h"

namespace vmshare {
namespace {

using testing::ReadFile;
using testing::TempDir;
namespace fs = std::filesystem;

struct Ran {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs the built vmshare with exactly these arguments (no --root added).
Ran RunCli(const TempDir& tmp, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {VMSHARE_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  sys::Env* env = sys::Env::Default();
  const std::string out = tmp / "stdout", err = tmp / "stderr";
  fs::remove(out);
  fs::remove(err);
  auto child = env->Spawn({.argv = argv, .stdout_path = out, .stderr_path = err});
  EXPECT_TRUE(child.ok()) << child.status().ToString();
  if (!child.ok()) return {};
  auto st = env->Wait(*child);
  EXPECT_TRUE(st.ok() && st->exited);
  if (!st.ok()) return {};
  return {st->code, ReadFile(out), ReadFile(err)};
}

int Lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TEST(CliOptionsTest, GlobalOptionsAfterTheSubcommand) {
  REQUIRE_ROOT();
  TempDir tmp;
  const std::string root = tmp / "root";
  Ran r = RunCli(
      tmp, {"sandbox", "prepare", "s1", "--root", root, "-v", "--kubelet-root", tmp / "kubelet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(root + "/sbs/s1/persist.json"))
      << "--root after the subcommand was not used";
  r = RunCli(tmp, {"state", "show", "s1", "--root", root});
  EXPECT_EQ(r.code, 0) << r.err;
  r = RunCli(tmp, {"gc", "--kubelet-root", tmp / "kubelet", "--dry-run", "--root", root});
  EXPECT_EQ(r.code, 0) << r.err;
  // `run` has a --root of its own, but --kubelet-root is the global one: the
  // missing bundle (exit 1) is reported, not the option (exit 2).
  r = RunCli(tmp, {"run", "--bundle", tmp / "no-bundle", "--kubelet-root", tmp / "kubelet"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("no-bundle"), std::string::npos) << r.err;
  // Before the subcommand still works.
  r = RunCli(tmp, {"--root", root, "sandbox", "cleanup", "s1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(root + "/sbs/s1"));
}

TEST(CliOptionsTest, Version) {
  TempDir tmp;
  Ran r = RunCli(tmp, {"--version"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::regex want(std::string("vmshare ") + VMSHARE_PROJECT_VERSION +
                        R"(( \(git [0-9a-f]{12}(-dirty)?\))?\n)");
  EXPECT_TRUE(std::regex_match(r.out, want)) << r.out;
  if (fs::exists(std::string(VMSHARE_SOURCE_DIR) + "/.git")) {
    EXPECT_NE(r.out.find(" (git "), std::string::npos)
        << "built from a checkout: the commit is missing";
  }
}

TEST(CliOptionsTest, UsageErrorsExitTwoWithOneLine) {
  TempDir tmp;
  const std::vector<std::vector<std::string>> bad = {
      {},                                      // no subcommand
      {"--bogus"},                             // unknown global option
      {"sandbox"},                             // group without its command
      {"sandbox", "prepare"},                  // missing SID
      {"sandbox", "prepare", "s1", "--nope"},  // unknown option after the subcommand
      {"frobnicate"},                          // unknown subcommand
  };
  for (const auto& args : bad) {
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    Ran r = RunCli(tmp, args);
    EXPECT_EQ(r.code, 2) << "vmshare" << shown << ": " << r.err;
    EXPECT_EQ(Lines(r.err), 1) << "vmshare" << shown << ": " << r.err;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.rfind("vmshare: ", 0), std::string::npos)
        << "usage errors are unprefixed: " << r.err;
    EXPECT_EQ(r.out, "") << "vmshare" << shown;
  }
  // --help is not an error.
  Ran help = RunCli(tmp, {"sandbox", "prepare", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("SID"), std::string::npos) << help.out;
}

TEST(CliOptionsTest, FailedCommandExitsOneWithOnePrefixedLine) {
  REQUIRE_ROOT();
  TempDir tmp;
  Ran r = RunCli(tmp, {"state", "show", "nosuch", "--root", tmp / "root"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("vmshare: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace vmshare
