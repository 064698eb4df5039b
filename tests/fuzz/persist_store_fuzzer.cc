// Fuzzes StateStore::LoadSandbox on a real directory built from the input.
//
// Input format (text, so seeds are readable): parts separated by a line
// "----". Part 0 is <root>/s1/persist.json. Each further part (at most 8) is
// a container entry: its first line is the entry name, the rest its
// persist.json. A body that is exactly one of these markers makes instead:
//   (none)     no file (for part 0: no sandbox persist.json)
//   (dir)      persist.json is a directory
//   (symlink)  persist.json is a symlink to ../persist.json
//   (file)     (containers only) the entry itself is a regular file, no dir
// Names that are not one path component, or that would collide with an
// earlier entry or name a writer's temp file (which loads remove by design),
// become "c<i>". Names that are not valid ids are kept: the store must skip
// them.
//
// Properties:
//   - LoadSandbox changes nothing on disk, whether it fails or not (a
//     snapshot of every path, type, mode and content before and after);
//   - an error names a file under the sandbox directory (kNotFound for a
//     missing sandbox file names the sandbox instead);
//   - a successful load saved back on top of the same files (SaveSandbox,
//     SaveContainer: the unknown-key-keeping path) loads to an equal record,
//     and a second save leaves the bytes unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "persist/store.h"
#include "sys/env.h"

namespace vmshare::fuzz {
namespace {

constexpr char kSid[] = "s1";
constexpr size_t kMaxContainers = 8;

std::vector<std::string_view> SplitParts(std::string_view in) {
  std::vector<std::string_view> parts;
  constexpr std::string_view kSep = "\n----\n";
  while (true) {
    const size_t at = in.find(kSep);
    if (at == std::string_view::npos) break;
    parts.push_back(in.substr(0, at));
    in.remove_prefix(at + kSep.size());
  }
  parts.push_back(in);
  return parts;
}

bool ValidName(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.size() <= 200 &&
         n.find('/') == std::string::npos && n.find('\0') == std::string::npos &&
         n.find(".tmp.") == std::string::npos;
}

// Writes persist.json into `dir` according to `body` (markers above).
void MakeDocument(const std::string& dir, std::string_view body) {
  const std::string file = dir + "/" + persist::kPersistFile;
  if (body == "(none)") return;
  std::error_code ec;
  if (body == "(dir)") {
    std::filesystem::create_directory(file, ec);
  } else if (body == "(symlink)") {
    std::filesystem::create_symlink("../persist.json", file, ec);
  } else {
    WriteFileOrDie(file, body);
  }
  FUZZ_CHECK(!ec, "make " + file + ": " + ec.message());
}

struct Layout {
  bool sandbox_file = false;  // part 0 is not (none)
  std::vector<std::string> names;
};

Layout Build(const std::string& sandbox_dir, std::string_view input) {
  Layout layout;
  std::vector<std::string_view> parts = SplitParts(input);
  if (parts.size() > kMaxContainers + 1) parts.resize(kMaxContainers + 1);
  // Entries first, so a container named "persist.json" can take the
  // sandbox file's place when part 0 is (none).
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    const size_t nl = part.find('\n');
    std::string name(part.substr(0, nl));
    const std::string_view body =
        nl == std::string_view::npos ? std::string_view() : part.substr(nl + 1);
    std::error_code ec;
    auto taken = [&](const std::string& n) {
      return std::filesystem::exists(std::filesystem::symlink_status(sandbox_dir + "/" + n, ec));
    };
    if (!ValidName(name) || taken(name) ||
        (name == persist::kPersistFile && parts[0] != "(none)")) {
      // Built, then moved: `name = "c" + ...` (or assigning "c" to name)
      // makes GCC 12 at -O3 warn (a false -Wrestrict inside std::string).
      std::string fresh = "c";
      fresh += std::to_string(i);
      name = std::move(fresh);
      while (taken(name)) name += "x";
    }
    const std::string entry = sandbox_dir + "/" + name;
    layout.names.push_back(name);
    if (body == "(file)") {
      WriteFileOrDie(entry, "not a container\n");
      continue;
    }
    std::filesystem::create_directory(entry, ec);
    FUZZ_CHECK(!ec, "mkdir " + entry + ": " + ec.message());
    std::filesystem::permissions(entry, std::filesystem::perms::owner_all, ec);
    MakeDocument(entry, body);
  }
  layout.sandbox_file = parts[0] != "(none)";
  MakeDocument(sandbox_dir, parts[0]);
  return layout;
}

void CheckErrorNamesFile(const Status& s, const std::string& sandbox_dir, const Layout& layout) {
  if (s.code() == Code::kNotFound && !layout.sandbox_file) {
    FUZZ_CHECK(Contains(s.message(), "\"s1\""),
               "missing sandbox error does not name it: " + s.ToString());
    return;
  }
  bool named = Contains(s.message(), sandbox_dir + "/" + persist::kPersistFile);
  for (const auto& n : layout.names)
    named = named || Contains(s.message(), sandbox_dir + "/" + n + "/" + persist::kPersistFile);
  FUZZ_CHECK(named, "load error does not name the file: " + s.ToString());
}

void FuzzOne(std::string_view input) {
  static ScratchDir scratch("store");  // removed at exit
  ClearDir(scratch.path());
  const std::string root = scratch.path() + "/state";
  const std::string sandbox_dir = root + "/" + kSid;
  std::error_code ec;
  std::filesystem::create_directories(sandbox_dir, ec);
  FUZZ_CHECK(!ec, "mkdir " + sandbox_dir + ": " + ec.message());
  const Layout layout = Build(sandbox_dir, input);

  persist::StateStore store(sys::Env::Default(), root);
  const Snapshot before = TakeSnapshot(root);
  auto record = store.LoadSandbox(kSid);
  const Snapshot after = TakeSnapshot(root);
  FUZZ_CHECK(before == after, "LoadSandbox changed the disk (" +
                                  std::string(record.ok() ? "ok" : record.status().ToString()) +
                                  "): " + DescribeDiff(before, after));
  if (!record.ok()) {
    CheckErrorNamesFile(record.status(), sandbox_dir, layout);
    return;
  }

  // Save everything back on top of what was read, then load again.
  Status s = store.SaveSandbox(kSid, record->sandbox);
  FUZZ_CHECK(s.ok(), "SaveSandbox after a good load: " + s.ToString());
  for (const auto& [cid, state] : record->containers) {
    s = store.SaveContainer(kSid, cid, state);
    FUZZ_CHECK(s.ok(), "SaveContainer " + cid + " after a good load: " + s.ToString());
  }
  auto again = store.LoadSandbox(kSid);
  FUZZ_CHECK(again.ok(), "load after save: " + again.status().ToString());
  FUZZ_CHECK(again->sandbox == record->sandbox, "sandbox differs after save and load");
  FUZZ_CHECK(again->containers == record->containers, "containers differ after save and load");

  // A second save of the same record writes the same bytes.
  const Snapshot saved = TakeSnapshot(root);
  s = store.SaveSandbox(kSid, again->sandbox);
  FUZZ_CHECK(s.ok(), "second SaveSandbox: " + s.ToString());
  for (const auto& [cid, state] : again->containers) {
    s = store.SaveContainer(kSid, cid, state);
    FUZZ_CHECK(s.ok(), "second SaveContainer " + cid + ": " + s.ToString());
  }
  const Snapshot resaved = TakeSnapshot(root);
  FUZZ_CHECK(saved == resaved, "second save changed bytes: " + DescribeDiff(saved, resaved));
}

}  // namespace
}  // namespace vmshare::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vmshare::fuzz::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
