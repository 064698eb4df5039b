// Fuzzes the OCI config.json reader (cli/bundle.h): the input is the text of
// one config.json, given to ParseBundleConfig and, written into a scratch
// bundle directory, to ReadBundle.
//
// Properties:
//   - every error names the file and is kInvalidArgument;
//   - an accepted config keeps the reader's promises: the rootfs is absolute,
//     every mount destination is absolute, every host bind has a source, and
//     read_only matches the "ro" option;
//   - an accepted config, written back as a canonical OCI config, reads back
//     to the same Bundle;
//   - ReadBundle on the file gives exactly what ParseBundleConfig gives on its
//     text, and changes nothing in the bundle directory.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cli/bundle.h"
#include "fuzz_util.h"
#include "sys/env.h"

namespace vmshare::fuzz {
namespace {

using nlohmann::json;

bool SameBundle(const cli::Bundle& a, const cli::Bundle& b) {
  return a.dir == b.dir && a.rootfs == b.rootfs && a.rootfs_readonly == b.rootfs_readonly &&
         a.process.args == b.process.args && a.process.env == b.process.env &&
         a.process.cwd == b.process.cwd && a.process.uid == b.process.uid &&
         a.process.gid == b.process.gid && a.process.terminal == b.process.terminal &&
         a.mounts == b.mounts;
}

// The canonical OCI config of a parsed Bundle (only the fields it reads).
std::string ToConfig(const cli::Bundle& b) {
  json mounts = json::array();
  for (const auto& m : b.mounts)
    mounts.push_back({{"destination", m.destination},
                      {"source", m.source},
                      {"type", m.type},
                      {"options", m.options}});
  json doc = {
      {"ociVersion", "1.0.2"},
      {"root", {{"path", b.rootfs}, {"readonly", b.rootfs_readonly}}},
      {"process",
       {{"args", b.process.args},
        {"env", b.process.env},
        {"cwd", b.process.cwd},
        {"terminal", b.process.terminal},
        {"user", {{"uid", b.process.uid}, {"gid", b.process.gid}}}}},
      {"mounts", std::move(mounts)},
  };
  return doc.dump(2);
}

void CheckInvariants(const cli::Bundle& b) {
  FUZZ_CHECK(!b.rootfs.empty() && b.rootfs[0] == '/', "rootfs is not absolute: " + b.rootfs);
  for (const auto& m : b.mounts) {
    FUZZ_CHECK(!m.destination.empty() && m.destination[0] == '/',
               "relative destination " + m.destination);
    FUZZ_CHECK(!cli::IsHostBind(m) || !m.source.empty(),
               "bind mount without a source: " + m.destination);
    FUZZ_CHECK(m.read_only == cli::HasReadOnlyOption(m.options),
               "read_only disagrees with options");
  }
}

void FuzzOne(std::string_view text) {
  const std::string dir = "/bundles/b1";
  const std::string name = dir + "/config.json";
  auto parsed = cli::ParseBundleConfig(text, dir, name);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == Code::kInvalidArgument, parsed.status().ToString());
    FUZZ_CHECK(Contains(parsed.status().message(), "\"" + name + "\""),
               "error does not name the file: " + parsed.status().ToString());
  } else {
    CheckInvariants(*parsed);
    const std::string canonical = ToConfig(*parsed);
    auto again = cli::ParseBundleConfig(canonical, dir, name);
    FUZZ_CHECK(again.ok(),
               "canonical config rejected: " + again.status().ToString() + "\n" + canonical);
    FUZZ_CHECK(SameBundle(*again, *parsed), "canonical config reads differently:\n" + canonical);
  }

  // The same text through ReadBundle on a real directory.
  static ScratchDir scratch("bundle");  // removed at exit
  const std::string bundle_dir = scratch.path();
  WriteFileOrDie(bundle_dir + "/config.json", text);
  const Snapshot before = TakeSnapshot(bundle_dir);
  auto read = cli::ReadBundle(sys::Env::Default(), bundle_dir);
  FUZZ_CHECK(TakeSnapshot(bundle_dir) == before, "ReadBundle changed the bundle directory");
  auto expected = cli::ParseBundleConfig(text, bundle_dir, bundle_dir + "/config.json");
  FUZZ_CHECK(read.ok() == expected.ok(),
             "ReadBundle and ParseBundleConfig disagree: " + read.status().ToString() + " vs " +
                 expected.status().ToString());
  if (read.ok()) {
    FUZZ_CHECK(SameBundle(*read, *expected),
               "ReadBundle and ParseBundleConfig give different bundles");
  } else {
    FUZZ_CHECK(
        read.status().message() == expected.status().message(),
        "different errors: " + read.status().ToString() + " vs " + expected.status().ToString());
    FUZZ_CHECK(Contains(read.status().message(), bundle_dir + "/config.json"),
               "ReadBundle error does not name the file: " + read.status().ToString());
  }
}

}  // namespace
}  // namespace vmshare::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vmshare::fuzz::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
