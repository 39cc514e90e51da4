// The hardware ceiling with AVX-512F: one 64-byte store per line from a
// register holding the pattern. Compiled with -mavx512f; nothing here may be
// an inline function shared with other translation units.
#include <immintrin.h>

#include <cstddef>

#include "bare_loops.h"

namespace bare {

void avx512_stream_pattern(unsigned char* dst, size_t bytes, const unsigned char* pattern64) {
  const __m512i v = _mm512_loadu_si512(pattern64);
  const size_t body = bytes & ~size_t{63};
  for (size_t off = 0; off < body; off += 64)
    _mm512_stream_si512(reinterpret_cast<__m512i*>(dst + off), v);
  __builtin_memcpy(dst + body, pattern64, bytes - body);
  _mm_sfence();
}

void avx512_store_pattern(unsigned char* dst, size_t bytes, const unsigned char* pattern64) {
  const __m512i v = _mm512_loadu_si512(pattern64);
  const size_t body = bytes & ~size_t{63};
  for (size_t off = 0; off < body; off += 64)
    _mm512_store_si512(reinterpret_cast<__m512i*>(dst + off), v);
  __builtin_memcpy(dst + body, pattern64, bytes - body);
}

}  // namespace bare
