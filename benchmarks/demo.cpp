// ntcopy-demo: fills 1.6 GiB (the memmap of a 100 GB namespace: 26,214,400
// 64-byte page descriptors) from one template with each kernel family this CPU
// supports, and prints time and bandwidth for each, median of a few runs.
#include <ntcopy/ntcopy.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.h"

int main(int argc, char** argv) {
  const size_t kPages = 26214400, kSize = 64;
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const char* names[8];
  const size_t families = std::min<size_t>(ntc_kernels(names, 8), 8);
  const std::string selected = ntc_kernel();

  bench::Buffer dst(kPages * kSize);
  auto tmpl = bench::nonzero_bytes(kSize, 42);
  std::printf("ntcopy-demo: %zu x %zu-byte templates = %s, %d runs each, median\n", kPages, kSize,
              bench::human_bytes(kPages * kSize).c_str(), runs);
  std::printf("%-8s %10s %10s\n", "kernel", "ms", "GB/s");
  int failures = 0;
  for (size_t k = 0; k < families; ++k) {
    ntc_use_kernel(names[k]);
    std::vector<double> t;
    for (int r = 0; r < runs; ++r) {
      double t0 = bench::now_seconds();
      ntc_fill(dst.data(), tmpl.data(), kSize, kPages, 0);
      t.push_back(bench::now_seconds() - t0);
    }
    const bool ok = bench::holds_copies(dst.data(), tmpl.data(), kSize, kPages);
    failures += !ok;
    const double s = bench::median(t);
    std::printf("%-8s %10.1f %10.2f%s%s\n", names[k], s * 1e3, kPages * kSize / s / 1e9,
                selected == names[k] ? "  <- selected" : "", ok ? "" : "  WRONG RESULT");
  }
  ntc_use_kernel("auto");
  std::printf("selected: %s (streaming at or above %zu bytes)\n", selected.c_str(),
              ntc_nt_threshold());
  return failures ? 1 : 0;
}
