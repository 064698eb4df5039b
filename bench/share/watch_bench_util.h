// Helpers shared by watch_bench.cc (agent on a unix socket) and
// watch_bench_vm.cc (agent in a real guest), so both measure the same trees
// with the same clock and report latency the same way.
#pragma once

#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vmshare::bench {

// CLOCK_MONOTONIC in nanoseconds.
inline int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

inline void Write(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

// Copy-throughput trees: create `dir` with its payload, return the payload's
// size in bytes.
inline uint64_t MakeOneFile256MiB(const std::string& dir) {
  std::filesystem::create_directories(dir);
  Write(dir + "/big", std::string(256u << 20, 'x'));
  return uint64_t{256u << 20};
}

inline uint64_t Make1000Files4KiB(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string data(4096, 'y');
  for (int i = 0; i < 1000; ++i) Write(dir + "/f" + std::to_string(i), data);
  return uint64_t{1000 * 4096};
}

// Sorts `lat_us` and sets counters p50_us and p99_us; nothing if empty.
inline void SetLatencyCounters(benchmark::State& state, std::vector<double>& lat_us) {
  if (lat_us.empty()) return;
  std::sort(lat_us.begin(), lat_us.end());
  state.counters["p50_us"] = lat_us[lat_us.size() / 2];
  state.counters["p99_us"] = lat_us[std::min(lat_us.size() - 1, lat_us.size() * 99 / 100)];
}

}  // namespace vmshare::bench
