// The hardware ceiling with AVX: two 32-byte stores per line from registers
// holding the pattern. Compiled with -mavx; nothing here may be an inline
// function shared with other translation units.
#include <immintrin.h>

#include <cstddef>

#include "bare_loops.h"

namespace bare {

void avx_stream_pattern(unsigned char* dst, size_t bytes, const unsigned char* pattern64) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pattern64));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pattern64 + 32));
  const size_t body = bytes & ~size_t{63};
  for (size_t off = 0; off < body; off += 64) {
    _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + off), lo);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + off + 32), hi);
  }
  __builtin_memcpy(dst + body, pattern64, bytes - body);
  _mm_sfence();
}

void avx_store_pattern(unsigned char* dst, size_t bytes, const unsigned char* pattern64) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pattern64));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pattern64 + 32));
  const size_t body = bytes & ~size_t{63};
  for (size_t off = 0; off < body; off += 64) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst + off), lo);
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst + off + 32), hi);
  }
  __builtin_memcpy(dst + body, pattern64, bytes - body);
}

}  // namespace bare
