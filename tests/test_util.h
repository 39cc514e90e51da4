// Shared helpers for the ntcopy tests: a fixed-seed PRNG, a buffer whose end
// touches an inaccessible guard page, reference fills, kernel-family iteration.
#ifndef NTCOPY_TESTS_TEST_UTIL_H
#define NTCOPY_TESTS_TEST_UTIL_H

#include <doctest/doctest.h>
#include <ntcopy/ntcopy.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ntc_test {

// ---------------------------------------------------------------------------
// PRNG: xoshiro256** seeded through splitmix64. The seed is fixed (and printed)
// so that every failure reproduces; NTCOPY_TEST_SEED overrides it.

inline constexpr std::uint64_t kDefaultSeed = 0x6e74636f70790001ull;

inline std::uint64_t test_seed() {
  static const std::uint64_t seed = [] {
    std::uint64_t s = kDefaultSeed;
    if (const char* e = std::getenv("NTCOPY_TEST_SEED"); e != nullptr && *e != '\0')
      s = std::strtoull(e, nullptr, 0);
    std::printf("[ntcopy tests] PRNG seed = 0x%016llx (set NTCOPY_TEST_SEED to override)\n",
                static_cast<unsigned long long>(s));
    std::fflush(stdout);
    return s;
  }();
  return seed;
}

class Rng {
 public:
  // `stream` decorrelates the generators of different tests/threads.
  explicit Rng(std::uint64_t stream = 0) {
    std::uint64_t x = test_seed() ^ (stream * 0x9e3779b97f4a7c15ull);
    for (auto& w : s_) {
      x += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      w = z ^ (z >> 31);
    }
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n); n > 0.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  // Uniform in [lo, hi].
  std::size_t range(std::size_t lo, std::size_t hi) { return lo + below(hi - lo + 1); }
  // Random bytes, none of them 0 and none equal to `avoid` (the canary).
  void fill_bytes(unsigned char* p, std::size_t n, unsigned char avoid = 0) {
    std::size_t i = 0;
    while (i < n) {
      std::uint64_t w = next();
      for (int k = 0; k < 8 && i < n; ++k, ++i) {
        unsigned char b = static_cast<unsigned char>(w >> (8 * k));
        if (b == 0 || b == avoid) b = static_cast<unsigned char>(b ^ 0x5a);
        p[i] = b;
      }
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// ---------------------------------------------------------------------------
// Buffers

// Written around destinations before each call; never produced by Rng::fill_bytes
// when it is passed as `avoid`, so any stray template byte shows.
inline constexpr unsigned char kCanary = 0xa5;
// The destination itself starts out zeroed; templates/sources are never 0, so a
// byte the call failed to write shows too.
inline constexpr unsigned char kUnwritten = 0x00;

inline std::size_t page_size() {
  static const std::size_t p = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return p;
}

// An anonymous mapping of at least `bytes` usable bytes followed by one
// PROT_NONE guard page: a write (or read) past end() faults.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(std::size_t bytes) {
    const std::size_t pg = page_size();
    usable_ = (bytes + pg - 1) / pg * pg;
    if (usable_ == 0) usable_ = pg;
    map_len_ = usable_ + pg;
    void* m = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      std::perror("mmap");
      std::abort();
    }
    map_ = static_cast<unsigned char*>(m);
    if (mprotect(map_ + usable_, pg, PROT_NONE) != 0) {
      std::perror("mprotect");
      std::abort();
    }
  }
  ~GuardedBuffer() { munmap(map_, map_len_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  unsigned char* begin() const { return map_; }
  unsigned char* end() const { return map_ + usable_; }  // first byte of the guard page
  std::size_t size() const { return usable_; }

  // A pointer p with p % 64 == misalign and p + len as close to end() as that
  // allows (end() - (p + len) is in [0, 63]; it is 0 for the one misalignment
  // congruent to -len). At least `before` bytes in front of p stay in the buffer.
  unsigned char* place(std::size_t len, std::size_t misalign, std::size_t before = 0) const {
    const auto e = reinterpret_cast<std::uintptr_t>(end());
    std::uintptr_t p = e - len;
    p -= (p - misalign) & 63u;  // round down to ≡ misalign (mod 64)
    if (p < reinterpret_cast<std::uintptr_t>(begin()) + before)
      FAIL("GuardedBuffer of ", size(), " bytes too small for len=", len);
    return reinterpret_cast<unsigned char*>(p);
  }

 private:
  unsigned char* map_ = nullptr;
  std::size_t usable_ = 0;
  std::size_t map_len_ = 0;
};

// ---------------------------------------------------------------------------
// Reference implementations and comparisons

inline void reference_fill(unsigned char* out, const unsigned char* tmpl, std::size_t size,
                           std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    for (std::size_t j = 0; j < size; ++j) out[i * size + j] = tmpl[j];
}

inline bool all_bytes(const unsigned char* p, std::size_t n, unsigned char v) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != v) return false;
  return true;
}

// Offset of the first byte that differs, or n.
inline std::size_t first_diff(const unsigned char* a, const unsigned char* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return i;
  return n;
}

