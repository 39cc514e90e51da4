// The one fill/copy algorithm, instantiated once per kernel family.
//
// Included at the end of each family's translation unit (kernels/*/<isa>.cpp),
// which first defines NTCOPY_ISA as the family's name and, in namespace
// ntcopy::NTCOPY_ISA, a struct Isa:
//   kBlock                 bytes per store; divides 64
//   kStreams               whether stream_block is a non-temporal store
//   store_block(d, s)      copy kBlock bytes, regular store; d kBlock-aligned
//   stream_block(d, s)     the same with the family's streaming store
//   drain()                order earlier streaming stores before later stores
// There is deliberately no include guard: every helper below lives in the
// family's own namespace, so code compiled with one ISA's flags is never
// shared with (or picked by the linker for) another family.
//
// The algorithm for a destination range [dst, dst + total):
//   head  bytes up to the first 64-byte boundary      regular stores
//   body  whole 64-byte lines                          the family's stores
//   tail  the last partial line                        regular stores
// A fill's body is copied from a cache-resident periodic source: a pre-rotated
// image of the repeating pattern (so the inner loop is straight loads from L1
// and stores, no per-element work), or for templates larger than the image,
// the template itself. Templates whose copies tile a vector (a power of two up
// to the vector's width; above 16 bytes at a destination not aligned to their
// size, from 256 bytes on) need no source: with regular stores they fill as
// memset does, from registers (fill_tiling_template).

#ifndef NTCOPY_ISA
#error "define NTCOPY_ISA before including kernel-inl.h"
#endif

#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernel_table.h"

