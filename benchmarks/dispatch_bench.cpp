// Dispatch overhead: one 64-byte fill and one 64-byte copy through ntcopy's
// table (auto) against a memcpy of 64 bytes the compiler inlines.
#include <ntcopy/ntcopy.h>

#include <cstring>

#include "bench_util.h"
#include "suite.h"

namespace suite {
namespace {

constexpr size_t kBytes = 64;

struct alignas(64) Line {
  unsigned char b[kBytes];
};

Line g_src, g_dst;

void bench_ntc_fill(benchmark::State& st) {
  const auto tmpl = bench::nonzero_bytes(kBytes, 5);
  Line* dst = &g_dst;
  for (auto _ : st) {
    benchmark::DoNotOptimize(dst);
    ntc_fill(dst, tmpl.data(), kBytes, 1, 0);
    benchmark::ClobberMemory();
  }
  if (std::memcmp(dst, tmpl.data(), kBytes) != 0) fail(st, "dispatch: ntc_fill of 64 bytes");
}

void bench_ntc_memcpy(benchmark::State& st) {
  const auto data = bench::nonzero_bytes(kBytes, 6);
  std::memcpy(&g_src, data.data(), kBytes);
  Line *dst = &g_dst, *src = &g_src;
  for (auto _ : st) {
    benchmark::DoNotOptimize(dst);
    benchmark::DoNotOptimize(src);
    ntc_memcpy(dst, src, kBytes, 0);
    benchmark::ClobberMemory();
  }
  if (std::memcmp(dst, data.data(), kBytes) != 0) fail(st, "dispatch: ntc_memcpy of 64 bytes");
}

void bench_inline_memcpy(benchmark::State& st) {
  const auto data = bench::nonzero_bytes(kBytes, 7);
  std::memcpy(&g_src, data.data(), kBytes);
  Line *dst = &g_dst, *src = &g_src;
  for (auto _ : st) {
    benchmark::DoNotOptimize(dst);
    benchmark::DoNotOptimize(src);
    std::memcpy(dst, src, kBytes);  // constant size: inlined moves
    benchmark::ClobberMemory();
  }
  if (std::memcmp(dst, data.data(), kBytes) != 0) fail(st, "dispatch: inline memcpy of 64 bytes");
}

}  // namespace

void register_dispatch(const Config& cfg) {
  const struct {
    const char* variant;
    void (*fn)(benchmark::State&);
  } cases[] = {{"ntc_fill", bench_ntc_fill},
               {"ntc_memcpy", bench_ntc_memcpy},
               {"inline_memcpy", bench_inline_memcpy}};
  for (const auto& c : cases) {
    const std::string name = std::string("dispatch/") + c.variant + "/64";
    record(name, {Section::dispatch, c.variant, 0, kBytes, {}});
    benchmark::RegisterBenchmark(name.c_str(), c.fn)->MinTime(cfg.full ? 0.5 : 0.1);
  }
}

}  // namespace suite
