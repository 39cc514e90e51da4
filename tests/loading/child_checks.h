// Checked ntcopy calls for the loading helpers (first-call races, early
// calls, secure mode, dlopen cycles). Plain C-style code on malloc'd buffers:
// it may run before any library constructor (from .preinit_array) and on
// several threads at once. Each returns nullptr, or a string literal naming
// what went wrong.
#ifndef NTCOPY_TESTS_LOADING_CHILD_CHECKS_H
#define NTCOPY_TESTS_LOADING_CHILD_CHECKS_H

#include <ntcopy/ntcopy.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace ntc_child {

// The ntcopy entry points a check calls: linked directly, or looked up with
// dlsym by the dlopen test.
struct Api {
  int (*fill)(void*, const void*, size_t, size_t, unsigned);
  int (*fill_patched)(void*, const void*, size_t, size_t, ntc_patch_fn, void*, unsigned);
  void* (*memcpy)(void*, const void*, size_t, unsigned);
  void (*drain)(void);
};

// The entry points of the library this program is linked with.
inline Api linked_api() { return {ntc_fill, ntc_fill_patched, ntc_memcpy, ntc_drain}; }

constexpr unsigned char kCanary = 0xa5;
constexpr std::size_t kPad = 128;

inline unsigned char byte_at(std::size_t i, unsigned salt) {
  auto b = static_cast<unsigned char>((i * 131 + salt * 17 + (i >> 8)) % 251 + 1);
  return b == kCanary ? static_cast<unsigned char>(b + 1) : b;
}

// A buffer of kPad canaries, `len` bytes at an address with the given
// misalignment (mod 64), kPad canaries.
struct Area {
  unsigned char* raw = nullptr;
  unsigned char* dst = nullptr;
  std::size_t len = 0;
  Area(std::size_t n, std::size_t mis) : len(n) {
    raw = static_cast<unsigned char*>(std::malloc(n + 2 * kPad + 64));
    if (raw == nullptr) return;
    auto p = reinterpret_cast<std::uintptr_t>(raw) + kPad;
    p += (mis - p) & 63u;
    dst = reinterpret_cast<unsigned char*>(p);
    std::memset(raw, kCanary, n + 2 * kPad + 64);
    std::memset(dst, 0, n);
  }
  ~Area() { std::free(raw); }
  Area(const Area&) = delete;
  Area& operator=(const Area&) = delete;
  bool canaries_intact() const {
    for (unsigned char* p = raw; p < dst; ++p)
      if (*p != kCanary) return false;
    for (unsigned char* p = dst + len; p < raw + len + 2 * kPad + 64; ++p)
      if (*p != kCanary) return false;
    return true;
  }
};

inline const char* check_fill(const Api& api, unsigned flags, std::size_t size, std::size_t count,
                              std::size_t mis) {
  unsigned char tmpl[256];
  if (size > sizeof tmpl) return "check_fill: template too large";
  for (std::size_t i = 0; i < size; ++i) tmpl[i] = byte_at(i, static_cast<unsigned>(size));
  Area a(size * count, mis);
  if (a.raw == nullptr) return "malloc failed";
  if (api.fill(a.dst, tmpl, size, count, flags) != 0) return "ntc_fill failed";
  if (flags & NTC_F_NODRAIN) api.drain();
  for (std::size_t i = 0; i < size * count; ++i)
    if (a.dst[i] != tmpl[i % size]) return "ntc_fill wrote a wrong byte";
  if (!a.canaries_intact()) return "ntc_fill wrote outside its range";
  return nullptr;
}

inline void mark_patch(void* elems, std::size_t first, std::size_t n, std::size_t size, void*) {
  auto* e = static_cast<unsigned char*>(elems);
  for (std::size_t k = 0; k < n; ++k) e[k * size] = byte_at(first + k, 99);
}

inline const char* check_patched(const Api& api, unsigned flags, std::size_t size,
                                 std::size_t count, std::size_t mis) {
  unsigned char tmpl[256];
  if (size > sizeof tmpl || size == 0) return "check_patched: bad template size";
  for (std::size_t i = 0; i < size; ++i) tmpl[i] = byte_at(i, 7);
  Area a(size * count, mis);
  if (a.raw == nullptr) return "malloc failed";
  if (api.fill_patched(a.dst, tmpl, size, count, mark_patch, nullptr, flags) != 0)
    return "ntc_fill_patched failed";
  for (std::size_t i = 0; i < size * count; ++i) {
    const std::size_t e = i / size, j = i % size;
    const unsigned char want = j == 0 ? byte_at(e, 99) : tmpl[j];
    if (a.dst[i] != want) return "ntc_fill_patched wrote a wrong byte";
  }
  if (!a.canaries_intact()) return "ntc_fill_patched wrote outside its range";
  return nullptr;
}

inline const char* check_copy(const Api& api, unsigned flags, std::size_t n, std::size_t dmis,
                              std::size_t smis) {
  auto* src_raw = static_cast<unsigned char*>(std::malloc(n + 64));
  if (src_raw == nullptr) return "malloc failed";
  unsigned char* src = src_raw + smis % 64;
  for (std::size_t i = 0; i < n; ++i) src[i] = byte_at(i, 3);
  const char* what = nullptr;
  {
    Area a(n, dmis);
    if (a.raw == nullptr) {
      what = "malloc failed";
    } else if (api.memcpy(a.dst, src, n, flags) != a.dst) {
      what = "ntc_memcpy failed";
    } else if (n != 0 && std::memcmp(a.dst, src, n) != 0) {
      what = "ntc_memcpy wrote a wrong byte";
    } else if (!a.canaries_intact()) {
      what = "ntc_memcpy wrote outside its range";
    }
  }
  std::free(src_raw);
  return what;
}

// A few fills, patched fills and copies with each kind of stores; the first
// failure or nullptr.
inline const char* check_all(const Api& api) {
  const unsigned flag_sets[] = {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL,
                                NTC_F_NONTEMPORAL | NTC_F_NODRAIN};
  for (unsigned f : flag_sets) {
    if (const char* w = check_fill(api, f, 24, 100, 5)) return w;
    if (const char* w = check_fill(api, f, 64, 300, 0)) return w;
    if (const char* w = check_fill(api, f, 100, 41, 33)) return w;
    if (const char* w = check_patched(api, f, 40, 333, 9)) return w;
    if (const char* w = check_copy(api, f, 1000, 3, 7)) return w;
    if (const char* w = check_copy(api, f, 70001, 61, 2)) return w;
  }
  return nullptr;
}

}  // namespace ntc_child

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NTC_TEST_TSAN 1
#endif
#if __has_feature(address_sanitizer)
#define NTC_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define NTC_TEST_TSAN 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#define NTC_TEST_ASAN 1
#endif
#ifdef NTC_TEST_TSAN
extern "C" void __tsan_init();
#endif
#ifdef NTC_TEST_ASAN
extern "C" void __asan_init();
#endif

// For code that runs from .preinit_array: a sanitizer's runtime may set itself
// up in a preinit entry that comes after ours, so ask for it first (both
// initialisers are idempotent). Nothing to do in other builds.
inline void init_sanitizer_runtime() {
#ifdef NTC_TEST_TSAN
  __tsan_init();
#endif
#ifdef NTC_TEST_ASAN
  __asan_init();
#endif
}

#endif  // NTCOPY_TESTS_LOADING_CHILD_CHECKS_H