namespace ntcopy::NTCOPY_ISA {
namespace {

using u8 = unsigned char;
using std::size_t;

constexpr size_t kLine = 64;
// The largest pattern image (bytes): stays in L1 with room for the stores.
constexpr size_t kImageCap = 8192;
// An image holds up to this many bytes (a sixteenth of the fill at most), so
// each pass over it is a long straight run.
constexpr size_t kMaxImageRun = 4096;
static_assert(kLine % Isa::kBlock == 0);

constexpr size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
constexpr size_t max_size(size_t a, size_t b) { return a > b ? a : b; }
// a % m without the division when a < m, the common case here (a < 64).
inline size_t small_mod(size_t a, size_t m) { return a < m ? a : a % m; }
// lcm(size, 64) for size >= 1: the shortest period of a fill that keeps every
// line aligned. gcd(size, 64) is a power of two, so size / gcd is a shift: a
// 64-bit divide on every call cost 1 to 5 ns of a 4 KiB fill on the
// development machine.
// (__builtin_ctzll rather than std::countr_zero: see eight_bytes_from.)
inline size_t lcm_with_line(size_t size) {
  constexpr int kLineShift = __builtin_ctzll(kLine);
  const int size_shift = __builtin_ctzll(size);
  const int gcd_shift = size_shift < kLineShift ? size_shift : kLineShift;
  return (size >> gcd_shift) * kLine;
}

// N bytes as one GCC vector, unaligned (a class typedef: GCC drops these
// attributes from alias templates).
template <size_t N>
struct Unaligned {
  typedef u8 type __attribute__((vector_size(N), aligned(1), may_alias));
};
// N bytes as one GCC vector at an N-aligned address, or held in a register.
template <size_t N>
struct Aligned {
  typedef u8 type __attribute__((vector_size(N), may_alias));
};

// N bytes as a GCC vector of 64-bit lanes, held in a register.
template <size_t N>
struct Words {
  typedef std::uint64_t type __attribute__((vector_size(N)));
};

// Bytes from p to the next 64-byte boundary (0 when p is on one).
inline size_t bytes_to_line(const u8* p) {
  return static_cast<size_t>(-reinterpret_cast<std::uintptr_t>(p)) & (kLine - 1);
}

// Short copies with this family's vectors, as heads and tails that may
// overlap: every load comes before any store, so overlapping ranges are copied
// as memmove does. GCC vector types rather than xsimd batches, and named
// variables rather than arrays: GCC keeps arrays of either on the stack here.

// K = 1, 2 or 4 vectors of N bytes from each end. Precondition: K*N <= n <= 2*K*N.
template <size_t N, size_t K = 1>
[[gnu::always_inline]] inline void move_head_tail(u8* d, const u8* s, size_t n) {
  using V = typename Unaligned<N>::type;
  static_assert(sizeof(V) == N && (K == 1 || K == 2 || K == 4));
  auto ld = [](const u8* p) { return *reinterpret_cast<const V*>(p); };
  auto st = [](u8* p, V v) { *reinterpret_cast<V*>(p) = v; };
  const u8* e = s + n;  // loads from the end
  u8* f = d + n;        // stores to the end
  const V h0 = ld(s), t0 = ld(e - N);
  if constexpr (K == 1) {
    st(d, h0), st(f - N, t0);
  } else if constexpr (K == 2) {
    const V h1 = ld(s + N), t1 = ld(e - 2 * N);
    st(d, h0), st(d + N, h1), st(f - 2 * N, t1), st(f - N, t0);
  } else {
    const V h1 = ld(s + N), h2 = ld(s + 2 * N), h3 = ld(s + 3 * N);
    const V t1 = ld(e - 2 * N), t2 = ld(e - 3 * N), t3 = ld(e - 4 * N);
    st(d, h0), st(d + N, h1), st(d + 2 * N, h2), st(d + 3 * N, h3);
    st(f - 4 * N, t3), st(f - 3 * N, t2), st(f - 2 * N, t1), st(f - N, t0);
  }
}

// Below one block: halving head-and-tail sizes. Precondition: 1 <= n <= B.
template <size_t B>
inline void move_below_block(u8* d, const u8* s, size_t n) {
  if constexpr (B >= 4) {
    if (n >= B / 2) return move_head_tail<B / 2>(d, s, n);
    return move_below_block<B / 2>(d, s, n);
  } else {
    if (n >= 2) return move_head_tail<2>(d, s, n);
    *d = *s;
  }
}

// Copies longer than this many bytes go to glibc's memmove (tuned per CPU:
// rep movsb, its own non-temporal path); shorter ones stay in this family's
// vectors. 128 vectors is glibc's own default rep_movsb_threshold (2048 bytes
// per 16 of vector width), below which it keeps to vector loops too, unless
// the CPU has FSRM. On the development machine (Zen 5 class VM, FSRM) glibc
// takes rep movsb from about 2 KiB, and the loop below copied 4 KiB 1.6-1.7x
// as fast; from 64 KiB rep movsb was faster.
constexpr size_t kMaxOwnMove = 128 * Isa::kBlock;

// True when a forward copy from s to d would load, again and again, bytes
// whose address matches in its low 12 bits that of a store made shortly
// before: d lies less than half a page past s, modulo 4 KiB. The CPU then
// takes the load for one that may depend on the store and holds it back
// ("4K aliasing"). Copying downward reverses the order: every such store
// comes after the load. On the development machine, streaming 256 MiB forward
// ran at 0.81-0.87 of glibc memcpy with d 1 to 511 bytes past s (mod 4 KiB),
// and at 0.95-1.30 elsewhere; downward ran 10-20% faster there than forward
// in the same rounds.
inline bool forward_loads_trail_stores(const u8* d, const u8* s) {
  constexpr std::uintptr_t kPage = 4096;
  const auto ahead =
      (reinterpret_cast<std::uintptr_t>(d) - reinterpret_cast<std::uintptr_t>(s)) & (kPage - 1);
  return ahead != 0 && ahead < kPage / 2;
}

// More than eight blocks, in steps of four: aligned stores, loads ahead of the
// stores in the direction of the copy, so with overlapping ranges no step
// reads a byte an earlier one wrote: forward when d is below s, backward when
// above. Ranges that do not overlap go backward where forward loads would
// wait on 4K aliasing: 2 KiB copies with d 1 or 33 bytes past s ran at
// 0.85-0.97 of glibc memcpy forward, 0.96-1.01 backward, on the development
// machine. The ends are loaded before the loop and stored after it, whole and
// unaligned. Precondition: 8 * B < n.
inline void move_in_steps(u8* d, const u8* s, size_t n) {
  constexpr size_t B = Isa::kBlock;
  using V = typename Unaligned<B>::type;
  using A = typename Aligned<B>::type;
  auto ld = [](const u8* p) { return *reinterpret_cast<const V*>(p); };
  auto st = [](u8* p, V v) { *reinterpret_cast<V*>(p) = v; };
  auto st_aligned = [](u8* p, V v) { *reinterpret_cast<A*>(p) = v; };
  const auto distance = reinterpret_cast<std::uintptr_t>(d) - reinterpret_cast<std::uintptr_t>(s);
  // Forward unless d is above s and overlapping, or the ranges are apart
  // (no overlap either way) and forward loads would alias.
  const bool apart = distance >= n && -distance >= n;
  if (apart ? !forward_loads_trail_stores(d, s) : distance >= n) {
    const V first = ld(s);
    const V t0 = ld(s + n - B), t1 = ld(s + n - 2 * B), t2 = ld(s + n - 3 * B),
            t3 = ld(s + n - 4 * B);
    // From the first block boundary past d: at most B bytes in, 7 * B before the end.
    const size_t skip = B - (reinterpret_cast<std::uintptr_t>(d) & (B - 1));
    u8* to = d + skip;
    const u8* from = s + skip;
    for (u8* const stop = d + n - 4 * B; to < stop; to += 4 * B, from += 4 * B) {
      const V a = ld(from), b = ld(from + B), c = ld(from + 2 * B), e = ld(from + 3 * B);
      st_aligned(to, a), st_aligned(to + B, b), st_aligned(to + 2 * B, c),
          st_aligned(to + 3 * B, e);
    }
    u8* const end = d + n;
    st(end - 4 * B, t3), st(end - 3 * B, t2), st(end - 2 * B, t1), st(end - B, t0);
    st(d, first);
  } else {
    const V last = ld(s + n - B);
    const V h0 = ld(s), h1 = ld(s + B), h2 = ld(s + 2 * B), h3 = ld(s + 3 * B);
    // Down from the last block boundary at or before d + n.
    const size_t skip = reinterpret_cast<std::uintptr_t>(d + n) & (B - 1);
    u8* to = d + n - skip;
    const u8* from = s + n - skip;
    for (u8* const stop = d + 4 * B; to > stop; to -= 4 * B, from -= 4 * B) {
      const V a = ld(from - B), b = ld(from - 2 * B), c = ld(from - 3 * B),
              e = ld(from - 4 * B);
      st_aligned(to - B, a), st_aligned(to - 2 * B, b), st_aligned(to - 3 * B, c),
          st_aligned(to - 4 * B, e);
    }
    st(d, h0), st(d + B, h1), st(d + 2 * B, h2), st(d + 3 * B, h3);
    st(d + n - B, last);
  }
}

// memmove with regular stores: up to kMaxOwnMove bytes with this family's
// vectors, longer copies through glibc's memmove. Used for every short copy
// inside the kernels too, where GCC would otherwise expand a bounded memcpy
// into a slow rep movsq. Always inlined: left to itself GCC made it a call in
// memcpy_entry and in write_pattern's loop. The 64 to 128 byte class is marked
// likely so that it stays on memcpy_entry's fall-through path (when GCC moved
// it behind a taken jump, 64-byte copies ran at 0.88 of glibc memcpy).
// Returns d, from memmove where that is called, so that a caller returning
// it makes memmove a tail call.
[[gnu::always_inline]] inline void* move_bytes(u8* d, const u8* s, size_t n) {
  constexpr size_t B = Isa::kBlock;
  if (n < B) {
    if (n != 0) move_below_block<B>(d, s, n);
  } else if (n <= 2 * B) [[likely]] {
    move_head_tail<B, 1>(d, s, n);
  } else if (n <= 4 * B) {
    move_head_tail<B, 2>(d, s, n);
  } else if (n <= 8 * B) {
    move_head_tail<B, 4>(d, s, n);
  } else if (n <= kMaxOwnMove) {
    move_in_steps(d, s, n);
  } else {
    return std::memmove(d, s, n);
  }
  return d;
}

// Copies one line. Precondition: d is 64-byte aligned.
template <Stores S>
[[gnu::always_inline]] inline void copy_line(u8* d, const u8* s) {
  for (size_t k = 0; k < kLine; k += Isa::kBlock) {
    if constexpr (S == Stores::streaming)
      Isa::stream_block(d + k, s + k);
    else
      Isa::store_block(d + k, s + k);
  }
}

// Whether copy_lines prefetches its source: only for a source in memory (a
// streaming copy's), not for a pattern image already in L1.
enum class Prefetch { no, ahead };

// How far ahead a streaming copy prefetches its source (non-temporal hint),
// in bytes: on the development machine 256 MiB copies gained 3-5% over the
// hardware prefetchers alone, whether 2 or 4 KiB ahead. A prefetch never
// faults, so it may run past the source's end.
constexpr std::ptrdiff_t kPrefetchAhead = 32 * kLine;

template <Prefetch P>
[[gnu::always_inline]] inline void prefetch_source(const u8* s, std::ptrdiff_t ahead) {
  // Integer arithmetic: the address may lie outside the source object.
  if constexpr (P == Prefetch::ahead)
    __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(s) + ahead),
                       0, 0);
}

