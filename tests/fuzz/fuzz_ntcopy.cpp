// Differential fuzzer: one ntcopy call per input (fill, patched fill, or
// memcpy with separate or overlapping ranges; any kernel family; any size,
// count, misalignment, overlap distance and flags; template or source bytes
// from the input), checked byte for byte against a plain reference.
//
// Every byte in a window around the call is known before it: the destination
// starts out as the complement of what it should become, so a byte the call
// fails to write shows; everything else in the window is pseudo-random canary
// bytes that must come out unchanged, and the far side of the destination (or
// the near side, by a header bit) is a PROT_NONE page, so a stray byte there
// faults. The separate template or source sits against a PROT_NONE page of its
// own, so reading past it faults too, and it must come out unchanged.
//
// Built with -fsanitize=fuzzer for libFuzzer, or with replay_main.cpp to run a
// corpus once in the normal test suite. NTCOPY_FUZZ_VERBOSE=1 prints each
// decoded case before the call (for a crash input that faults).
#include <ntcopy/ntcopy.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_case.h"

namespace {

using u8 = unsigned char;
using ntc_fuzz::Case;
using ntc_fuzz::kMaxTemplate;
using ntc_fuzz::kMaxTotal;
using ntc_fuzz::Op;

// The harness's own bulk work (canaries, the reference result, comparisons)
// runs on every byte of every window; under clang it is left out of the
// sanitizer and coverage instrumentation, which would otherwise cost most of
// each execution and guide libFuzzer by the harness instead of the library.
#if defined(__clang__)
#define NTC_FUZZ_PLAIN __attribute__((no_sanitize("address", "undefined", "coverage")))
#else
#define NTC_FUZZ_PLAIN
#endif

// Canary bytes checked on the open side of the destination and around the
// separate source.
constexpr std::size_t kMargin = 1024;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "ntcopy fuzz: %s\n", what);
  std::abort();
}

// [PROT_NONE page][usable bytes][PROT_NONE page], mapped once.
struct Arena {
  u8* begin = nullptr;
  u8* end = nullptr;

  explicit Arena(std::size_t bytes) {
    const auto pg = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t usable = (bytes + pg - 1) / pg * pg;
    void* m =
        mmap(nullptr, usable + 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) die("mmap failed");
    auto* base = static_cast<u8*>(m);
    if (mprotect(base, pg, PROT_NONE) != 0 || mprotect(base + pg + usable, pg, PROT_NONE) != 0)
      die("mprotect failed");
    begin = base + pg;
    end = begin + usable;
  }
};

struct Globals {
  // The destination's buffer holds an overlapping source or template too.
  Arena dst{2 * kMaxTotal + kMaxTemplate + 2 * kMargin + 256};
  Arena src{kMaxTotal + kMaxTemplate + kMargin + 64};
  std::vector<const char*> kernels;
  std::vector<u8> expect, src_before, source, ref;
  bool verbose = false;

  Globals() {
    kernels.resize(ntc_kernels(nullptr, 0));
    if (kernels.empty() || ntc_kernels(kernels.data(), kernels.size()) != kernels.size())
      die("ntc_kernels reports no family");
    const char* v = std::getenv("NTCOPY_FUZZ_VERBOSE");
    verbose = v != nullptr && *v != '\0' && *v != '0';
  }
};

Globals& globals() {
  static Globals g;
  return g;
}

NTC_FUZZ_PLAIN std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Pseudo-random bytes, a function of (seed, i) only.
NTC_FUZZ_PLAIN void random_bytes(u8* p, std::size_t n, std::uint64_t seed) {
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t w = mix(seed + i);
    for (std::size_t k = 0; k < 8 && i + k < n; ++k) p[i + k] = static_cast<u8>(w >> (8 * k));
  }
}

// n source bytes: the input's payload, then a stream seeded by it.
void payload_bytes(const Case& k, u8* out, std::size_t n) {
  std::uint64_t seed = 0x6e74636f70790004ull ^ k.salt;
  for (std::size_t i = 0; i < k.payload_len && i < 64; ++i) seed = mix(seed ^ k.payload[i]);
  const std::size_t given = n < k.payload_len ? n : k.payload_len;
  if (given != 0) std::memcpy(out, k.payload, given);
  random_bytes(out + given, n - given, seed);
}

// What the patch callback does to element `index`: one byte always changes,
// and templates of 8 bytes or more get the index written into them.
NTC_FUZZ_PLAIN void patch_element(u8* e, std::size_t index, std::size_t size, std::uint8_t salt) {
  e[(salt * 7u + index) % size] ^= static_cast<u8>(index * 0x9d + salt) | 1u;
  if (size >= 8) {
    const std::uint64_t v = index ^ (0x0101010101010101ull * salt);
    std::memcpy(e + salt % (size - 7), &v, 8);
  }
}

const char* op_name(Op op) {
  switch (op) {
    case Op::fill: return "ntc_fill";
    case Op::fill_patched: return "ntc_fill_patched";
    case Op::memcpy_separate: return "ntc_memcpy";
    case Op::memcpy_overlap: return "ntc_memcpy(overlapping)";
  }
  return "?";
}