inline std::size_t first_not(const unsigned char* p, std::size_t n, unsigned char v) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != v) return i;
  return n;
}

inline std::string flags_name(unsigned f) {
  if (f == 0) return "0";
  std::string s;
  auto add = [&](unsigned bit, const char* name) {
    if (f & bit) {
      if (!s.empty()) s += '|';
      s += name;
      f &= ~bit;
    }
  };
  add(NTC_F_NONTEMPORAL, "NONTEMPORAL");
  add(NTC_F_TEMPORAL, "TEMPORAL");
  add(NTC_F_NODRAIN, "NODRAIN");
  if (f != 0) {
    if (!s.empty()) s += '|';
    s += std::to_string(f);
  }
  return s;
}

// Calls ntc_drain() when the flags asked for no fence.
inline void drain_if_needed(unsigned flags) {
  if (flags & NTC_F_NODRAIN) ntc_drain();
}

// The two store paths every family must get right, and the other combinations.
inline constexpr std::array<unsigned, 2> kStorePaths = {NTC_F_NONTEMPORAL, NTC_F_TEMPORAL};
inline constexpr std::array<unsigned, 3> kOtherFlags = {0u, NTC_F_NODRAIN,
                                                        NTC_F_NONTEMPORAL | NTC_F_NODRAIN};

// Stops a check loop from producing thousands of failure reports.
struct FailureBudget {
  int failures = 0;
  int max = 10;
  bool exhausted() const { return failures >= max; }
};

// ---------------------------------------------------------------------------
// Crash context: doctest prints no INFO context when a test case crashes (a
// write into a guard page), so checks record the call they are about to make
// here, and crash_context.cpp prints it if the thread dies in that call.

struct OpContext {
  const char* op = nullptr;  // nullptr: no call in progress
  unsigned flags = 0;
  std::size_t size = 0;     // element size (fills) or n (copies)
  std::size_t count = 0;    // fills only
  std::size_t dst_mis = 0;  // dst % 64
  std::size_t src_mis = 0;  // copies only
};
inline thread_local OpContext t_op_context;

class OpScope {
 public:
  OpScope(const char* op, unsigned flags, std::size_t size, std::size_t count, const void* dst,
          const void* src = nullptr) {
    t_op_context = {op,
                    flags,
                    size,
                    count,
                    reinterpret_cast<std::uintptr_t>(dst) % 64,
                    reinterpret_cast<std::uintptr_t>(src) % 64};
  }
  ~OpScope() { t_op_context.op = nullptr; }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;
};

// ---------------------------------------------------------------------------
// Kernel families

inline constexpr std::array<const char*, 4> kAllFamilies = {"avx512", "avx", "movnti", "generic"};

// The families ntc_kernels reports for this CPU, best first.
inline std::vector<std::string> supported_families() {
  const std::size_t n = ntc_kernels(nullptr, 0);
  std::vector<const char*> names(n + 1, nullptr);
  const std::size_t m = ntc_kernels(names.data(), names.size());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < m && i < names.size(); ++i)
    if (names[i] != nullptr) out.emplace_back(names[i]);
  return out;
}

inline bool family_supported(std::string_view fam) {
  for (const auto& s : supported_families())
    if (s == fam) return true;
  return false;
}

// Makes `fam` the active family for a scope and restores "auto" afterwards.
class KernelScope {
 public:
  explicit KernelScope(const char* fam) {
    errno = 0;
    const int rc = ntc_use_kernel(fam);
    INFO("ntc_use_kernel(\"", std::string(fam), "\") errno=", errno);
    REQUIRE(rc == 0);
    REQUIRE(std::string_view(ntc_kernel()) == fam);
  }
  ~KernelScope() { ntc_use_kernel("auto"); }
  KernelScope(const KernelScope&) = delete;
  KernelScope& operator=(const KernelScope&) = delete;
};

// Runs body() with family `fam` active, or reports it as skipped by name. Only
// use it in a test case dedicated to that family: ctest turns a case whose
// output contains "skipped: " into a skipped test.
template <class Body>
void run_for_family(const char* fam, Body&& body) {
  if (!family_supported(fam)) {
    MESSAGE("skipped: ", std::string(fam), " (not supported by this CPU)");
    return;
  }
  (void)test_seed();
  KernelScope scope(fam);
  INFO("kernel family: ", std::string(fam));
  body(fam);
}

}  // namespace ntc_test

// One test case per kernel family, each named "<title>: <family>".
#define NTC_PER_FAMILY_TEST(title, fn)                                      \
  TEST_CASE(title ": avx512") { ::ntc_test::run_for_family("avx512", fn); } \
  TEST_CASE(title ": avx") { ::ntc_test::run_for_family("avx", fn); }       \
  TEST_CASE(title ": movnti") { ::ntc_test::run_for_family("movnti", fn); } \
  TEST_CASE(title ": generic") { ::ntc_test::run_for_family("generic", fn); }

#endif  // NTCOPY_TESTS_TEST_UTIL_H
