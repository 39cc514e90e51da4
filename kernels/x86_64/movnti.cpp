// movnti: 64-bit MOVNTI streaming stores. SSE2 only, so every x86-64 CPU.
#include <emmintrin.h>

#include <xsimd/xsimd.hpp>

namespace ntcopy::movnti {
using Arch = xsimd::sse2;
// Two MOVNTI of the register's halves (16 bytes at d).
inline void stream(unsigned char* d, __m128i v) {
  _mm_stream_si64(reinterpret_cast<long long*>(d), _mm_cvtsi128_si64(v));
  _mm_stream_si64(reinterpret_cast<long long*>(d + 8), _mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)));
}
}  // namespace ntcopy::movnti

#define NTCOPY_ISA movnti
#include "vector_isa-inl.h"
