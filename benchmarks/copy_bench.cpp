// The copy sweep: ntc_memcpy (each family and auto, flags 0), glibc memcpy
// and libpmem's pmem_memcpy, with the destination on a page boundary like
// the source, a few bytes past one, or half a page past one.
// Each variant is timed in rounds interleaved with glibc memcpy of the same
// bytes.
#include <libpmem.h>
#include <ntcopy/ntcopy.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "bench_util.h"
#include "suite.h"

namespace suite {
namespace {

// Copy n bytes from a page-aligned source to dst + offset.
struct CopyJob {
  unsigned char* dst;
  const unsigned char* src;
  size_t n;
};

enum class CopyKind { ntcopy, glibc, pmem_nontemporal, pmem_default };

struct CopyVariant {
  std::string name;
  CopyKind kind;
};

// One out-of-line function per kind, each a tail call of the library, all
// timed by the same loop (bench::time_calls).
using CopyFn = void* (*)(const CopyJob&);
[[gnu::noinline]] void* copy_ntcopy(const CopyJob& j) { return ntc_memcpy(j.dst, j.src, j.n, 0); }
[[gnu::noinline]] void* copy_glibc(const CopyJob& j) {
  return std::memcpy(j.dst, j.src, j.n);  // n unknown: a call
}
[[gnu::noinline]] void* copy_pmem_nontemporal(const CopyJob& j) {
  return pmem_memcpy(j.dst, j.src, j.n, PMEM_F_MEM_NONTEMPORAL);
}
[[gnu::noinline]] void* copy_pmem_default(const CopyJob& j) {
  return pmem_memcpy(j.dst, j.src, j.n, 0);
}

CopyFn copy_fn(CopyKind kind) {
  switch (kind) {
    case CopyKind::ntcopy: return copy_ntcopy;
    case CopyKind::glibc: return copy_glibc;
    case CopyKind::pmem_nontemporal: return copy_pmem_nontemporal;
    case CopyKind::pmem_default: return copy_pmem_default;
  }
  return nullptr;
}

// Copies once; false when the call did not return dst.
bool run_copy(const CopyVariant& v, const CopyJob& j) { return copy_fn(v.kind)(j) == j.dst; }

std::vector<CopyVariant> copy_variants() {
  std::vector<CopyVariant> v;
  for (const auto& name : ntc_variants()) v.push_back({name, CopyKind::ntcopy});
  v.push_back({"memcpy", CopyKind::glibc});
  v.push_back({"pmem_nt", CopyKind::pmem_nontemporal});
  v.push_back({"pmem", CopyKind::pmem_default});
  return v;
}

// Where the destination starts past a page boundary; the source starts on
// one. From 0 to 33 each call's loads share their low 12 address bits with
// the last call's stores (4K aliasing), which can hold them back; at 2048 the
// two are half a page apart, and copies up to 2 KiB alias nothing.
constexpr size_t kDestinationOffsets[] = {0, 1, 8, 33, 2048};

constexpr size_t kSlack = 4096;  // room for the destination offset and the sentinel
static_assert(*std::max_element(std::begin(kDestinationOffsets), std::end(kDestinationOffsets)) +
                  bench::Sentinel::kBytes <=
              kSlack);
size_t g_copy_capacity = 0;

// Source (random non-zero bytes) and destination shared by every copy
// benchmark, sized at registration, prepared when first used.
struct CopyBuffers {
  bench::Buffer src{g_copy_capacity + kSlack, true, bench::Pages::huge},
      dst{g_copy_capacity + kSlack, true, bench::Pages::huge};
  CopyBuffers() {
    const auto chunk = bench::nonzero_bytes(size_t{1} << 20, 3333);
    for (size_t off = 0; off < src.size(); off += chunk.size())
      std::memcpy(src.data() + off, chunk.data(), std::min(chunk.size(), src.size() - off));
  }
};
CopyBuffers& copy_buffers() {
  static CopyBuffers b;
  return b;
}

// Poisons the destination with zeros (the source has none), fences the bytes
// on both sides, copies once and checks.
bool verify_copy(const CopyVariant& v, const CopyJob& j, unsigned char* base) {
  std::memset(base, 0xc3, static_cast<size_t>(j.dst - base));
  std::memset(j.dst, 0, j.n);
  bench::Sentinel after(j.dst + j.n);
  if (!run_copy(v, j) || std::memcmp(j.dst, j.src, j.n) != 0 || !after.intact()) return false;
  for (unsigned char* p = base; p < j.dst; ++p)
    if (*p != 0xc3) return false;
  return true;
}

void bench_copy(benchmark::State& st, const CopyVariant& v, size_t offset, size_t n) {
  CopyBuffers& b = copy_buffers();
  const CopyJob job{b.dst.data() + offset, b.src.data(), n};
  const CopyFn tested = copy_fn(v.kind), reference = copy_glibc;
  const size_t reps = reps_for(n);
  KernelScope scope(v.kind == CopyKind::ntcopy ? v.name : "auto");
  bench::Rounds<2> r;
  const bool prime = primes_destination(n);
  size_t round = 0;
  for (auto _ : st) {
    const auto t = bench::run_rotated(
        round++,
        [&] {
          if (prime) std::memset(job.dst, 0x11, n);
        },
        [&] { return bench::time_calls(tested, job, reps); },
        [&] { return bench::time_calls(reference, job, reps); });
    st.SetIterationTime(t[0]);
    r.add(t);
  }
  using bench::gbps;
  using bench::median;
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * reps * n));
  st.counters["GBps"] = gbps(n * reps, median(r.of(0)));
  st.counters["memcpy_GBps"] = gbps(n * reps, median(r.of(1)));
  // Speed relative to glibc memcpy, median over rounds (> 1: faster).
  st.counters["vs_memcpy"] = median(bench::ratios(r.of(1), r.of(0)));
  if (!verify_copy(v, job, b.dst.data()))  // also fails when ntc_memcpy returns NULL
    fail(st, "copy " + v.name + " of " + std::to_string(n) + " bytes to dst+" +
                 std::to_string(offset));
}

std::vector<size_t> copy_sizes(const Config& cfg) {
  const size_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;
  if (cfg.full) {
    // Every power of 2 up to 64 KiB, where the size classes of the copy
    // loops change, then powers of 4.
    std::vector<size_t> sizes;
    for (size_t n = 64; n < 64 * KiB; n *= 2) sizes.push_back(n);
    for (size_t n : powers_of_4(64 * KiB, GiB)) sizes.push_back(n);
    return sizes;
  }
  return {64, 4 * KiB, 256 * KiB, 16 * MiB, 256 * MiB};
}

}  // namespace

void register_copy(const Config& cfg) {
  for (size_t offset : kDestinationOffsets)
    for (size_t n : copy_sizes(cfg)) {
      g_copy_capacity = std::max(g_copy_capacity, n);
      for (const CopyVariant& v : copy_variants()) {
        const std::string name =
            "copy/" + std::to_string(offset) + "/" + v.name + "/" + std::to_string(n);
        add(cfg, name, {Section::copy, v.name, offset, n, {}},
            [v, offset, n](benchmark::State& st) { bench_copy(st, v, offset, n); });
      }
    }
}

}  // namespace suite
