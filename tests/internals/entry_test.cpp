// Each family's entries for ntc_memcpy and ntc_fill (kernels/kernel_table.h),
// called directly. The library's objects are linked into this test, so the
// entries that the loader did not bind on this CPU run too. Checked: the bytes
// of the fast paths (copies of every length through the family's own loop and
// past it, overlap both ways; fills of every template size up to 300 bytes and
// several counts), the checked path behind them, errors, that only the active
// family's fast path is open, and which entries the loader binds.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "cpu.h"
#include "kernel_table.h"
#include "select.h"
#include "test_util.h"

using namespace ntc_test;

namespace {

struct EntryOf {
  const char* family;
  const ntcopy::KernelTable* table;
  ntcopy::MemcpyEntry entry;
  ntcopy::FillEntry fill;
};

const std::vector<EntryOf>& all_entries() {
  static const std::vector<EntryOf> all = {
#if defined(NTCOPY_X86_64)
      {"avx512", &ntcopy::avx512::kTable, ntcopy::avx512::memcpy_entry,
       ntcopy::avx512::fill_entry},
      {"avx", &ntcopy::avx::kTable, ntcopy::avx::memcpy_entry, ntcopy::avx::fill_entry},
      {"movnti", &ntcopy::movnti::kTable, ntcopy::movnti::memcpy_entry,
       ntcopy::movnti::fill_entry},
#endif
      {"generic", &ntcopy::generic::kTable, ntcopy::generic::memcpy_entry,
       ntcopy::generic::fill_entry},
  };
  return all;
}

const EntryOf& entry_of(std::string_view family) {
  for (const EntryOf& e : all_entries())
    if (family == e.family) return e;
  FAIL("no entry for family ", std::string(family));
  return all_entries().front();
}

// What dispatch must have set: the active family's bound open, every other 0.
void check_only_active_bound_open() {
  const std::string_view active = ntc_kernel();
  const std::size_t open =
      std::clamp(ntc_nt_threshold(), ntcopy::kMinStreamed, ntcopy::kMaxFastPath);
  for (const EntryOf& e : all_entries()) {
    INFO("active family ", std::string(active), ", bound of ", e.family);
    CHECK(e.table->fast_path_below->load() == (active == e.family ? open : 0));
  }
}

// The longest copy the widest family makes with its own vectors, and beyond.
constexpr std::size_t kMaxLen = 8192 + 3 * 64;

// Non-overlapping copies of every length 0..kMaxLen, source and destination
// each ending within 63 bytes of a guard page, canaries around the destination.
void every_length(ntcopy::MemcpyEntry entry, const char* fam) {
  Rng rng(0xe00);
  GuardedBuffer sbuf(kMaxLen + 64), dbuf(kMaxLen + 64 + kPre);
  rng.fill_bytes(sbuf.begin(), sbuf.size(), kCanary);
  FailureBudget budget;
  std::size_t calls = 0;
  auto one = [&](std::size_t n, std::size_t src_mis, std::size_t dst_mis) {
    const unsigned char* src = sbuf.place(n, src_mis);
    GuardedDestination target(dbuf, n, dst_mis);
    OpScope op("memcpy_entry", 0, n, 0, target.dst(), src);
    ++calls;
    void* r = entry(target.dst(), src, n, 0);
    std::string what = r == target.dst() ? target.problems(src) : "did not return dst";
    budget.report(std::string("memcpy_entry of ") + fam + " n=" + std::to_string(n) +
                      " src%64=" + std::to_string(src_mis) + " dst%64=" + std::to_string(dst_mis),
                  what);
  };
  for (std::size_t n = 0; n <= kMaxLen && !budget.exhausted(); ++n)
    one(n, (n * 13) % 64, (n * 7 + 3) % 64);
  // Every destination misalignment where the size classes change.
  for (std::size_t n = 0; n <= 600 && !budget.exhausted(); ++n)
    for (std::size_t dm = 0; dm < 64; dm += 1 + n % 5) one(n, (dm * 5 + n) % 64, dm);
  MESSAGE(std::string(fam), ": ", calls, " copies through its memcpy entry checked");
  CHECK(budget.failures == 0);
}

// dst = src + distance and dst = src - distance, the whole neighbourhood
// compared with memmove's result.
void overlapping(ntcopy::MemcpyEntry entry, const char* fam) {
  Rng rng(0xe01);
  constexpr std::size_t kLens[] = {1,   2,   3,   7,    8,    15,   16,   31,   32,   33,
                                   63,  64,  65,  127,  128,  129,  255,  256,  257,  511,
                                   512, 513, 600, 1000, 1024, 2047, 2048, 2049, 4095, 4096,
                                   4097, 8191, 8192, 8193, 8448, 8449, 9000};
  constexpr std::size_t kDists[] = {1,  2,   3,   7,   15,  16,  17,  31,  32,   33,  63,
                                    64, 65,  100, 127, 128, 129, 255, 256, 257,  511, 512,
                                    513, 1000, 2048, 4099, 8191, 8192, 8193};
  GuardedBuffer buf(9000 + 8193 + 64 + 2 * kPre);
  std::vector<unsigned char> expect;
  FailureBudget budget;
  unsigned variant = 0;
  for (std::size_t len : kLens)
    for (std::size_t dist : kDists)
      for (bool dst_above : {true, false}) {
        if (budget.exhausted()) break;
        unsigned char* base = buf.place(len + dist, (++variant * 7) % 64, kPre);
        unsigned char* lo = base - kPre;
        const std::size_t region = static_cast<std::size_t>(buf.end() - lo);
        rng.fill_bytes(lo, region);
        unsigned char* src = dst_above ? base : base + dist;
        unsigned char* dst = dst_above ? base + dist : base;
        expect.assign(lo, buf.end());
        std::memmove(expect.data() + (dst - lo), expect.data() + (src - lo), len);
        OpScope op("memcpy_entry", 0, len, 0, dst, src);
        void* r = entry(dst, src, len, 0);
        std::string what = r == dst ? neighbourhood_mismatch(lo, expect.data(), region, dst)
                                    : std::string("did not return dst");
        budget.report(std::string("memcpy_entry of ") + fam + " len=" + std::to_string(len) +
                          (dst_above ? " dst = src + " : " dst = src - ") + std::to_string(dist),
                      what);
      }
  CHECK(budget.failures == 0);
}

// The checked path's answers through the entry: errors write nothing.
void errors(ntcopy::MemcpyEntry entry) {
  std::vector<unsigned char> buf(256, kCanary);
  unsigned char src[64] = {1, 2, 3};
  NTC_CHECK_FAILS(entry(nullptr, src, 5, 0), nullptr, EINVAL);
  NTC_CHECK_FAILS(entry(buf.data(), nullptr, 5, 0), nullptr, EINVAL);
  NTC_CHECK_FAILS(entry(buf.data(), src, 5, 8), nullptr, EINVAL);
  NTC_CHECK_FAILS(entry(buf.data(), src, 5, NTC_F_TEMPORAL | NTC_F_NONTEMPORAL), nullptr, EINVAL);
  NTC_CHECK_FAILS(entry(buf.data(), src, SIZE_MAX - 3, 0), nullptr, EOVERFLOW);
  auto* top = reinterpret_cast<unsigned char*>(UINTPTR_MAX - 15);
  NTC_CHECK_FAILS(entry(top, src, 32, 0), nullptr, EOVERFLOW);
  CHECK(all_bytes(buf.data(), buf.size(), kCanary));
  CHECK(entry(nullptr, nullptr, 0, 0) == nullptr);  // n = 0: returns dst, here NULL
  CHECK(entry(buf.data(), src, 0, 0) == buf.data());
  CHECK(all_bytes(buf.data(), buf.size(), kCanary));
}

// With `fam` active: its own entry copies on the fast path; every other
// family's entry, its bound closed, hands the same copies to the active table.
void family_entries(const char* fam) {
  check_only_active_bound_open();
  every_length(entry_of(fam).entry, fam);
  overlapping(entry_of(fam).entry, fam);
  errors(entry_of(fam).entry);
  for (const EntryOf& e : all_entries()) {
    if (std::string_view(e.family) == fam) continue;
    INFO("the entry of ", std::string(e.family), ", not active");
    overlapping(e.entry, e.family);
    errors(e.entry);
  }
}

// Fills through one fill entry: every template size 1..300 with several
// counts and destination misalignments, the destination against a guard page
// between canaries, compared with the reference loop. `sizes_step` thins the
// sizes for the entries of inactive families.
void fill_shapes(ntcopy::FillEntry entry, const char* fam, std::size_t sizes_step) {
  Rng rng(0xe02);
  constexpr std::size_t kCounts[] = {1, 2, 3, 5, 17, 64};
  constexpr std::size_t kMaxSize = 300;
  GuardedBuffer dbuf(kMaxSize * 64 + 64 + kPre);
  std::vector<unsigned char> tmpl(kMaxSize), expect(kMaxSize * 64);
  FailureBudget budget;
  std::size_t calls = 0;
  for (std::size_t size = 1; size <= kMaxSize && !budget.exhausted(); size += sizes_step) {
    rng.fill_bytes(tmpl.data(), size, kCanary);
    for (std::size_t count : kCounts) {
      const std::size_t total = size * count, mis = (size * 7 + count) % 64;
      GuardedDestination target(dbuf, total, mis);
      reference_fill(expect.data(), tmpl.data(), size, count);
      OpScope op("fill_entry", 0, size, count, target.dst());
      ++calls;
      const int rc = entry(target.dst(), tmpl.data(), size, count, 0);
      const std::string what = rc == 0 ? target.problems(expect.data(), size) : "returned -1";
      budget.report(std::string("fill_entry of ") + fam + " size=" + std::to_string(size) +
                        " count=" + std::to_string(count) + " dst%64=" + std::to_string(mis),
                    what);
    }
  }
  MESSAGE(std::string(fam), ": ", calls, " fills through a fill entry checked");
  CHECK(budget.failures == 0);
}

// What the fill entry hands to the checked path: a template inside the
// destination (replicated as it was at entry), errors that write nothing.
void fill_checked_cases(ntcopy::FillEntry entry) {
  std::vector<unsigned char> buf(4096, kCanary), expect(4096, kCanary);
  for (std::size_t i = 0; i < 100; ++i) buf[1000 + i] = static_cast<unsigned char>(i + 1);
  // The template is bytes 1000..1099, inside the destination 950..950+100*20.
  std::vector<unsigned char> tmpl(buf.begin() + 1000, buf.begin() + 1100);
  expect = buf;
  reference_fill(expect.data() + 950, tmpl.data(), 100, 20);
  CHECK(entry(buf.data() + 950, buf.data() + 1000, 100, 20, 0) == 0);
  CHECK(buf == expect);
  // Overlap by one byte at either end of the destination; and just apart.
  for (const long shift : {-99L, 2000L - 1, -100L, 2000L}) {
    INFO("template at dst + ", shift);
    for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<unsigned char>(i * 7 + 3);
    unsigned char* dst = buf.data() + 1000;
    const unsigned char* at = dst + shift;
    tmpl.assign(at, at + 100);
    expect = buf;
    reference_fill(expect.data() + 1000, tmpl.data(), 100, 20);
    CHECK(entry(dst, at, 100, 20, 0) == 0);
    CHECK(buf == expect);
  }

  std::vector<unsigned char> dst(256, kCanary);
  const unsigned char t[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  NTC_CHECK_FAILS(entry(nullptr, t, 8, 4, 0), -1, EINVAL);
  NTC_CHECK_FAILS(entry(dst.data(), nullptr, 8, 4, 0), -1, EINVAL);
  NTC_CHECK_FAILS(entry(dst.data(), t, 0, 4, 0), -1, EINVAL);
  NTC_CHECK_FAILS(entry(dst.data(), t, 8, 4, 8), -1, EINVAL);
  NTC_CHECK_FAILS(entry(dst.data(), t, 8, SIZE_MAX / 4, 0), -1, EOVERFLOW);
  auto* top = reinterpret_cast<unsigned char*>(UINTPTR_MAX - 15);
  NTC_CHECK_FAILS(entry(top, t, 8, 4, 0), -1, EOVERFLOW);
  CHECK(entry(dst.data(), t, 8, 0, 0) == 0);  // count 0: nothing to write
  CHECK(all_bytes(dst.data(), dst.size(), kCanary));
}

// With `fam` active: its own fill entry fills on the fast path; every other
// family's, its bound closed, hands the same fills to the active table.
void family_fill_entries(const char* fam) {
  check_only_active_bound_open();
  fill_shapes(entry_of(fam).fill, fam, 1);
  fill_checked_cases(entry_of(fam).fill);
  for (const EntryOf& e : all_entries()) {
    if (std::string_view(e.family) == fam) continue;
    INFO("the fill entry of ", std::string(e.family), ", not active");
    fill_shapes(e.fill, e.family, 7);
    fill_checked_cases(e.fill);
  }
}

}  // namespace

NTC_PER_FAMILY_TEST("memcpy entry: every length, overlap, errors", family_entries)
NTC_PER_FAMILY_TEST("fill entry: template sizes 1-300, template inside dst, errors",
                    family_fill_entries)

TEST_CASE("memcpy entries: only the active family's fast path is open") {
  ntc_use_kernel("auto");
  check_only_active_bound_open();
  for (int round = 0; round < 3; ++round)
    for (const std::string& fam : supported_families()) {
      REQUIRE(ntc_use_kernel(fam.c_str()) == 0);
      check_only_active_bound_open();
      errno = 0;
      CHECK(ntc_use_kernel("no-such-family") == -1);  // fails, and changes nothing
      check_only_active_bound_open();
    }
  ntc_use_kernel("auto");
  check_only_active_bound_open();
}

#if defined(NTCOPY_X86_64)
TEST_CASE("ntc_memcpy and ntc_fill are bound to the entries of the family auto selection picks") {
  // libgcc's reading of the CPU (the loader's) against cpu_features' (the
  // library's), with no environment in between.
  const ntcopy::Family best = ntcopy::best_family(ntcopy::probe_cpu());
  const std::string_view name = ntcopy::family_name(best);
  INFO("auto selection without environment: ", std::string(name));
  const bool memcpy_bound_to_it = ntcopy::memcpy_entry_for_cpu() == entry_of(name).entry;
  const bool fill_bound_to_it = ntcopy::fill_entry_for_cpu() == entry_of(name).fill;
  CHECK(memcpy_bound_to_it);
  CHECK(fill_bound_to_it);
}
#endif
