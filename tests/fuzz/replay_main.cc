// A main() for the fuzzers in builds without libFuzzer (the normal gcc
// build): runs LLVMFuzzerTestOneInput on every file named on the command line
// (directories are walked, sorted), then on `--mutations N` inputs derived
// from them by a fixed-seed mutator (byte flips, inserts of JSON-ish tokens,
// deletions, splices), so `make test` exercises the property checks on more
// than the seeds. Deterministic: the same files give the same run. A broken
// property aborts (fuzz_util.h), which fails the test.
//
//   fuzzer_replay [--mutations N] PATH...
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::vector<std::string> Inputs(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p, ec))
        if (e.is_regular_file()) files.push_back(e.path().string());
    } else if (std::filesystem::exists(p, ec)) {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Mutate(std::string s, const std::vector<std::string>& pool, std::mt19937_64& rng) {
  static const char* const kTokens[] = {
      "{",    "}",    "[",        "]",          ",",     ":",           "\"",
      "null", "true", "-1",       "4294967296", "1e999", "\"\\u0000\"", "\"..\"",
      "[]",   "{}",   "\n----\n", "(none)",     "(dir)", "(symlink)",   "(file)"};
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 5) {
      case 0:
        if (!s.empty() && at < s.size()) s[at] = static_cast<char>(s[at] ^ (1u << (rng() % 8)));
        break;
      case 1:
        s.insert(at, kTokens[rng() % std::size(kTokens)]);
        break;
      case 2:
        if (at < s.size()) s.erase(at, 1 + rng() % 16);
        break;
      case 3: {
        const std::string& other = pool[rng() % pool.size()];
        if (!other.empty()) {
          const size_t from = rng() % other.size();
          s.insert(at, other.substr(from, 1 + rng() % 64));
        }
        break;
      }
      default:
        if (!s.empty() && at < s.size()) s.insert(at, 1, s[at]);
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 0;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--mutations" && i + 1 < argc)
      mutations = std::strtol(argv[++i], nullptr, 10);
    else
      paths.emplace_back(a);
  }
  std::vector<std::string> pool;
  for (const auto& f : Inputs(paths)) {
    std::fprintf(stderr, "replay %s\n", f.c_str());
    pool.push_back(vmshare::fuzz::ReadFileOrEmpty(f));
    Run(pool.back());
  }
  if (pool.empty()) {
    std::fprintf(stderr, "no inputs found\n");
    return 1;
  }
  std::mt19937_64 rng(0x766d7368617265);  // fixed: runs are reproducible
  for (long i = 0; i < mutations; ++i) Run(Mutate(pool[i % pool.size()], pool, rng));
  std::fprintf(stderr, "ran %zu inputs and %ld mutations\n", pool.size(), mutations);
  return 0;
}
