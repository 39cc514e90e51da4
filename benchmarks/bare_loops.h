// Reference loops without template logic: the ceiling ntcopy is measured
// against. Each writes the 64-byte pattern repeated over exactly `bytes` bytes:
// whole lines with the named stores, then the partial last line with plain
// stores. Precondition: dst 64-byte aligned. The streaming loops end with
// SFENCE.
#ifndef NTCOPY_BENCHMARKS_BARE_LOOPS_H
#define NTCOPY_BENCHMARKS_BARE_LOOPS_H

#include <cstddef>

namespace bare {

using PatternLoop = void (*)(unsigned char* dst, std::size_t bytes, const unsigned char* pattern64);

// Each ISA's loops live in their own translation unit compiled for that ISA
// (bare_<isa>.cpp); call them only when the CPU and OS support it.
void avx512_stream_pattern(unsigned char* dst, std::size_t bytes, const unsigned char* pattern64);
void avx512_store_pattern(unsigned char* dst, std::size_t bytes, const unsigned char* pattern64);
void avx_stream_pattern(unsigned char* dst, std::size_t bytes, const unsigned char* pattern64);
void avx_store_pattern(unsigned char* dst, std::size_t bytes, const unsigned char* pattern64);
void sse2_stream_pattern(unsigned char* dst, std::size_t bytes, const unsigned char* pattern64);
void sse2_store_pattern(unsigned char* dst, std::size_t bytes, const unsigned char* pattern64);

// The widest ISA's loops this CPU and OS support (AVX-512F, else AVX, else
// SSE2), decided by cpu_features, which also checks the register state the OS
// enabled (XCR0).
struct Loops {
  const char* isa;
  PatternLoop stream;  // the ceiling
  PatternLoop store;   // the same loop with regular stores
};
Loops widest_loops();

}  // namespace bare

#endif
