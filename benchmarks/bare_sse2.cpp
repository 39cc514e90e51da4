// The hardware ceiling with SSE2 (every x86-64 CPU): four 16-byte stores per
// line from registers holding the pattern.
#include <emmintrin.h>

#include <cstddef>

#include "bare_loops.h"

namespace bare {
namespace {

struct Pattern {
  __m128i q[4];
};

Pattern load_pattern(const unsigned char* pattern64) {
  Pattern p;
  for (int i = 0; i < 4; ++i)
    p.q[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(pattern64 + 16 * i));
  return p;
}

}  // namespace

void sse2_stream_pattern(unsigned char* dst, size_t bytes, const unsigned char* pattern64) {
  const Pattern p = load_pattern(pattern64);
  const size_t body = bytes & ~size_t{63};
  for (size_t off = 0; off < body; off += 64)
    for (int i = 0; i < 4; ++i)
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + off + 16 * i), p.q[i]);
  __builtin_memcpy(dst + body, pattern64, bytes - body);
  _mm_sfence();
}

void sse2_store_pattern(unsigned char* dst, size_t bytes, const unsigned char* pattern64) {
  const Pattern p = load_pattern(pattern64);
  const size_t body = bytes & ~size_t{63};
  for (size_t off = 0; off < body; off += 64)
    for (int i = 0; i < 4; ++i)
      _mm_store_si128(reinterpret_cast<__m128i*>(dst + off + 16 * i), p.q[i]);
  __builtin_memcpy(dst + body, pattern64, bytes - body);
}

}  // namespace bare