// Copies whole lines. Precondition: d is 64-byte aligned, n a multiple of 64.
template <Stores S, Prefetch P = Prefetch::no>
inline void copy_lines(u8* d, const u8* s, size_t n) {
#pragma GCC unroll 4
  for (; n != 0; n -= kLine, d += kLine, s += kLine) {
    prefetch_source<P>(s, kPrefetchAhead);
    copy_line<S>(d, s);
  }
}

// As copy_lines, from the last line down.
template <Stores S, Prefetch P = Prefetch::no>
inline void copy_lines_down(u8* d, const u8* s, size_t n) {
#pragma GCC unroll 4
  for (; n != 0; n -= kLine) {
    prefetch_source<P>(s + n - kLine, -kPrefetchAhead);
    copy_line<S>(d + n - kLine, s + n - kLine);
  }
}

// The 8 bytes that start `q` bytes into the 16 that a and then b hold in
// memory (0 <= q < 8). Byte k of an integer lies k bytes up in memory on a
// little-endian target, and 7 - k bytes up on a big-endian one. Written out
// rather than with std::rotr (or std::bit_cast, in pattern_vector): an
// unoptimised build emits those templates as weak functions in every family's
// object, and the linker may keep the copy compiled for the widest ISA.
inline std::uint64_t eight_bytes_from(std::uint64_t a, std::uint64_t b, size_t q) {
  if (q == 0) return a;
  const unsigned bits = static_cast<unsigned>(8 * q);
  if constexpr (std::endian::native == std::endian::little)
    return (a >> bits) | (b << (64 - bits));
  else
    return (a << bits) | (b >> (64 - bits));
}

// ---- Templates shorter than 16 bytes: 2 to 15. The pattern is built in
// registers from the template's bytes and stored from there: nothing loads
// what was just stored. (Doubling what was written, each copy loading what
// the last one stored, made 1 KiB fills of 3 to 15-byte templates 7 to 11
// times slower than the bare store loop on the development machine: such a
// load waits for every store before it to reach L1.) The words below hold
// 8 pattern bytes in memory order, as memcpy gives them, for any byte order.

// 16 % size and 8 % size for each size up to 15: a load rather than a
// division on every short fill.
struct ModSize {
  u8 of16, of8;
};
constexpr auto kModSize = [] {
  struct Table {
    ModSize r[16];
  } t{};
  for (size_t size = 1; size < 16; ++size)
    t.r[size] = {static_cast<u8>(16 % size), static_cast<u8>(8 % size)};
  return t;
}();

// The template's bytes as an integer whose byte k (bits 8k to 8k + 7) is
// template byte k, zero above size. Two loads of the widest power of two up to
// size, one from each end, so that nothing past the template is read; where
// they overlap they hold the same bytes. Precondition: 2 <= size < 8.
// (__builtin_bswap*, not std::byteswap: see eight_bytes_from.)
inline std::uint64_t template_value(const u8* t, size_t size) {
  auto load = [t, size]<class U>(U, auto bswap) -> std::uint64_t {
    U head, tail;
    std::memcpy(&head, t, sizeof(U));
    std::memcpy(&tail, t + size - sizeof(U), sizeof(U));
    if constexpr (std::endian::native == std::endian::big) head = bswap(head), tail = bswap(tail);
    return std::uint64_t{head} | std::uint64_t{tail} << 8 * (size - sizeof(U));
  };
  if (size >= 4) return load(std::uint32_t{}, [](std::uint32_t x) { return __builtin_bswap32(x); });
  return load(std::uint16_t{}, [](std::uint16_t x) { return __builtin_bswap16(x); });
}

// An integer from template_value's byte numbering to memory order.
inline std::uint64_t in_memory_order(std::uint64_t x) {
  if constexpr (std::endian::native == std::endian::big) return __builtin_bswap64(x);
  return x;
}

// For each size below 8, the integer with a 1 in every byte k * size below 8:
// x * kRepeat[size] repeats the low size bytes of x through 8 bytes.
constexpr auto kRepeat = [] {
  struct Table {
    std::uint64_t r[8];
  } t{};
  for (size_t size = 1; size < 8; ++size)
    for (size_t k = 0; k < 8; k += size) t.r[size] |= std::uint64_t{1} << 8 * k;
  return t;
}();

// The pattern of a template of 2 to 15 bytes (no other size: the tables stop
// at 15, and template_value reads 2 bytes at least): its bytes 0 to 23 in three
// words, enough for 8 bytes from any phase.
struct ShortPattern {
  std::uint64_t w0, w1, w2;
  size_t size;
  ModSize mod;