std::string describe(const Case& k, const char* kernel) {
  char b[400];
  const std::string tmpl_where =
      k.tmpl_inside ? "dst-" + std::to_string(k.size) + "+" + std::to_string(k.tmpl_offset)
                    : std::string("separate,gap=") + std::to_string(k.src_gap) +
                          (k.src_front ? ",front" : ",back");
  if (k.op == Op::fill || k.op == Op::fill_patched)
    std::snprintf(b, sizeof b,
                  "%s kernel=%s flags=%#x size=%zu count=%zu dst%%64=%zu dst_against=%s "
                  "template=%s salt=%u",
                  op_name(k.op), kernel, k.flags, k.size, k.count, k.dst_mis,
                  k.dst_front ? "front" : "back", tmpl_where.c_str(), k.salt);
  else if (k.op == Op::memcpy_separate)
    std::snprintf(b, sizeof b,
                  "%s kernel=%s flags=%#x n=%zu dst%%64=%zu dst_against=%s src_gap=%zu "
                  "src_against=%s",
                  op_name(k.op), kernel, k.flags, k.n, k.dst_mis, k.dst_front ? "front" : "back",
                  k.src_gap, k.src_front ? "front" : "back");
  else
    std::snprintf(b, sizeof b,
                  "%s kernel=%s flags=%#x n=%zu dst%%64=%zu dst_against=%s dst=src%s%zu",
                  op_name(k.op), kernel, k.flags, k.n, k.dst_mis, k.dst_front ? "front" : "back",
                  k.dst_above ? "+" : "-", k.distance);
  return b;
}

const Case* g_case = nullptr;
const char* g_kernel = "";

[[noreturn]] void mismatch(const std::string& what) {
  std::fprintf(stderr, "ntcopy fuzz: %s\n  case: %s\n", what.c_str(),
               describe(*g_case, g_kernel).c_str());
  std::abort();
}

// The first byte of [got, got + n) that differs from expect, reported with
// its offset from `origin`, which the message calls `origin_name`.
void compare(const char* region, const u8* got, const u8* expect, std::size_t n, const u8* origin,
             const char* origin_name) {
  if (std::memcmp(got, expect, n) == 0) return;
  std::size_t i = 0;
  while (got[i] == expect[i]) ++i;
  std::size_t differ = 0;
  for (std::size_t j = 0; j < n; ++j) differ += got[j] != expect[j];
  mismatch(std::string(region) + ": byte at " + origin_name + (got + i >= origin ? "+" : "-") +
           std::to_string(got + i >= origin ? got + i - origin : origin - (got + i)) + " is " +
           std::to_string(got[i]) + ", expected " + std::to_string(expect[i]) + " (" +
           std::to_string(differ) + " bytes differ in the " + std::to_string(n) + "-byte window)");
}

// The address p in arena a with p % 64 == mis such that [p + lo, p + hi) lies
// inside it: as close as that allows to the front guard page or to the back one.
u8* place(const Arena& a, std::ptrdiff_t lo, std::ptrdiff_t hi, std::size_t mis, bool front) {
  if (front) {
    auto p = reinterpret_cast<std::uintptr_t>(a.begin - lo);
    p += (mis - p) & 63u;
    return reinterpret_cast<u8*>(p);
  }
  auto p = reinterpret_cast<std::uintptr_t>(a.end - hi);
  p -= (p - mis) & 63u;
  return reinterpret_cast<u8*>(p);
}

// The reference result of the call: copies of the template (with the patch
// applied to each) or the source, byte by byte.
NTC_FUZZ_PLAIN void reference(const Case& k, const u8* source, u8* out) {
  if (k.op == Op::fill || k.op == Op::fill_patched) {
    for (std::size_t i = 0; i < k.count; ++i) {
      u8* e = out + i * k.size;
      for (std::size_t j = 0; j < k.size; ++j) e[j] = source[j];
      if (k.op == Op::fill_patched) patch_element(e, i, k.size, k.salt);
    }
  } else {
    for (std::size_t i = 0; i < k.n; ++i) out[i] = source[i];
  }
}

// The destination before the call: the complement of the reference result,
// so that every byte the call must write changes.
NTC_FUZZ_PLAIN void set_complement(u8* dst, const u8* ref, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<u8>(~ref[i]);
}

struct PatchState {
  const u8* tmpl;  // the template's value at entry
  std::size_t size, count, next = 0;
  std::uint8_t salt;
};

