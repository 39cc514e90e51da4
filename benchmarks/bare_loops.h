// Reference loops without template logic: the ceiling ntcopy is measured
// against. Preconditions: dst 64-byte aligned, bytes a multiple of 64.
#ifndef NTCOPY_BENCHMARKS_BARE_LOOPS_H
#define NTCOPY_BENCHMARKS_BARE_LOOPS_H

#include <cstddef>

namespace bare {
void avx512_stream_pattern(unsigned char* dst, std::size_t bytes, const unsigned char* pattern64);
void avx512_store_pattern(unsigned char* dst, std::size_t bytes, const unsigned char* pattern64);
}  // namespace bare

#endif
