#include "cpu.h"

#include <unistd.h>

#if defined(NTCOPY_X86_64)
#include <cpuinfo_x86.h>
#endif

namespace ntcopy {

namespace {
// Largest data or unified cache level that cpu_features reports (0 = none).
// cpu_features 0.7 reads Intel's leaf 4; it reports nothing on AMD, where
// glibc's sysconf (leaf 0x80000006) is the fallback.
std::size_t last_level_cache_bytes() {
  std::size_t bytes = 0;
#if defined(NTCOPY_X86_64)
  int level = 0;
  const cpu_features::CacheInfo info = cpu_features::GetX86CacheInfo();
  for (int i = 0; i < info.size; ++i) {
    const cpu_features::CacheLevelInfo& c = info.levels[i];
    bool holds_data = c.cache_type == cpu_features::CPU_FEATURE_CACHE_DATA ||
                      c.cache_type == cpu_features::CPU_FEATURE_CACHE_UNIFIED;
    if (holds_data && c.level >= level && c.cache_size > 0) {
      level = c.level;
      bytes = static_cast<std::size_t>(c.cache_size);
    }
  }
#endif
#if defined(_SC_LEVEL3_CACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
  if (bytes == 0) {
    long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l3 > 0)
      bytes = static_cast<std::size_t>(l3);
    else if (l2 > 0)
      bytes = static_cast<std::size_t>(l2);
  }
#endif
  return bytes;
}
}  // namespace

CpuFeatures probe_cpu() {
  CpuFeatures cpu;
#if defined(NTCOPY_X86_64)
  const cpu_features::X86Features f = cpu_features::GetX86Info().features;
  cpu.x86_64 = true;
  cpu.sse2 = f.sse2;
  cpu.avx = f.avx;          // cpu_features clears it unless XCR0 enables YMM state
  cpu.avx512f = f.avx512f;  // ... and this unless XCR0 enables ZMM state
#endif
  cpu.llc_bytes = last_level_cache_bytes();
  return cpu;
}

}  // namespace ntcopy