  ShortPattern(const u8* t, size_t n) : size(n), mod(kModSize.r[n]) {
    if (n < 8) {
      // Bytes 8 to 15 are the pattern from byte 8 mod size: the template
      // rotated by that many bytes, repeated.
      const std::uint64_t x = template_value(t, n);
      const unsigned r = mod.of8, s = static_cast<unsigned>(n);
      const std::uint64_t low_bytes = (std::uint64_t{1} << 8 * s) - 1;
      const std::uint64_t rotated = ((x >> 8 * r) | (x << 8 * (s - r))) & low_bytes;
      w0 = in_memory_order(x * kRepeat.r[n]);
      w1 = in_memory_order(rotated * kRepeat.r[n]);
    } else {
      // Bytes 8 to size - 1 of the template, then its bytes from 0 again: the
      // 8 bytes 16 - size into its last 8 and then its first 8.
      std::memcpy(&w0, t, 8);
      std::uint64_t last;
      std::memcpy(&last, t + n - 8, 8);
      w1 = n == 8 ? w0 : eight_bytes_from(last, w0, 16 - n);
    }
    // Bytes 16 to 23 repeat those 16 - 16 % size bytes before them.
    w2 = eight_bytes_from(w0, w1, mod.of16);
  }
  // The 8 bytes from byte `phase` of the template. Precondition: phase < size.
  std::uint64_t word(size_t phase) const {
    return phase < 8 ? eight_bytes_from(w0, w1, phase) : eight_bytes_from(w1, w2, phase - 8);
  }
  // The phase 8 bytes on from `phase`.
  size_t after_word(size_t phase) const {
    phase += mod.of8;
    return phase >= size ? phase - size : phase;
  }
  // n % size for n = 16 * 2^k, without a division.
  size_t mod_of(size_t n) const {
    size_t r = mod.of16;
    for (size_t m = 16; m < n; m *= 2) r = 2 * r >= size ? 2 * r - size : 2 * r;
    return r;
  }
};

// a then b. (I... = 0 .. 2N/8 - 1.)
template <size_t N, size_t... I>
[[gnu::always_inline]] inline typename Words<2 * N>::type joined(typename Words<N>::type a,
                                                                 typename Words<N>::type b,
                                                                 std::index_sequence<I...>) {
  return __builtin_shufflevector(a, b, I...);
}

// The W bytes of the pattern from byte `phase` of the template, which moves on
// by W bytes. Precondition: W >= 16, phase < size.
template <size_t W>
inline typename Words<W>::type pattern_words(const ShortPattern& p, size_t& phase) {
  if constexpr (W == 16) {
    const std::uint64_t first = p.word(phase);
    phase = p.after_word(phase);
    const std::uint64_t second = p.word(phase);
    phase = p.after_word(phase);
    return typename Words<16>::type{first, second};
  } else {
    const auto a = pattern_words<W / 2>(p, phase);
    const auto b = pattern_words<W / 2>(p, phase);  // after a: phase has moved on
    return joined<W / 2>(a, b, std::make_index_sequence<W / 8>{});
  }
}

// Stores the first n bytes of the 16 that `first` then `second` hold in
// memory order, 1 <= n <= 16: a store from each end, of the widest power of
// two up to n.
inline void store_first_bytes(u8* d, std::uint64_t first, std::uint64_t second, size_t n) {
  if (n == 16) {
    std::memcpy(d, &first, 8);
    std::memcpy(d + 8, &second, 8);
    return;
  }
  // 8 bytes from each end, so the last 8 start n - 8 (< 8) bytes in; the
  // same below, with the first 4 or 2 of 8 bytes.
  auto store_ends = [d, n, first, second](size_t k) {
    const std::uint64_t last = eight_bytes_from(first, second, n - k);
    std::memcpy(d, &first, k);
    std::memcpy(d + n - k, &last, k);
  };
  if (n >= 8)
    store_ends(8);
  else if (n >= 4)
    store_ends(4);
  else if (n >= 2)
    store_ends(2);
  else
    std::memcpy(d, &first, 1);
}

// The first N / 2 bytes of v.
template <size_t N, size_t... I>
[[gnu::always_inline]] inline typename Words<N / 2>::type low_half(typename Words<N>::type v,
                                                                  std::index_sequence<I...>) {
  return __builtin_shufflevector(v, v, I...);
}

// Writes len bytes of the pattern, v holding its first N bytes from d's phase:
// while more than N bytes are left, a store of v, each a whole number of
// periods (N - N % size bytes) past the last, so at the same phase; then the
// same with the first half of v, down to 16 bytes or fewer.
template <size_t N>
inline void store_short_pattern(u8* d, size_t len, typename Words<N>::type v,
                                const ShortPattern& p) {
  const size_t step = N - p.mod_of(N);
  for (; len > N; len -= step, d += step) std::memcpy(d, &v, N);
  if constexpr (N > 16)
    store_short_pattern<N / 2>(d, len, low_half<N>(v, std::make_index_sequence<N / 16>{}), p);
  else
    store_first_bytes(d, v[0], v[1], len);
}

// write_pattern for templates of 2 to 15 bytes, len >= 1. Each doubling of
// the vector costs 2 to 4.5 ns to build on the development machine, so the
// widest is 32 bytes, and up to 128 bytes 16: 3 and 13-byte templates took
// 5-9 ns for 60 to 120 bytes with 16, 7-9 ns with 32 and 12 ns with 64; for
// 1000 bytes, 29 ns with 16 and 16-17 ns with either wider one.
inline void write_short_pattern(u8* d, const u8* t, size_t size, size_t phase, size_t len) {
  const ShortPattern p(t, size);
  constexpr size_t W = Isa::kBlock < 32 ? Isa::kBlock : 32;
  if (len <= 128 || W == 16) {
    store_short_pattern<16>(d, len, pattern_words<16>(p, phase), p);
    return;
  }
  store_short_pattern<W>(d, len, pattern_words<W>(p, phase), p);
}

// A run of the pattern from phase 0, long enough for a block from any phase
// and for under 64 bytes from any phase (fill_head_body_tail's tail).
constexpr size_t kShortRun = 16 + kLine;
// Bytes a run is written to: its last 16-byte store may start at byte
// kShortRun - 1.
constexpr size_t kShortRunBuffer = kShortRun + 16;
static_assert(kShortRunBuffer <= kImageCap);  // fill_head_body_tail's image holds one

// Writes the pattern from phase 0 to run[0, kShortRun): its first 16 bytes at
// every multiple of the largest multiple of size up to 16.
// Precondition: 2 <= size < 16, run holds kShortRunBuffer bytes.
inline void write_short_run(u8* run, const u8* t, size_t size) {
  const ShortPattern p(t, size);
  for (size_t at = 0; at < kShortRun; at += 16 - p.mod.of16) {
    std::memcpy(run + at, &p.w0, 8);
    std::memcpy(run + at + 8, &p.w1, 8);
  }
}

