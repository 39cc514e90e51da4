// Small timing and buffer helpers shared by the benchmark programs.
#ifndef NTCOPY_BENCHMARKS_BENCH_UTIL_H
#define NTCOPY_BENCHMARKS_BENCH_UTIL_H

#include <sys/mman.h>

#include <algorithm>
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

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Page-aligned anonymous memory, touched once so page faults stay out of the
// timings (unless the caller wants first-touch).
class Buffer {
 public:
  explicit Buffer(size_t bytes, bool touch = true) : bytes_(bytes) {
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      std::perror("mmap");
      std::exit(2);
    }
    data_ = static_cast<unsigned char*>(p);
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

// True when dst holds `count` copies of the template.
inline bool holds_copies(const unsigned char* dst, const unsigned char* tmpl, size_t size,
                         size_t count) {
  for (size_t i = 0; i < count; ++i)
    if (std::memcmp(dst + i * size, tmpl, size) != 0) return false;
  return true;
}

// True when dst holds the 64-byte pattern repeated over `bytes`.
inline bool holds_pattern(const unsigned char* dst, const unsigned char* pattern64, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64)
    if (std::memcmp(dst + off, pattern64, std::min<size_t>(64, bytes - off)) != 0) return false;
  return true;
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
