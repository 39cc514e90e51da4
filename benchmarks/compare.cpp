// ntcopy-compare: ntcopy side by side with the bare loops and glibc, in one
// run, interleaved, medians. Every variant is verified once after timing.
//
//   ntcopy-compare [fill-big|fill-cache|fill-short|copy|crossover|all] [--reps N]
#include <ntcopy/ntcopy.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bare_loops.h"
#include "bench_util.h"

namespace {

using bench::Buffer;
using bench::median;
using bench::now_seconds;

int g_reps = 7;
int g_failures = 0;

bool has_kernel(const char* name) {
  const char* names[8];
  size_t n = ntc_kernels(names, 8);
  for (size_t i = 0; i < n && i < 8; ++i)
    if (std::strcmp(names[i], name) == 0) return true;
  return false;
}

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("VERIFY FAILED: %s\n", what.c_str());
    ++g_failures;
  }
}

// Times each variant g_reps times, interleaved (A B A B ...), each sample
// running its body `inner` times. med[i] is variant i's median seconds per
// call; pair[i] the median over reps of (variant i's time / the last
// variant's time in the same rep), which cancels most of a shared machine's
// drift.
struct Timings {
  std::vector<double> med, pair;
};
Timings interleaved(const std::vector<std::function<void()>>& variants, int inner) {
  std::vector<std::vector<double>> samples(variants.size());
  for (auto& v : variants) v();  // warm-up
  for (int r = 0; r < g_reps; ++r)
    for (size_t i = 0; i < variants.size(); ++i) {
      double t0 = now_seconds();
      for (int k = 0; k < inner; ++k) variants[i]();
      samples[i].push_back((now_seconds() - t0) / inner);
    }
  Timings t;
  for (size_t i = 0; i < variants.size(); ++i) {
    t.med.push_back(median(samples[i]));
    std::vector<double> ratio;
    for (int r = 0; r < g_reps; ++r) ratio.push_back(samples[i][r] / samples.back()[r]);
    t.pair.push_back(median(ratio));
  }
  return t;
}

double gbps(size_t bytes, double seconds) { return static_cast<double>(bytes) / seconds / 1e9; }

using BareLoop = void (*)(unsigned char* dst, size_t bytes, const unsigned char* pattern64);

struct FillRow {
  double ntcopy_gbps, bare_gbps, ratio;
};

// ntc_fill (flags 0) of `total` bytes of size-byte templates against a bare
// loop writing at least the same bytes, interleaved; both verified afterwards.
FillRow fill_vs_bare(const Buffer& dst, size_t size, size_t total, int inner, BareLoop bare) {
  auto tmpl = bench::nonzero_bytes(size, size);
  auto pattern = bench::nonzero_bytes(64, 64 + size);
  const size_t count = total / size, bytes = count * size, bare_bytes = (bytes + 63) & ~size_t{63};
  auto t = interleaved({[&] { ntc_fill(dst.data(), tmpl.data(), size, count, 0); },
                        [&] { bare(dst.data(), bare_bytes, pattern.data()); }},
                       inner);
  check(bench::holds_pattern(dst.data(), pattern.data(), bare_bytes), "bare loop");
  ntc_fill(dst.data(), tmpl.data(), size, count, 0);
  check(bench::holds_copies(dst.data(), tmpl.data(), size, count),
        "ntc_fill size " + std::to_string(size) + " total " + std::to_string(total));
  return {gbps(bytes, t.med[0]), gbps(bare_bytes, t.med[1]),
          static_cast<double>(bytes) / bare_bytes / t.pair[0]};
}

void fill_big() {
  const size_t kTotal = size_t{26214400} * 64;  // 1.6 GiB: the seed's memmap
  std::printf("\n## Fill of 1.6 GiB, ntc_fill (auto: %s, flags 0) vs bare AVX-512 streaming loop\n",
              ntc_kernel());
  std::printf("%-9s %12s %12s %8s\n", "template", "ntcopy GB/s", "bare GB/s", "ratio");
  Buffer dst(kTotal + 4096);
  for (size_t size : {56, 64, 72, 96, 100, 4096}) {
    const FillRow r = fill_vs_bare(dst, size, kTotal, 1, bare::avx512_stream_pattern);
    std::printf("%-9zu %12.2f %12.2f %8.3f\n", size, r.ntcopy_gbps, r.bare_gbps, r.ratio);
  }
}