// Writes len bytes of the pattern that repeats `t` (size bytes) to d, starting
// at byte `phase` (< size) of the template. Regular stores; d must not overlap t.
void write_pattern(u8* d, const u8* t, size_t size, size_t phase, size_t len) {
  if (size == 1) {
    if (len != 0) std::memset(d, *t, len);
    return;
  }
  if (size < 16) {
    if (len <= size - phase)  // within one copy of the template: a plain move
      move_bytes(d, t + phase, len);
    else
      write_short_pattern(d, t, size, phase, len);
    return;
  }
  // Each period copied from t, so that no load waits for the stores just
  // made (a load that spans several recent, smaller stores waits until they
  // all reach the cache).
  size_t have = min_size(len, size - phase);
  move_bytes(d, t + phase, have);  // up to the template's end; then whole periods
  for (; have < len; have += size) move_bytes(d + have, t, min_size(size, len - have));
}

// ---- Templates whose copies tile a vector: 1, 2, 4, 8 or 16 bytes, and 32
// or 64 up to the vector's width. A fill with one is a memset of a vector: the
// register is built from the template with shuffles, not loaded from an image
// in memory.
// (Built as a chain of copies, each loading what the last one stored, 64-byte
// fills of a 4-byte template took 14 times as long as memset on the
// development machine.)

// Whether fill_tiling_template can fill with `size`-byte templates from d:
// any power of two up to the vector's width. Above 16 bytes, at a destination
// not aligned to the size, only from kMinStreamed bytes on: its aligned
// blocks then need the vector rotated through memory
// (store_rotated_blocks_and_end), and shorter fills were faster written in
// place.
inline bool tiles_vector(const u8* d, size_t size, size_t total) {
  return (size & (size - 1)) == 0 && size <= Isa::kBlock &&
         (size <= 16 || (reinterpret_cast<std::uintptr_t>(d) & (size - 1)) == 0 ||
          total >= kMinStreamed);
}

// x twice over. (I... = 0 .. N-1. __builtin_shufflevector: GCC 12 and clang.)
template <size_t N, size_t... I>
[[gnu::always_inline]] inline typename Aligned<2 * N>::type doubled(typename Aligned<N>::type x,
                                                                    std::index_sequence<I...>) {
  return __builtin_shufflevector(x, x, I..., I...);
}

// x repeated to W bytes. Precondition: N divides W.
template <size_t N, size_t W>
[[gnu::always_inline]] inline typename Aligned<W>::type repeated(typename Aligned<N>::type x) {
  if constexpr (N == W)
    return x;
  else
    return repeated<2 * N, W>(doubled<N>(x, std::make_index_sequence<N>{}));
}

// A template of 1, 2, 4 or 8 bytes repeated to 8: byte k is byte k mod size.
// (A power-of-two size repeats within its own lanes, so the multiply is right
// in either byte order.)
inline std::uint64_t repeat_to_8_bytes(const u8* t, size_t size) {
  switch (size) {
    case 1: return kRepeat.r[1] * t[0];
    case 2: {
      std::uint16_t x;
      std::memcpy(&x, t, 2);
      return kRepeat.r[2] * x;
    }
    case 4: {
      std::uint32_t x;
      std::memcpy(&x, t, 4);
      return kRepeat.r[4] * x;
    }
    default: {
      std::uint64_t x;
      std::memcpy(&x, t, 8);
      return x;
    }
  }
}

// The N-byte template at t, repeated to W bytes.
template <size_t N, size_t W>
inline typename Aligned<W>::type load_repeated(const u8* t) {
  typename Aligned<N>::type x;
  std::memcpy(&x, t, N);
  return repeated<N, W>(x);
}

// W bytes of the pattern (W >= 8), starting at byte `phase` of the template.
// Precondition: size a power of two up to W, and phase == 0 unless
// size <= 16.
template <size_t W>
inline typename Aligned<W>::type pattern_vector(const u8* t, size_t size, size_t phase) {
  if (size <= 8) {
    const std::uint64_t x8 = repeat_to_8_bytes(t, size);
    const std::uint64_t from_phase = eight_bytes_from(x8, x8, phase);
    if constexpr (W == 64) {
      // One vpbroadcastq (AVX-512F) where the doubling below takes seven
      // instructions: 256-byte fills of a 1-byte template took 5.2 ns against
      // 6.1 on the development machine. Not for 32 bytes: with AVX alone GCC
      // builds that broadcast through memory.
      return (typename Aligned<W>::type)((typename Words<W>::type){} + from_phase);
    } else {
      typename Aligned<8>::type x;
      std::memcpy(&x, &from_phase, 8);
      return repeated<8, W>(x);
    }
  }
  if constexpr (W >= 16) {
    if (size == 16 && phase != 0) {
      std::uint64_t first, second;
      std::memcpy(&first, t, 8);
      std::memcpy(&second, t + 8, 8);
      const std::uint64_t a = phase < 8 ? first : second, b = phase < 8 ? second : first;
      // Two 64-bit lanes, converted in registers: a 16-byte load of two
      // 8-byte stores would wait for both to reach L1.
      const typename Words<16>::type from_phase = {eight_bytes_from(a, b, phase % 8),
                                                   eight_bytes_from(b, a, phase % 8)};
      return repeated<16, W>((typename Aligned<16>::type)from_phase);  // same bits
    }
  }
  if constexpr (W >= 64)
    if (size == 64) return load_repeated<64, W>(t);
  if constexpr (W >= 32)
    if (size == 32) return load_repeated<32, W>(t);
  return load_repeated<16, W>(t);
}

// Below B bytes: halving head-and-tail stores of the pattern, N = B / 2 bytes
// each. Precondition: 1 <= n < B, n a multiple of the template's size. When
// n >= N, N is a multiple of the size too (both are powers of two, and
// size <= n < 2 * N), so both stores start at a multiple of it: at the
// pattern's phase 0.
template <size_t B>
inline void store_pattern_below(u8* d, size_t n, const u8* t, size_t size) {
  constexpr size_t N = B / 2;
  if constexpr (N >= 2) {
    if (n < N) return store_pattern_below<N>(d, n, t, size);
    if constexpr (N <= 8) {
      const std::uint64_t x8 = repeat_to_8_bytes(t, size);
      std::memcpy(d, &x8, N);
      std::memcpy(d + n - N, &x8, N);
    } else {
      const auto v = pattern_vector<N>(t, size, 0);
      std::memcpy(d, &v, N);
      std::memcpy(d + n - N, &v, N);
    }
  } else {
    *d = *t;  // n == 1
  }
}

