// The Isa of an x86-64 vector family (kernel-inl.h lists what an Isa is), built from what its unit
// defines first in namespace ntcopy::NTCOPY_ISA:
//   Arch                          the xsimd architecture tag (xsimd::avx512f, ...)
//   stream(d, v)                  the family's streaming store of one register
//                                 (d aligned to the register's width)
// then the shared algorithm. No include guard: one copy per family namespace.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <xsimd/xsimd.hpp>

namespace ntcopy::NTCOPY_ISA {
struct Isa {
  using Batch = xsimd::batch<std::uint64_t, Arch>;
  static constexpr std::size_t kBlock = sizeof(typename Batch::register_type);
  static constexpr bool kStreams = true;
  static Batch load(const unsigned char* s) {
    return Batch::load_unaligned(reinterpret_cast<const std::uint64_t*>(s));
  }
  static void store_block(unsigned char* d, const unsigned char* s) {
    load(s).store_aligned(reinterpret_cast<std::uint64_t*>(d));
  }
  static void stream_block(unsigned char* d, const unsigned char* s) { stream(d, load(s)); }
  // SFENCE: streaming stores are weakly ordered; this orders them before any
  // later store of this thread.
  static void drain() { _mm_sfence(); }
};
}  // namespace ntcopy::NTCOPY_ISA

#include "../kernel-inl.h"