void fill_cache() {
  std::printf(
      "\n## In-cache fill, ntc_fill (auto: %s, flags 0) vs bare AVX-512 regular-store loop\n",
      ntc_kernel());
  std::printf("%-9s %-9s %12s %12s %8s\n", "template", "total", "ntcopy GB/s", "bare GB/s",
              "ratio");
  for (size_t total : {size_t{64} << 10, size_t{256} << 10, size_t{1} << 20, size_t{4} << 20}) {
    Buffer dst(total + 4096);
    const int inner = static_cast<int>(std::max<size_t>(1, (size_t{256} << 20) / total));
    for (size_t size : {64, 56, 100}) {
      const FillRow r = fill_vs_bare(dst, size, total, inner, bare::avx512_store_pattern);
      std::printf("%-9zu %-9s %12.2f %12.2f %8.3f\n", size, bench::human_bytes(total).c_str(),
                  r.ntcopy_gbps, r.bare_gbps, r.ratio);
    }
  }
}

// Short fills, against what a program writes instead for the same bytes:
// memset for a 1-byte template, std::fill_n over a value of the template's
// size for the others. Each op is one
// out-of-line call, and one loop (bench::time_calls) times them all, so they
// differ only in the function called: at these sizes a loop per op moves the
// ratio more than the ops differ.
struct ShortFill {
  unsigned char* dst;
  const unsigned char* tmpl;
  size_t size, count;
};
using ShortFillFn = int (*)(const ShortFill&);

[[gnu::noinline]] int short_ntc_fill(const ShortFill& j) {
  return ntc_fill(j.dst, j.tmpl, j.size, j.count, 0);
}
[[gnu::noinline]] int short_memset(const ShortFill& j) {
  std::memset(j.dst, j.tmpl[0], j.count);
  return 0;
}
template <size_t N>
struct Value {
  unsigned char bytes[N];
};
template <size_t N>
[[gnu::noinline]] int short_fill_n(const ShortFill& j) {
  Value<N> v;
  std::memcpy(&v, j.tmpl, N);
  std::fill_n(reinterpret_cast<Value<N>*>(j.dst), j.count, v);
  return 0;
}

void fill_short() {
  std::printf("\n## Short fills, ntc_fill (auto: %s, flags 0) vs memset (1-byte template) or "
              "std::fill_n\n",
              ntc_kernel());
  std::printf("%-9s %-9s %12s %12s %8s\n", "template", "total", "ntcopy ns", "peer ns", "ratio");
  struct Peer {
    size_t size;
    ShortFillFn fn;
  };
  // 3 and 12 bytes: an RGB pixel and three floats, sizes that do not tile a vector.
  const Peer peers[] = {{1, short_memset},       {3, short_fill_n<3>},   {8, short_fill_n<8>},
                        {12, short_fill_n<12>}, {16, short_fill_n<16>}, {64, short_fill_n<64>}};
  Buffer dst(4096 + 4096);
  for (size_t total : {64, 256, 1024, 4096})
    for (const Peer& p : peers) {
      const auto tmpl = bench::nonzero_bytes(p.size, total + p.size);
      const ShortFill job{dst.data(), tmpl.data(), p.size, total / p.size};
      const size_t calls = std::max<size_t>(1, (size_t{4} << 20) / total);
      std::vector<double> ours, theirs, ratio;
      for (int r = 0; r < g_reps; ++r) {
        const double a = bench::time_calls(short_ntc_fill, job, calls);
        const double b = bench::time_calls(p.fn, job, calls);
        ours.push_back(a / calls);
        theirs.push_back(b / calls);
        ratio.push_back(b / a);
      }
      p.fn(job);
      check(bench::holds_copies(job.dst, job.tmpl, p.size, job.count),
            "peer for size " + std::to_string(p.size));
      short_ntc_fill(job);
      check(bench::holds_copies(job.dst, job.tmpl, p.size, job.count),
            "ntc_fill size " + std::to_string(p.size) + " total " + std::to_string(total));
      std::printf("%-9zu %-9s %12.1f %12.1f %8.3f\n", p.size, bench::human_bytes(total).c_str(),
                  median(ours) * 1e9, median(theirs) * 1e9, median(ratio));
    }
}