// Aligned blocks of w from p while p < last. Precondition: p aligned to B.
template <size_t B>
[[gnu::always_inline]] inline void store_blocks(u8* p, const u8* last,
                                                typename Aligned<B>::type w) {
#pragma GCC unroll 4
  for (; p < last; p += B) *reinterpret_cast<typename Aligned<B>::type*>(p) = w;
}

// The rest of fill_tiling_template for a template of 32 or 64 bytes whose
// pattern starts `phase` bytes into it at p: store_blocks, then the block at
// `last`, at phase 0. The vector for p on is rotated through memory: stored
// twice, and loaded from between, a load that waits for both stores. Out of
// line, so that its aligned buffer costs fill_tiling_template no realigned
// stack frame (which made 256 B to 1 KiB fills of aligned 32 and 64-byte
// templates 0.4 to 0.6 ns slower). For the same reason it builds the vector
// again from t: with GCC 12, passing it in or returning it gave the caller
// that frame too.
[[gnu::noinline]] void store_rotated_blocks_and_end(u8* p, u8* last, const u8* t, size_t size,
                                                    size_t phase) {
  constexpr size_t B = Isa::kBlock;
  alignas(B) u8 twice[2 * B];
  const auto v = pattern_vector<B>(t, size, 0);
  std::memcpy(twice, &v, B);
  std::memcpy(twice + B, &v, B);
  typename Aligned<B>::type w;
  std::memcpy(&w, twice + phase, B);
  store_blocks<B>(p, last, w);
  std::memcpy(last, &v, B);
}

// Fills [d, d + n) with copies of the template t, regular stores.
// Precondition: tiles_vector(d, size, n), n a multiple of size, t outside
// [d, d + n).
void fill_tiling_template(u8* d, const u8* t, size_t size, size_t n) {
  constexpr size_t B = Isa::kBlock;
  if (n < B) {
    if (n != 0) store_pattern_below<B>(d, n, t, size);
    return;
  }
  // A block at each end, unaligned, both at phase 0 (n and B are multiples
  // of size); aligned blocks between them, at the phase of the first block
  // boundary past d.
  const auto v = pattern_vector<B>(t, size, 0);
  std::memcpy(d, &v, B);
  u8* const last = d + n - B;
  u8* const p = d + B - (reinterpret_cast<std::uintptr_t>(d) & (B - 1));  // in (d, d + B]
  const size_t phase = static_cast<size_t>(p - d) & (size - 1);
  auto w = v;  // 32 or 64 bytes at a destination aligned to the size: phase 0
  if (size <= 16) {
    w = pattern_vector<B>(t, size, phase);  // the phase in registers
  } else if (phase != 0) {
    // Otherwise the phase through memory, once per call. (At a destination 16
    // bytes past a line, 256 B of a 64-byte template took 8.9 ns this way,
    // against 17.9 ns through fill_head_body_tail, on the development machine.)
    return store_rotated_blocks_and_end(p, last, t, size, phase);
  }
  store_blocks<B>(p, last, w);
  std::memcpy(last, &v, B);
}

// Writes `len` bytes of the pattern starting at `phase` to image, which is
// 64-aligned. `unit` is a multiple of size: the first unit is written from the
// template, the rest repeats it, by whole lines when unit is a multiple of 64.
void build_image(u8* image, const u8* t, size_t size, size_t phase, size_t unit, size_t len) {
  if (unit % kLine != 0) {
    write_pattern(image, t, size, phase, len);
    return;
  }
  write_pattern(image, t, size, phase, unit);
  // Line j + unit repeats line j, which is already written: unit >= 64.
  copy_lines<Stores::regular>(image + unit, image, len - unit);
}

// The source a fill's body is copied from: src[j] is the pattern byte at
// offset j from `src`'s phase, for every j < extent, and src repeats with
// `period`. extent >= period >= 64.
struct PeriodicSource {
  const u8* src;
  size_t period;
  size_t extent;
  size_t pos;  // where the next line starts, < period
};

// Copies n bytes (a multiple of 64) of the periodic source to d (64-aligned).
template <Stores S>
void copy_periodic(u8* d, size_t n, PeriodicSource p) {
  while (n != 0) {
    // Whole lines readable from pos without wrapping.
    size_t run = min_size(n, (p.extent - p.pos) & ~(kLine - 1));
    copy_lines<S>(d, p.src + p.pos, run);
    d += run;
    n -= run;
    p.pos += run;
    if (p.pos >= p.period) {
      p.pos -= p.period;
      continue;
    }
    if (n == 0) break;
    // At this point: fewer than 64 bytes are left before extent, so the next
    // line straddles the period's end (only when extent == period).
    alignas(kLine) u8 line[kLine];
    write_pattern(line, p.src, p.period, p.pos, kLine);
    copy_lines<S>(d, line, kLine);
    d += kLine;
    n -= kLine;
    p.pos = p.pos + kLine - p.period;
  }
}

// With regular stores into cache, loading the pattern back from the image
// costs up to a third of the store rate; a pattern that fits in the vector
// registers (all but four of them: 32 with AVX-512, 16 before) is kept there
// instead, and the loop is stores alone. This many lines at most:
constexpr size_t kVectorRegisters = Isa::kBlock == 64 ? 32 : 16;
constexpr size_t kRegisterLines = (kVectorRegisters - 4) * Isa::kBlock / kLine;

// Stores n bytes (a multiple of 64) of the pattern that repeats every L lines
// to d (64-aligned), from registers. d starts at the pattern's byte `phase`
// (< size); run holds the pattern from phase 0, far enough for one block from
// each offset (phase + k * kBlock) mod size.
template <size_t L>
void store_lines_from_registers(u8* d, size_t n, const u8* run, size_t size, size_t phase) {
  constexpr size_t B = Isa::kBlock;
  using V = typename Aligned<B>::type;
  using U = typename Unaligned<B>::type;
  constexpr size_t kRegs = L * kLine / B;
  V r[kRegs];
  // Register k holds the pattern from byte (phase + k * B) mod size, without a
  // division per register (up to 28 of them cost more than the loads).
  size_t from = phase;
#pragma GCC unroll 64
  for (size_t k = 0; k < kRegs; ++k) {
    r[k] = *reinterpret_cast<const U*>(run + from);
    for (from += B; from >= size;) from -= size;
  }
  for (; n >= L * kLine; n -= L * kLine, d += L * kLine) {
#pragma GCC unroll 64
    for (size_t k = 0; k < kRegs; ++k) *reinterpret_cast<V*>(d + k * B) = r[k];
  }
#pragma GCC unroll 64
  for (size_t k = 0; k < kRegs; ++k)  // fewer than L lines left
    if (k * B < n) *reinterpret_cast<V*>(d + k * B) = r[k];
}

