// The hardware ceiling: bare AVX-512 store loops writing a repeating 64-byte
// pattern, no template logic at all. Compiled with -mavx512f; called only when
// the CPU has AVX-512F.
#include <immintrin.h>

#include <cstddef>

#include "bare_loops.h"

namespace bare {

void avx512_stream_pattern(unsigned char* dst, size_t bytes, const unsigned char* pattern64) {
  const __m512i v = _mm512_loadu_si512(pattern64);
  for (size_t off = 0; off < bytes; off += 64)
    _mm512_stream_si512(reinterpret_cast<__m512i*>(dst + off), v);
  _mm_sfence();
}

void avx512_store_pattern(unsigned char* dst, size_t bytes, const unsigned char* pattern64) {
  const __m512i v = _mm512_loadu_si512(pattern64);
  for (size_t off = 0; off < bytes; off += 64)
    _mm512_store_si512(reinterpret_cast<__m512i*>(dst + off), v);
}

}  // namespace bare