void copy() {
  std::printf("\n## Copy, ntc_memcpy (auto: %s, flags 0) vs glibc memcpy\n", ntc_kernel());
  std::printf("%-9s %12s %12s %8s\n", "bytes", "ntcopy GB/s", "glibc GB/s", "ratio");
  for (size_t n = 64; n <= (size_t{256} << 20); n *= 4) {
    Buffer src(n + 4096), dst(n + 4096);
    auto data = bench::nonzero_bytes(std::min<size_t>(n, 1 << 20), n);
    for (size_t off = 0; off < n; off += data.size())
      std::memcpy(src.data() + off, data.data(), std::min(data.size(), n - off));
    const int inner = static_cast<int>(std::max<size_t>(1, (size_t{256} << 20) / n));
    auto t = interleaved({[&] { ntc_memcpy(dst.data(), src.data(), n, 0); },
                          [&] { std::memcpy(dst.data(), src.data(), n); }},
                         inner);
    std::memset(dst.data(), 0, n);
    ntc_memcpy(dst.data(), src.data(), n, 0);
    check(std::memcmp(dst.data(), src.data(), n) == 0, "ntc_memcpy " + std::to_string(n));
    std::printf("%-9s %12.2f %12.2f %8.3f\n", bench::human_bytes(n).c_str(), gbps(n, t.med[0]),
                gbps(n, t.med[1]), 1 / t.pair[0]);
  }
}

// Where streaming starts to pay: regular vs streaming stores by total size.
void crossover() {
  std::printf("\n## Crossover (%s): regular vs streaming stores, 64-byte template fill and copy\n",
              ntc_kernel());
  std::printf("%-9s %10s %10s %8s | %10s %10s %8s\n", "total", "fill reg", "fill nt", "nt/reg",
              "copy glibc", "copy nt", "nt/glibc");
  auto tmpl = bench::nonzero_bytes(64, 1);
  for (size_t total = size_t{2} << 20; total <= (size_t{512} << 20); total *= 2) {
    Buffer dst(total + 4096), src(total + 4096);
    std::memset(src.data(), 0x6b, total);
    const int inner = static_cast<int>(std::max<size_t>(1, (size_t{512} << 20) / total));
    auto t =
        interleaved({[&] { ntc_fill(dst.data(), tmpl.data(), 64, total / 64, NTC_F_TEMPORAL); },
                     [&] { ntc_fill(dst.data(), tmpl.data(), 64, total / 64, NTC_F_NONTEMPORAL); },
                     [&] { std::memcpy(dst.data(), src.data(), total); },
                     [&] { ntc_memcpy(dst.data(), src.data(), total, NTC_F_NONTEMPORAL); }},
                    inner);
    std::printf("%-9s %10.2f %10.2f %8.3f | %10.2f %10.2f %8.3f\n",
                bench::human_bytes(total).c_str(), gbps(total, t.med[0]), gbps(total, t.med[1]),
                t.med[0] / t.med[1], gbps(total, t.med[2]), gbps(total, t.med[3]),
                t.med[2] / t.med[3]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "all";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
      g_reps = std::atoi(argv[++i]);
    else
      mode = argv[i];
  }
  if (!has_kernel("avx512")) {
    std::printf("ntcopy-compare: the bare reference loops need AVX-512F, which this CPU lacks\n");
    return 0;
  }
  std::printf("ntcopy-compare: kernel %s, threshold %zu bytes, %d interleaved reps, medians\n",
              ntc_kernel(), ntc_nt_threshold(), g_reps);
  if (mode == "fill-big" || mode == "all") fill_big();
  if (mode == "fill-cache" || mode == "all") fill_cache();
  if (mode == "fill-short" || mode == "all") fill_short();
  if (mode == "copy" || mode == "all") copy();
  if (mode == "crossover" || mode == "all") crossover();
  if (g_failures) std::printf("\n%d verification failures\n", g_failures);
  return g_failures ? 1 : 0;
}