// Regular-store body of a fill whose pattern repeats every `lines` lines.
// Precondition: 1 <= lines <= kRegisterLines.
template <size_t L = 1>
void store_body_from_registers(u8* d, size_t n, const u8* run, size_t size, size_t phase,
                               size_t lines) {
  if constexpr (L < kRegisterLines) {
    if (lines != L) return store_body_from_registers<L + 1>(d, n, run, size, phase, lines);
  }
  store_lines_from_registers<L>(d, n, run, size, phase);
}

// Fills [dst, dst + total) with copies of tmpl (total a multiple of size):
// head, body and tail (see the top of this file). tmpl must not overlap it.
// Not inlined: its frame holds the image (8 KiB), which fill_impl's short
// paths should not pay for.
template <Stores S>
[[gnu::noinline]] void fill_head_body_tail(u8* dst, const u8* tmpl, size_t size, size_t total) {
  const size_t aligned_unit = lcm_with_line(size);
  const size_t head = bytes_to_line(dst);  // < 64 < total
  u8* const body = dst + head;
  const size_t body_bytes = (total - head) & ~(kLine - 1);
  const size_t tail = total - head - body_bytes;  // < 64
  // Where the tail starts in the template: (total - tail) mod size.
  const size_t tail_phase = small_mod(size - small_mod(tail, size), size);
  const size_t body_phase = small_mod(head, size);

  // The shortest period that keeps every line aligned is lcm(size, 64); an
  // image of a multiple of it is read with aligned loads only. A template whose
  // lcm is too large is imaged at a multiple of its size (unaligned loads), and
  // one larger than the image is read in place. With regular stores, so is a
  // multiple of 64 bytes of at least kMaxImageRun whose lines are aligned from
  // this phase on: its image would be one copy of it, and building that made
  // in-cache fills of 4096-byte templates 1.1 (64 KiB) to 1.3 (16 KiB) times
  // slower. Misaligned in place, every load would span two lines (0.83 of the
  // imaged fill's speed); streaming fills read in place ran 1 to 4% slower.
  const size_t unit = aligned_unit <= kImageCap ? aligned_unit : size;
  const bool read_in_place =
      unit > kImageCap ||
      (S == Stores::regular && unit == size && size >= kMaxImageRun &&
       (reinterpret_cast<std::uintptr_t>(tmpl) + body_phase) % kLine == 0);
  alignas(kLine) u8 image[kImageCap + kLine];
  // A period of a few lines is kept in registers, each loaded from a run of
  // the pattern from phase 0. When size and phase are whole blocks, no
  // register straddles the template's end and the template is that run.
  // Otherwise the run is built in the image: one template plus a line, or for
  // templates under 16 bytes write_short_run's 80 bytes. Building it costs
  // more than its stores: the registers' loads each span several of them, so
  // they wait until the stores reach L1 (on the development machine, 9 ns in a
  // microbenchmark; reading 64-byte templates in place took 4 KiB fills from
  // 27-32 ns to 22 ns, the bare store loop's 19). The head and the tail (under
  // 64 bytes from phase 0 and from tail_phase) are then copied from the run
  // too: their loads wait alongside the registers', where writing them from
  // the template cost a pattern of their own.
  const bool in_registers = S == Stores::regular && Isa::kStreams && unit % kLine == 0 &&
                            unit / kLine <= kRegisterLines;
  const bool run_in_image = in_registers && (size | body_phase) % Isa::kBlock != 0;
  if (run_in_image) {
    if (size < 16)  // 2 to 15 bytes here: 1 tiles a vector
      write_short_run(image, tmpl, size);
    else
      write_pattern(image, tmpl, size, 0, size + kLine);
  }
  // The head or the tail. Precondition: len < 64, phase < size.
  auto write_end = [&](u8* d, size_t phase, size_t len) {
    if (run_in_image && len > size - phase)  // else within one template: copied from it
      move_bytes(d, image + phase, len);
    else
      write_pattern(d, tmpl, size, phase, len);
  };
  if (head != 0) write_end(dst, 0, head);  // a call saved per aligned fill
  if (in_registers) {
    store_body_from_registers(body, body_bytes, run_in_image ? image : tmpl, size, body_phase,
                              unit / kLine);
  } else if (!read_in_place) {
    // Long enough for long runs, short enough that building it stays a small
    // part of the fill.
    const size_t want = min_size(total / 16, kMaxImageRun);
    const size_t units = max_size(1, min_size((want + unit - 1) / unit, kImageCap / unit));
    const PeriodicSource source{image, unit * units, unit * units + kLine, 0};
    build_image(image, tmpl, size, body_phase, unit, source.extent);
    copy_periodic<S>(body, body_bytes, source);
  } else {
    copy_periodic<S>(body, body_bytes, PeriodicSource{tmpl, size, size, body_phase});
  }
  if (tail != 0) write_end(body + body_bytes, tail_phase, tail);
}

// The longest regular-store fill that is written in place (write_pattern)
// rather than from an image or the register loop: two periods of the image it
// would need, and for templates under 16 bytes at least 1 KiB. On the
// development machine 1 KiB of a 3 or 7-byte template took 22-23 ns in place
// against 32-39 ns through the register loop, 500 bytes of a 3 or 12-byte one
// 16-18 ns against 22-32 ns; 12-byte templates took the same either way at
// 1 KiB, and longer in place from 1.5 KiB (in a run with the limit at 4 KiB).
inline size_t max_in_place(size_t size) {
  const size_t two_periods = 2 * min_size(lcm_with_line(size), kImageCap);
  return size < 16 ? max_size(two_periods, 1024) : two_periods;
}

// Fills [dst, dst + size*count) with copies of tmpl. tmpl must not overlap it.
template <Stores S>
void fill_impl(u8* dst, const u8* tmpl, size_t size, size_t count) {
  const size_t total = size * count;
  if (tiles_vector(dst, size, total) && (S == Stores::regular || total < kMinStreamed))
    fill_tiling_template(dst, tmpl, size, total);
  else if (total < kMinStreamed || (S == Stores::regular && total <= max_in_place(size)))
    write_pattern(dst, tmpl, size, 0, total);
  else
    fill_head_body_tail<S>(dst, tmpl, size, total);
}

