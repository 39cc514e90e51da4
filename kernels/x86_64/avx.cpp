// avx: 256-bit VMOVNTDQ streaming stores. Compiled with -mavx; selected only
// when the CPU has AVX and the OS saves YMM state.
#include <immintrin.h>

#include <xsimd/xsimd.hpp>

namespace ntcopy::avx {
using Arch = xsimd::avx;
inline void stream(unsigned char* d, __m256i v) {
  _mm256_stream_si256(reinterpret_cast<__m256i*>(d), v);
}
}  // namespace ntcopy::avx

#define NTCOPY_ISA avx
#include "vector_isa-inl.h"