void patch_callback(void* elems, std::size_t first, std::size_t n, std::size_t size, void* ctx) {
  auto* st = static_cast<PatchState*>(ctx);
  auto* e = static_cast<u8*>(elems);
  if (size != st->size) mismatch("patch callback got size " + std::to_string(size));
  if (reinterpret_cast<std::uintptr_t>(e) % 64 != 0)
    mismatch("patch callback got a staging buffer not aligned to 64 bytes");
  if (first != st->next || n == 0 || n > st->count - first)
    mismatch("patch callback got elements [" + std::to_string(first) + ", +" + std::to_string(n) +
             ") after " + std::to_string(st->next) + " of " + std::to_string(st->count));
  for (std::size_t i = 0; i < n; ++i) {
    if (std::memcmp(e + i * size, st->tmpl, size) != 0)
      mismatch("patch callback: element " + std::to_string(first + i) +
               " is not a fresh copy of the template");
    patch_element(e + i * size, first + i, size, st->salt);
  }
  st->next = first + n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t len) {
  Globals& g = globals();
  const Case k = ntc_fuzz::decode(data, len);
  const char* kernel = k.kernel == 0 ? "auto" : g.kernels[(k.kernel - 1u) % g.kernels.size()];
  g_case = &k;
  g_kernel = kernel;
  if (ntc_use_kernel(kernel) != 0) mismatch("ntc_use_kernel refused a family ntc_kernels lists");

  const bool is_fill = k.op == Op::fill || k.op == Op::fill_patched;
  const std::size_t dst_len = is_fill ? k.size * k.count : k.n;
  const std::size_t src_len = is_fill ? k.size : k.n;
  const bool src_inside = is_fill ? k.tmpl_inside : k.op == Op::memcpy_overlap;

  // The source (template) relative to dst when it shares dst's arena.
  std::ptrdiff_t src_rel = 0;
  if (is_fill && src_inside)
    src_rel = static_cast<std::ptrdiff_t>(k.tmpl_offset) - static_cast<std::ptrdiff_t>(k.size);
  if (!is_fill && src_inside)
    src_rel = k.dst_above ? -static_cast<std::ptrdiff_t>(k.distance)
                          : static_cast<std::ptrdiff_t>(k.distance);
  std::ptrdiff_t lo = 0, hi = static_cast<std::ptrdiff_t>(dst_len);
  if (src_inside) {
    lo = std::min(lo, src_rel);
    hi = std::max(hi, src_rel + static_cast<std::ptrdiff_t>(src_len));
  }
  u8* const dst = place(g.dst, lo, hi, k.dst_mis, k.dst_front);
  u8* const win_lo = std::max(g.dst.begin, dst + lo - kMargin);
  u8* const win_hi = std::min(g.dst.end, dst + hi + kMargin);
  const auto win_len = static_cast<std::size_t>(win_hi - win_lo);

  u8* src;
  u8 *swin_lo = nullptr, *swin_hi = nullptr;
  if (src_inside) {
    src = dst + src_rel;
  } else {
    src = k.src_front ? g.src.begin + k.src_gap : g.src.end - src_len - k.src_gap;
    swin_lo = std::max(g.src.begin, src - kMargin);
    swin_hi = std::min(g.src.end, src + src_len + kMargin);
    random_bytes(swin_lo, static_cast<std::size_t>(swin_hi - swin_lo), mix(k.salt) ^ 1);
  }

  // Canaries, then the destination as the complement of the reference result,
  // then the source (which may overlap the destination).
  random_bytes(win_lo, win_len, mix(k.salt));
  g.source.resize(src_len);
  payload_bytes(k, g.source.data(), src_len);
  g.ref.resize(dst_len);
  reference(k, g.source.data(), g.ref.data());
  set_complement(dst, g.ref.data(), dst_len);
  if (src_len != 0) std::memcpy(src, g.source.data(), src_len);

  g.expect.assign(win_lo, win_hi);
  if (swin_lo != nullptr) g.src_before.assign(swin_lo, swin_hi);
  const bool valid = (k.flags & ~7u) == 0 && (k.flags & 3u) != 3u;
  if (valid && dst_len != 0) std::memcpy(g.expect.data() + (dst - win_lo), g.ref.data(), dst_len);

  if (g.verbose) std::fprintf(stderr, "ntcopy fuzz: %s\n", describe(k, kernel).c_str());
  errno = 0;
  bool failed = false;
  PatchState st{g.source.data(), k.size, k.count, 0, k.salt};
  switch (k.op) {
    case Op::fill: failed = ntc_fill(dst, src, k.size, k.count, k.flags) != 0; break;
    case Op::fill_patched:
      failed = ntc_fill_patched(dst, src, k.size, k.count, patch_callback, &st, k.flags) != 0;
      break;
    case Op::memcpy_separate:
    case Op::memcpy_overlap: {
      void* r = ntc_memcpy(dst, src, k.n, k.flags);
      failed = r == nullptr;
      if (r != nullptr && r != dst) mismatch("ntc_memcpy did not return dst");
      break;
    }
  }
  const int err = errno;
  if (k.flags & NTC_F_NODRAIN) ntc_drain();

  if (valid && failed) mismatch("the call failed with errno " + std::to_string(err));
  if (!valid && !(failed && err == EINVAL)) mismatch("invalid flags were not refused with EINVAL");
  if (valid && k.op == Op::fill_patched && st.next != k.count)
    mismatch("patch callback saw " + std::to_string(st.next) + " of " + std::to_string(k.count) +
             " elements");
  compare("destination window", win_lo, g.expect.data(), win_len, dst, "dst");
  if (swin_lo != nullptr)
    compare("separate source changed", swin_lo, g.src_before.data(), g.src_before.size(), src,
            "src");
  return 0;
}
