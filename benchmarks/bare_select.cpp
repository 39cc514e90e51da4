// Picks the widest bare loops the CPU and OS support.
#include <cpu_features/cpuinfo_x86.h>

#include "bare_loops.h"

namespace bare {

Loops widest_loops() {
  const cpu_features::X86Features f = cpu_features::GetX86Info().features;
  // cpu_features clears avx and avx512f unless XCR0 enables their registers.
  if (f.avx512f) return {"avx512", avx512_stream_pattern, avx512_store_pattern};
  if (f.avx) return {"avx", avx_stream_pattern, avx_store_pattern};
  return {"sse2", sse2_stream_pattern, sse2_store_pattern};
}

}  // namespace bare
