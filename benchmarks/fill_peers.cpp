// The fill peers, one instantiation per template size. Compiled for the
// baseline ISA (SSE2), like a distribution's binary.
#include "fill_peers.h"

#include <emmintrin.h>
#include <libpmem.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

namespace peers {
namespace {

constexpr std::array<size_t, 10> kSizes = {8, 24, 56, 64, 72, 80, 96, 100, 128, 4096};

uint64_t load_u64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint32_t load_u32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// MOVNTI as the kernel patch wrote it: one asm statement per store, so the
// compiler keeps each as a fixed-offset store. MOVNTI needs no alignment.
inline void movnti64(unsigned char* p, uint64_t v) {
  asm volatile("movnti %1, %0" : "=m"(*reinterpret_cast<uint64_t*>(p)) : "r"(v));
}
inline void movnti32(unsigned char* p, uint32_t v) {
  asm volatile("movnti %1, %0" : "=m"(*reinterpret_cast<uint32_t*>(p)) : "r"(v));
}

template <size_t N>
void plain_loop(unsigned char* dst, const unsigned char* tmpl, size_t, size_t count) {
  for (size_t e = 0; e < count; ++e) {
    unsigned char* d = dst + e * N;
    for (size_t w = 0; w < N / 8; ++w) {
      const uint64_t v = load_u64(tmpl + 8 * w);
      std::memcpy(d + 8 * w, &v, 8);
    }
    for (size_t b = N / 8 * 8; b < N; ++b) d[b] = tmpl[b];
  }
}

void memcpy_each(unsigned char* dst, const unsigned char* tmpl, size_t size, size_t count) {
  for (size_t e = 0; e < count; ++e) std::memcpy(dst + e * size, tmpl, size);
}

template <size_t N>
struct Blob {
  unsigned char bytes[N];
};

template <size_t N>
void fill_n(unsigned char* dst, const unsigned char* tmpl, size_t, size_t count) {
  Blob<N> value;
  std::memcpy(&value, tmpl, N);
  std::fill_n(reinterpret_cast<Blob<N>*>(dst), count, value);
}

template <size_t N>
void movnti_open_coded(unsigned char* dst, const unsigned char* tmpl, size_t, size_t count) {
  static_assert(N % 4 == 0, "MOVNTI stores 4 or 8 bytes");
  for (size_t e = 0; e < count; ++e) {
    unsigned char* d = dst + e * N;
    for (size_t w = 0; w < N / 8; ++w) movnti64(d + 8 * w, load_u64(tmpl + 8 * w));
    if constexpr (N % 8 != 0) movnti32(d + N / 8 * 8, load_u32(tmpl + N / 8 * 8));
  }
  _mm_sfence();
}

void libpmem_each(unsigned char* dst, const unsigned char* tmpl, size_t size, size_t count) {
  for (size_t e = 0; e < count; ++e)
    pmem_memcpy(dst + e * size, tmpl, size, PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_NODRAIN);
  pmem_drain();
}

template <size_t N>
constexpr std::array<NamedFill, 5> fills_of_size() {
  return {{{"plain_loop", plain_loop<N>},
           {"memcpy_each", memcpy_each},
           {"fill_n", fill_n<N>},
           {"movnti_oc", movnti_open_coded<N>},
           {"libpmem", libpmem_each}}};
}

template <size_t... I>
constexpr std::array<std::array<NamedFill, 5>, sizeof...(I)> all_fills(std::index_sequence<I...>) {
  return {fills_of_size<kSizes[I]>()...};
}

constexpr auto kFills = all_fills(std::make_index_sequence<kSizes.size()>());

}  // namespace

std::span<const size_t> template_sizes() { return kSizes; }

std::span<const NamedFill> fills_for(size_t size) {
  for (size_t i = 0; i < kSizes.size(); ++i)
    if (kSizes[i] == size) return kFills[i];
  return {};
}

}  // namespace peers