// Copies n bytes; the ranges must not overlap.
template <Stores S>
void copy_impl(u8* d, const u8* s, size_t n) {
  if (S == Stores::regular || !Isa::kStreams || n < kMinStreamed) {
    move_bytes(d, s, n);
    return;
  }
  const size_t head = bytes_to_line(d);
  move_bytes(d, s, head);
  const size_t body = (n - head) & ~(kLine - 1);
  if (forward_loads_trail_stores(d, s))
    copy_lines_down<Stores::streaming, Prefetch::ahead>(d + head, s + head, body);
  else
    copy_lines<Stores::streaming, Prefetch::ahead>(d + head, s + head, body);
  move_bytes(d + head + body, s + head + body, n - head - body);
}

// The patched fill stages each batch of elements, lets `patch` change them,
// then stores the batch. Each store but the last ends on a line boundary of
// the destination: the bytes of the last partial line are carried into the
// next batch, placed just before its elements, so every destination line is
// stored exactly once and the body is whole lines.
template <Stores S>
void fill_patched_impl(u8* dst, const u8* tmpl, size_t size, size_t count, ntc_patch_fn patch,
                       void* ctx, Staging staging) {
  u8* const elems = staging.data + kLine;  // 64-aligned; [data, elems) holds the carry
  u8* out = dst;                           // where the first staged byte goes
  size_t carried = 0;                      // bytes at elems - carried, < 64
  for (size_t first = 0; first < count;) {
    const size_t n = min_size(staging.elems, count - first);
    fill_impl<Stores::regular>(elems, tmpl, size, n);
    patch(elems, first, n, size, ctx);
    first += n;
    const u8* from = elems - carried;
    const size_t bytes = carried + n * size;  // >= 64
    if (first == count) {
      copy_impl<S>(out, from, bytes);
      return;
    }
    // Store up to the last line boundary; bytes >= 64 so that is past out.
    const size_t store = bytes - (reinterpret_cast<std::uintptr_t>(out + bytes) & (kLine - 1));
    copy_impl<S>(out, from, store);
    carried = bytes - store;
    move_bytes(elems - carried, from + store, carried);
    out += store;
  }
}

void fill(u8* dst, const u8* tmpl, size_t size, size_t count, Stores stores) {
  if (stores == Stores::streaming && Isa::kStreams)
    fill_impl<Stores::streaming>(dst, tmpl, size, count);
  else
    fill_impl<Stores::regular>(dst, tmpl, size, count);
}

void fill_patched(u8* dst, const u8* tmpl, size_t size, size_t count, ntc_patch_fn patch, void* ctx,
                  Staging staging, Stores stores) {
  if (stores == Stores::streaming && Isa::kStreams)
    fill_patched_impl<Stores::streaming>(dst, tmpl, size, count, patch, ctx, staging);
  else
    fill_patched_impl<Stores::regular>(dst, tmpl, size, count, patch, ctx, staging);
}

void* move(void* dst, const void* src, size_t n) {
  return move_bytes(static_cast<u8*>(dst), static_cast<const u8*>(src), n);
}

void copy_streaming(u8* dst, const u8* src, size_t n) { copy_impl<Stores::streaming>(dst, src, n); }

// The entries' fast path bound (kernel_table.h): 0 while the family is not
// the active one, and never above kMaxFastPath.
std::atomic<size_t> g_fast_path_below{0};

// The fast path's test: flags are 0, n is below `below` (<= kMaxFastPath), and
// neither pointer is NULL or in the top half of the address space, so no range
// of n bytes wraps (user space lives in the bottom half). One branch per
// condition measured faster than a single branch on the OR of their sign bits.
inline bool fast_path_allowed(const void* a, const void* b, size_t n, size_t below,
                              unsigned flags) {
  const auto a1 = reinterpret_cast<std::uintptr_t>(a) - 1;  // NULL wraps to the top
  const auto b1 = reinterpret_cast<std::uintptr_t>(b) - 1;
  return n < below && flags == 0 && static_cast<std::intptr_t>(a1 | b1) >= 0;
}

}  // namespace

// In both entries every vector instruction lies past the fast path's test:
// while another family is active (or the library is not initialised) the
// bound is 0 and the call goes to the checked path, so a family that
// NTCOPY_KERNEL or NTCOPY_CPU_MASK ruled out never does the work.

void* memcpy_entry(void* dst, const void* src, size_t n, unsigned flags) {
  if (fast_path_allowed(dst, src, n, g_fast_path_below.load(std::memory_order_relaxed), flags))
      [[likely]] {
    return move_bytes(static_cast<u8*>(dst), static_cast<const u8*>(src), n);
  }
  return memcpy_checked(dst, src, n, flags);
}

int fill_entry(void* dst, const void* tmpl, size_t size, size_t count, unsigned flags) {
  // total = 0 (size or count 0) and an overflowing product take the checked
  // path, which answers them. A template that overlaps the destination does
  // too: it must be copied aside first.
  size_t total = 0;
  const bool overflow = __builtin_mul_overflow(size, count, &total);
  const auto d = reinterpret_cast<std::uintptr_t>(dst), t = reinterpret_cast<std::uintptr_t>(tmpl);
  if (!overflow && total != 0 &&
      fast_path_allowed(dst, tmpl, total, g_fast_path_below.load(std::memory_order_relaxed), flags) &&
      (t + size <= d || d + total <= t)) [[likely]] {
    fill_impl<Stores::regular>(static_cast<u8*>(dst), static_cast<const u8*>(tmpl), size, count);
    return 0;
  }
  return fill_checked(dst, tmpl, size, count, flags);
}

#define NTCOPY_STR2(x) #x
#define NTCOPY_STR(x) NTCOPY_STR2(x)
extern const KernelTable kTable = {
    .name = NTCOPY_STR(NTCOPY_ISA),
    .fill = fill,
    .fill_patched = fill_patched,
    .copy_streaming = copy_streaming,
    .move = move,
    .drain = Isa::drain,
    .fast_path_below = &g_fast_path_below,
};
#undef NTCOPY_STR
#undef NTCOPY_STR2

}  // namespace ntcopy::NTCOPY_ISA
