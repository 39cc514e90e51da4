// Shared helpers for the ntcopy tests: a fixed-seed PRNG, a buffer whose end
// touches an inaccessible guard page, destinations placed against it between
// canaries, reference fills, kernel-family iteration.
#ifndef NTCOPY_TESTS_TEST_UTIL_H
#define NTCOPY_TESTS_TEST_UTIL_H

#include <doctest/doctest.h>
#include <ntcopy/ntcopy.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
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

inline std::size_t count_not(const unsigned char* p, std::size_t n, unsigned char v) {
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i) k += p[i] != v;
  return k;
}

// Appends `problem` to the "; "-separated list `what` (nothing if it is empty).
inline void add_problem(std::string& what, const std::string& problem) {
  if (problem.empty()) return;
  if (!what.empty()) what += "; ";
  what += problem;
}

// The n bytes at lo against `expect`, an image of the same bytes; `dst` lies in
// [lo, lo + n]. Returns "" or "byte at dst+R is X, expected Y" for the first
// byte that differs, R relative to dst (negative: in front of it).
inline std::string neighbourhood_mismatch(const unsigned char* lo, const unsigned char* expect,
                                          std::size_t n, const unsigned char* dst) {
  if (std::memcmp(lo, expect, n) == 0) return {};
  const std::size_t d = first_diff(lo, expect, n);
  const long rel = static_cast<long>(d) - static_cast<long>(dst - lo);
  return "byte at dst" + std::string(rel >= 0 ? "+" : "") + std::to_string(rel) + " is " +
         std::to_string(lo[d]) + ", expected " + std::to_string(expect[d]);
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

// One checked fill (ntc_fill or ntc_fill_patched), for failure messages.
struct FillCase {
  const char* family;
  unsigned flags;
  std::size_t size;
  std::size_t count;
  std::size_t misalign;  // dst % 64
};

inline std::string describe(const FillCase& c) {
  return std::string("family=") + c.family + " flags=" + flags_name(c.flags) +
         " size=" + std::to_string(c.size) + " count=" + std::to_string(c.count) +
         " dst%64=" + std::to_string(c.misalign);
}

// The documented range of the default ntc_nt_threshold() (no
// NTCOPY_NT_THRESHOLD in the environment).
inline constexpr std::size_t kDefaultThresholdMin = std::size_t{8} << 20;
inline constexpr std::size_t kDefaultThresholdMax = std::size_t{64} << 20;

// Stops a check loop from producing thousands of failure reports.
struct FailureBudget {
  int failures = 0;
  int max = 10;
  bool exhausted() const { return failures >= max; }

  // Reports "<call>: <what>" as a failure and counts it unless `what` is
  // empty; returns whether it was.
  bool report(const std::string& call, const std::string& what) {
    if (what.empty()) return true;
    ++failures;
    FAIL_CHECK(call << ": " << what);
    return false;
  }
};

// ---------------------------------------------------------------------------
// Guarded destinations

// Canary bytes checked in front of every GuardedDestination.
inline constexpr std::size_t kPre = 128;

// The destination of one call: `len` bytes of `buf` placed with
// GuardedBuffer::place (dst % 64 == misalign, the end within 63 bytes of the
// guard page), kPre canary bytes in front, canaries from the end up to the
// guard page, and the destination itself kUnwritten. After the call, the
// methods below describe what went wrong, each "" when nothing did.
class GuardedDestination {
 public:
  GuardedDestination(const GuardedBuffer& buf, std::size_t len, std::size_t misalign)
      : dst_(buf.place(len, misalign, kPre)),
        len_(len),
        tail_(static_cast<std::size_t>(buf.end() - (dst_ + len))) {
    std::memset(dst_ - kPre, kCanary, kPre);
    std::memset(dst_, kUnwritten, len_);
    std::memset(end(), kCanary, tail_);
  }
  GuardedDestination(const GuardedDestination&) = delete;
  GuardedDestination& operator=(const GuardedDestination&) = delete;

  unsigned char* dst() const { return dst_; }
  unsigned char* end() const { return dst_ + len_; }

  // "wrote before dst: dst[-K] changed (M of the 128 canary bytes)", K the
  // farthest changed byte.
  std::string wrote_before() const {
    const unsigned char* lo = dst_ - kPre;
    const std::size_t i = first_not(lo, kPre, kCanary);
    if (i == kPre) return {};
    return "wrote before dst: dst[-" + std::to_string(kPre - i) + "] changed (" +
           std::to_string(count_not(lo, kPre, kCanary)) + " of the " + std::to_string(kPre) +
           " canary bytes)";
  }

  // "wrote past the end: dst[LEN+K] changed (M of the T canary bytes up to the
  // guard page)", K the nearest changed byte.
  std::string wrote_after() const {
    const std::size_t k = first_not(end(), tail_, kCanary);
    if (k == tail_) return {};
    return "wrote past the end: dst[" + std::to_string(len_) + "+" + std::to_string(k) +
           "] changed (" + std::to_string(count_not(end(), tail_, kCanary)) + " of the " +
           std::to_string(tail_) + " canary bytes up to the guard page)";
  }

  // "dst[OFF]=X, expected Y" for the first byte that differs from ref[0, len);
  // with elem_size != 0, "dst[OFF] (element E)=X, expected Y".
  std::string mismatch(const unsigned char* ref, std::size_t elem_size = 0) const {
    if (len_ == 0 || std::memcmp(dst_, ref, len_) == 0) return {};
    const std::size_t off = first_diff(dst_, ref, len_);
    std::string at = "dst[" + std::to_string(off) + "]";
    if (elem_size != 0) at += " (element " + std::to_string(off / elem_size) + ")";
    return at + "=" + std::to_string(dst_[off]) + ", expected " + std::to_string(ref[off]);
  }

  // Everything of the above that went wrong, "; "-separated.
  std::string problems(const unsigned char* ref, std::size_t elem_size = 0) const {
    std::string what = mismatch(ref, elem_size);
    add_problem(what, wrote_before());
    add_problem(what, wrote_after());
    return what;
  }

 private:
  unsigned char* dst_;
  std::size_t len_;
  std::size_t tail_;  // canary bytes from end() to the guard page
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

// The families of kAllFamilies that this CPU lacks. When there are none, it
// reports the calling test case as skipped (see run_for_family), `what` naming
// the check that needs one.
inline std::vector<const char*> unsupported_families_or_skip(const char* what) {
  std::vector<const char*> lacking;
  for (const char* f : kAllFamilies)
    if (!family_supported(f)) lacking.push_back(f);
  if (lacking.empty()) MESSAGE("skipped: ", std::string(what), " (this CPU supports every family)");
  return lacking;
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

// ---------------------------------------------------------------------------
// Child processes

// Waits up to `limit` for the child; kills it and returns -1 if it is still
// running then, else its exit status (or 128 + signal).
inline int wait_for_child(pid_t pid, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 && errno != EINTR) return -2;
    if (std::chrono::steady_clock::now() > until) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace ntc_test

// One test case per kernel family, each named "<title>: <family>".
#define NTC_PER_FAMILY_TEST(title, fn)                                      \
  TEST_CASE(title ": avx512") { ::ntc_test::run_for_family("avx512", fn); } \
  TEST_CASE(title ": avx") { ::ntc_test::run_for_family("avx", fn); }       \
  TEST_CASE(title ": movnti") { ::ntc_test::run_for_family("movnti", fn); } \
  TEST_CASE(title ": generic") { ::ntc_test::run_for_family("generic", fn); }

// Clears errno, makes the call and checks that it failed: returned `failed`
// and set errno to `err`.
#define NTC_CHECK_FAILS(call, failed, err) \
  do {                                     \
    errno = 0;                             \
    CHECK((call) == (failed));             \
    CHECK(errno == (err));                 \
  } while (0)

#endif  // NTCOPY_TESTS_TEST_UTIL_H
