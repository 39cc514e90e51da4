// avx512: 512-bit VMOVNTDQ streaming stores, one per cache line. Compiled with
// -mavx512f; selected only when the CPU has AVX-512F and the OS saves ZMM state.
#include <immintrin.h>

#include <xsimd/xsimd.hpp>

namespace ntcopy::avx512 {
using Arch = xsimd::avx512f;
inline void stream(unsigned char* d, __m512i v) {
  _mm512_stream_si512(reinterpret_cast<__m512i*>(d), v);
}
}  // namespace ntcopy::avx512

#define NTCOPY_ISA avx512
#include "vector_isa-inl.h"
