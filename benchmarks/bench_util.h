// Small timing and buffer helpers shared by the benchmark programs.
#ifndef NTCOPY_BENCHMARKS_BENCH_UTIL_H
#define NTCOPY_BENCHMARKS_BENCH_UTIL_H

#include <sched.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace bench {

// The seed's experiment: a 100 GB (100 GiB) namespace of 4 KiB pages has
// 26,214,400 pages, whose 64-byte page descriptors make 1.6 GiB of memmap.
constexpr size_t kSeedNamespacePages = size_t{100} << 30 >> 12;
constexpr size_t kSeedPageDescriptorBytes = 64;

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds taken by `reps` calls of fn.
template <class F>
double time_reps(F&& fn, size_t reps = 1) {
  const double t0 = now_seconds();
  for (size_t r = 0; r < reps; ++r) fn();
  return now_seconds() - t0;
}

// Seconds for `reps` calls of f(job). Every op of a benchmark point is timed
// by this one loop, so the ops differ only in the function called: with a
// loop of their own each (one lambda per op), glibc memcpy timed in the tested
// op's loop ran at 0.75 of itself in the reference op's loop at 64 bytes, and
// at 0.84-0.88 at 256 bytes, on the development machine. noipa: no clone of
// the loop specialised for a constant f.
template <class Result, class Job>
[[gnu::noipa]] double time_calls(Result (*f)(const Job&), const Job& job, size_t reps) {
  const double t0 = now_seconds();
  for (size_t r = 0; r < reps; ++r) f(job);
  return now_seconds() - t0;
}

// Runs each op once per round, in an order rotated by `round` so that no op
// always runs first; each op times itself and returns seconds. Before each op,
// prime() runs untimed to put the destination into the same state for every
// op (for small ranges the cost of a streaming store depends on whether the
// line is cached). Returns the ops' seconds, in argument order.
template <class Prime, class... Ops>
std::array<double, sizeof...(Ops)> run_rotated(size_t round, Prime&& prime, Ops&&... ops) {
  constexpr size_t n = sizeof...(Ops);
  std::array<double, n> t{};
  for (size_t k = 0; k < n; ++k) {
    const size_t want = (round + k) % n;
    size_t i = 0;
    prime();
    ((i++ == want ? static_cast<void>(t[want] = ops()) : static_cast<void>(0)), ...);
  }
  return t;
}

// Per-round times of N interleaved ops.
template <size_t N>
class Rounds {
 public:
  void add(const std::array<double, N>& t) {
    for (size_t i = 0; i < N; ++i) col_[i].push_back(t[i]);
  }
  const std::vector<double>& of(size_t op) const { return col_[op]; }

 private:
  std::array<std::vector<double>, N> col_;
};

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

inline double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

// Element-wise a[i] / b[i]: per-round ratios of interleaved samples, whose
// median cancels most of a shared machine's drift.
inline std::vector<double> ratios(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) r.push_back(a[i] / b[i]);
  return r;
}

inline double gbps(size_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0;
}

enum class Pages { base, huge };

// Page-aligned anonymous memory, touched once so page faults stay out of the
// timings (unless the caller wants first-touch). Pages::huge asks for
// transparent huge pages (MADV_HUGEPAGE), which the kernel may refuse.
class Buffer {
 public:
  explicit Buffer(size_t bytes, bool touch = true, Pages pages = Pages::base) : bytes_(bytes) {
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("mmap");
      std::exit(2);
    }
    data_ = static_cast<unsigned char*>(p);
    if (pages == Pages::huge) madvise(data_, bytes_, MADV_HUGEPAGE);
    if (touch) std::memset(data_, 0x5a, bytes_);
  }
  ~Buffer() { munmap(data_, bytes_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  unsigned char* data() const { return data_; }
  size_t size() const { return bytes_; }

 private:
  unsigned char* data_;
  size_t bytes_;
};

// Random bytes, none of them zero: zero data writes faster on some memory
// controllers and would flatter every variant.
inline std::vector<unsigned char> nonzero_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<unsigned char> v(n);
  for (auto& c : v) c = static_cast<unsigned char>(1 + rng() % 255);
  return v;
}

// True when dst holds `count` copies of the template. Compares in chunks of
// about 1 MiB against a prepared run of copies, so checking gigabytes takes
// about as long as reading them.
inline bool holds_copies(const unsigned char* dst, const unsigned char* tmpl, size_t size,
                         size_t count) {
  const size_t per_chunk = std::max<size_t>(1, (size_t{1} << 20) / size);
  std::vector<unsigned char> run(per_chunk * size);
  for (size_t i = 0; i < per_chunk; ++i) std::memcpy(run.data() + i * size, tmpl, size);
  for (size_t done = 0; done < count;) {
    const size_t n = std::min(per_chunk, count - done);
    if (std::memcmp(dst + done * size, run.data(), n * size) != 0) return false;
    done += n;
  }
  return true;
}

// True when dst holds the 64-byte pattern repeated over `bytes`.
inline bool holds_pattern(const unsigned char* dst, const unsigned char* pattern64, size_t bytes) {
  return holds_copies(dst, pattern64, 64, bytes / 64) &&
         std::memcmp(dst + bytes / 64 * 64, pattern64, bytes % 64) == 0;
}

// A few sentinel bytes just past a destination range, to catch a variant that
// writes beyond what it was asked to. The buffer must have them to spare.
class Sentinel {
 public:
  static constexpr size_t kBytes = 64;
  explicit Sentinel(unsigned char* end) : end_(end) { std::memset(end_, kValue, kBytes); }
  bool intact() const {
    for (size_t i = 0; i < kBytes; ++i)
      if (end_[i] != kValue) return false;
    return true;
  }

 private:
  static constexpr unsigned char kValue = 0xc3;
  unsigned char* end_;
};

// Keeps the calling thread on the CPU it runs on now, so that a benchmark's
// data stays in one core's caches (and, on VMs whose vCPUs sit on different
// L3 slices, in one L3). Returns that CPU, or -1 if pinning failed.
inline int pin_to_current_cpu() {
  const int cpu = sched_getcpu();
  if (cpu < 0) return -1;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0 ? cpu : -1;
}

inline std::string human_bytes(size_t b) {
  const char* unit[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  double v = static_cast<double>(b);
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf,
                v == static_cast<double>(static_cast<long long>(v)) ? "%.0f %s" : "%.1f %s", v,
                unit[u]);
  return buf;
}

}  // namespace bench

#endif  // NTCOPY_BENCHMARKS_BENCH_UTIL_H
