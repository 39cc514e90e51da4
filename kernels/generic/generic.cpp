// generic: plain stores through memcpy. The only family on targets other than
// x86-64, and what every other family degrades to.
#include <atomic>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif
#include <cstddef>
#include <cstring>

namespace ntcopy::generic {
struct Isa {
  static constexpr std::size_t kBlock = 16;  // SSE2-sized vectors where the target has them
  static constexpr bool kStreams = false;
  static void store_block(unsigned char* d, const unsigned char* s) { std::memcpy(d, s, kBlock); }
  static void stream_block(unsigned char* d, const unsigned char* s) { std::memcpy(d, s, kBlock); }
  // ntc_drain() may follow streaming stores that another family made before
  // the active family changed, so on x86-64 this is SFENCE too. Elsewhere plain
  // stores are ordered before later ones by a release fence.
  static void drain() {
#if defined(__x86_64__)
    _mm_sfence();
#else
    std::atomic_thread_fence(std::memory_order_release);
#endif
  }
};
}  // namespace ntcopy::generic

#define NTCOPY_ISA generic
#include "../kernel-inl.h"
