// Helpers shared by the fuzzers: property checks that abort with a message
// (so libFuzzer records the input as a crash), a scratch directory, and a
// snapshot of a directory tree to prove that a load changed nothing.
//
// Test code, not product code: it uses std::filesystem and iostreams directly
// (like tests/support/test_util.h), always through non-throwing overloads or
// with the failure turned into a FUZZ_CHECK.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

namespace vmshare::fuzz {

// A broken property: print what and where, then abort so the fuzzer keeps
// the input (libFuzzer reports "deadly signal" and writes crash-<sha1>).
[[noreturn]] inline void Violation(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "\nFUZZ PROPERTY VIOLATED at %s:%d: %s\n", file, line, what.c_str());
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_CHECK(cond, msg)                                                            \
  do {                                                                                   \
    if (!(cond))                                                                         \
      ::vmshare::fuzz::Violation(__FILE__, __LINE__, std::string(#cond) + ": " + (msg)); \
  } while (0)

inline bool Contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// The base for scratch directories: tmpfs when there is one (the store
// fuzzer fsyncs on every save), else $TMPDIR or /tmp.
inline std::string ScratchBase() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  const char* t = ::getenv("TMPDIR");
  return (t && *t) ? t : "/tmp";
}

// A directory made once per process and removed at exit.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    std::string tmpl = ScratchBase() + "/vmshare-fuzz-" + tag + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) Violation(__FILE__, __LINE__, "mkdtemp " + tmpl);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Empties `dir` (keeps the directory itself).
inline void ClearDir(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code rec;
    std::filesystem::remove_all(e.path(), rec);
    FUZZ_CHECK(!rec, "remove " + e.path().string() + ": " + rec.message());
  }
  FUZZ_CHECK(!ec, "list " + dir + ": " + ec.message());
}

inline void WriteFileOrDie(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  FUZZ_CHECK(out.good(), "write " + path);
}

inline std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Relative path -> "<type> <perms> <content or link target>" for every entry
// under `root` (symlinks are not followed).
using Snapshot = std::map<std::string, std::string>;

inline Snapshot TakeSnapshot(const std::string& root) {
  Snapshot snap;
  std::error_code ec;
  auto it = std::filesystem::recursive_directory_iterator(root, ec);
  FUZZ_CHECK(!ec, "walk " + root + ": " + ec.message());
  for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    FUZZ_CHECK(!ec, "walk " + root + ": " + ec.message());
    const auto& p = it->path();
    const auto st = it->symlink_status(ec);
    FUZZ_CHECK(!ec, "lstat " + p.string() + ": " + ec.message());
    std::string v = std::to_string(static_cast<int>(st.type())) + " " +
                    std::to_string(static_cast<unsigned>(st.permissions())) + " ";
    if (st.type() == std::filesystem::file_type::regular) v += ReadFileOrEmpty(p.string());
    if (st.type() == std::filesystem::file_type::symlink)
      v += std::filesystem::read_symlink(p, ec).string();
    snap[std::filesystem::relative(p, root, ec).string()] = std::move(v);
  }
  return snap;
}

inline std::string DescribeDiff(const Snapshot& a, const Snapshot& b) {
  std::string out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end())
      out += "removed " + k + "; ";
    else if (it->second != v)
      out += "changed " + k + "; ";
  }
  for (const auto& [k, v] : b)
    if (!a.count(k)) out += "added " + k + "; ";
  return out;
}

}  // namespace vmshare::fuzz
