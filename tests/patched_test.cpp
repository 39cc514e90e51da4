// ntc_fill_patched: batch protocol (order, coverage, staging buffer) and the
// patched result, for every kernel family and store path.
#include <algorithm>
#include <vector>

#include "test_util.h"

using namespace ntc_test;

namespace {

// The patch applied to element i: two index-dependent, never-zero bytes.
inline unsigned char patch_byte(std::size_t i, int which) {
  return static_cast<unsigned char>((i * (which ? 131u : 37u) + (which ? 7u : 3u)) % 255 + 1);
}
inline void apply_patch(unsigned char* e, std::size_t i, std::size_t size) {
  e[i % size] = patch_byte(i, 0);
  e[(i * 7 + 3) % size] = patch_byte(i, 1);
}

struct PatchLog {
  // `tmpl`: the template's value at entry; `dst`: the destination of the call.
  PatchLog(const unsigned char* tmpl_at_entry, std::size_t elem_size, std::size_t elem_count,
           const unsigned char* dst)
      : tmpl(tmpl_at_entry),
        size(elem_size),
        count(elem_count),
        dst_lo(dst),
        dst_hi(dst + elem_size * elem_count) {}

  const unsigned char* tmpl;
  std::size_t size;
  std::size_t count;
  const unsigned char* dst_lo;
  const unsigned char* dst_hi;
  std::size_t next_first = 0;
  std::size_t calls = 0;
  std::size_t max_n = 0;
  bool check_fresh = true;
  std::string violation;  // the first broken rule

  void fail(std::string what) {
    if (violation.empty()) violation = std::move(what);
  }
};

void patch_cb(void* elems, std::size_t first, std::size_t n, std::size_t size, void* ctx) {
  auto& log = *static_cast<PatchLog*>(ctx);
  ++log.calls;
  log.max_n = std::max(log.max_n, n);
  auto* e = static_cast<unsigned char*>(elems);
  const std::string where = "batch " + std::to_string(log.calls) +
                            " (first=" + std::to_string(first) + " n=" + std::to_string(n) + "): ";
  if (size != log.size)
    log.fail(where + "size argument " + std::to_string(size) + " != " + std::to_string(log.size));
  if (first != log.next_first) log.fail(where + "expected first=" + std::to_string(log.next_first));
  if (n == 0) log.fail(where + "empty batch");
  if (first + n > log.count || first + n < first)
    log.fail(where + "batch goes past count=" + std::to_string(log.count));
  if (reinterpret_cast<std::uintptr_t>(elems) % 64 != 0)
    log.fail(where + "staging pointer not 64-byte aligned");
  const unsigned char* lo = e;
  const unsigned char* hi = e + n * log.size;
  if (lo < log.dst_hi && log.dst_lo < hi) log.fail(where + "staging elements overlap dst");
  if (!log.violation.empty() || first + n > log.count) {
    log.next_first = first + n;
    return;
  }
  for (std::size_t k = 0; k < n; ++k) {
    unsigned char* el = e + k * log.size;
    if (log.check_fresh && std::memcmp(el, log.tmpl, log.size) != 0) {
      log.fail(where + "element " + std::to_string(first + k) +
               " is not a fresh template copy (offset " +
               std::to_string(first_diff(el, log.tmpl, log.size)) + ")");
      break;
    }
    apply_patch(el, first + k, log.size);
  }
  log.next_first = first + n;
}

void reference_patched(unsigned char* out, const unsigned char* tmpl, std::size_t size,
                       std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    std::memcpy(out + i * size, tmpl, size);
    apply_patch(out + i * size, i, size);
  }
}

bool check_patched(const GuardedBuffer& buf, const FillCase& c, const unsigned char* tmpl,
                   std::vector<unsigned char>& ref, FailureBudget& budget) {
  ref.resize(c.size * c.count);
  reference_patched(ref.data(), tmpl, c.size, c.count);
  GuardedDestination target(buf, c.size * c.count, c.misalign);
  PatchLog log(tmpl, c.size, c.count, target.dst());
  errno = 0;
  int rc, err;
  {
    OpScope op("ntc_fill_patched", c.flags, c.size, c.count, target.dst());
    rc = ntc_fill_patched(target.dst(), tmpl, c.size, c.count, patch_cb, &log, c.flags);
    err = errno;
    drain_if_needed(c.flags);
  }

  std::string what;
  if (rc != 0) {
    what = "returned " + std::to_string(rc) + " errno=" + std::to_string(err);
  } else if (!log.violation.empty()) {
    what = log.violation;
  } else if (log.next_first != c.count) {
    what = "batches covered " + std::to_string(log.next_first) + " elements";
  } else if (c.count == 0 && log.calls != 0) {
    what = "patch called for count 0";
  } else {
    what = target.problems(ref.data(), c.size);
  }
  return budget.report("ntc_fill_patched " + describe(c), what);
}

void fill_patched(const char* fam) {
  Rng rng(0x500);
  constexpr std::size_t kSizes[] = {1,   2,   3,    7,    8,    13,   16,   24,   31,
                                    32,  33,  63,   64,   65,   96,   100,  127,  128,
                                    255, 256, 1000, 4096, 8191, 8192, 8193, 12345};
  constexpr std::size_t kCounts[] = {0, 1, 2, 5, 64, 333, 1000};
  constexpr std::size_t kMaxTotal = std::size_t{4} << 20;
  GuardedBuffer buf(kMaxTotal + 12345 * 2 + 64 + kPre);
  std::vector<unsigned char> tmpl(12345), ref;
  FailureBudget budget;
  std::size_t calls = 0;
  unsigned variant = 0;
  for (unsigned flags : {NTC_F_NONTEMPORAL, NTC_F_TEMPORAL, 0u, NTC_F_NODRAIN}) {
    const bool main_path = flags == NTC_F_NONTEMPORAL || flags == NTC_F_TEMPORAL;
    for (std::size_t size : kSizes) {
      rng.fill_bytes(tmpl.data(), size, kCanary);
      for (std::size_t count : kCounts) {
        if (size * count > kMaxTotal) continue;
        if (!main_path && count != 5 && count != 333) continue;
        // Two misalignments per shape (one of them 1 mod 64 or more, so dst is
        // always misaligned at least once), rotating through all 64.
        ++variant;
        for (std::size_t m : {std::size_t{1} + variant % 63, std::size_t{variant * 17u % 64u}}) {
          ++calls;
          check_patched(buf, {fam, flags, size, count, m}, tmpl.data(), ref, budget);
          if (budget.exhausted()) break;
        }
        if (budget.exhausted()) break;
      }
    }
  }
  MESSAGE(std::string(fam), ": ", calls, " patched fills checked");
  CHECK(budget.failures == 0);
}

// A patched fill larger than the maximum threshold with flags 0 (so it streams)
// and with NONTEMPORAL; many batches.
void fill_patched_large(const char* fam) {
  Rng rng(0x600);
  constexpr std::size_t kMin = std::size_t{64} << 20;
  GuardedBuffer buf(kMin + 4096 + 64 + kPre);
  std::vector<unsigned char> tmpl(100), expect(100);
  for (unsigned flags : {0u, NTC_F_NONTEMPORAL}) {
    const std::size_t size = 100;
    const std::size_t count = kMin / size + 3;
    const std::size_t total = size * count;
    const std::size_t m = flags == 0 ? 5 : 42;
    INFO(describe(FillCase{fam, flags, size, count, m}));
    rng.fill_bytes(tmpl.data(), size, kCanary);
    GuardedDestination target(buf, total, m);
    unsigned char* dst = target.dst();
    PatchLog log(tmpl.data(), size, count, dst);
    errno = 0;
    OpScope op("ntc_fill_patched", flags, size, count, dst);
    const int rc = ntc_fill_patched(dst, tmpl.data(), size, count, patch_cb, &log, flags);
    INFO("errno=", errno);
    REQUIRE(rc == 0);
    CHECK_MESSAGE(log.violation.empty(), log.violation);
    CHECK(log.next_first == count);
    CHECK(log.calls > 1);
    std::size_t bad = count;
    for (std::size_t i = 0; i < count; ++i) {
      std::memcpy(expect.data(), tmpl.data(), size);
      apply_patch(expect.data(), i, size);
      if (std::memcmp(dst + i * size, expect.data(), size) != 0) {
        bad = i;
        break;
      }
    }
    CHECK_MESSAGE(bad == count, "element ", bad, " differs from the patched template");
    const std::string before = target.wrote_before(), after = target.wrote_after();
    CHECK_MESSAGE(before.empty(), before);
    CHECK_MESSAGE(after.empty(), after);
    MESSAGE(std::string(fam), " flags=", flags_name(flags), ": ", log.calls,
            " batches, largest n=", log.max_n);
  }
}

// The template overlaps the destination: the patch still sees the template's
// value at entry, every time.
void fill_patched_overlap(const char* fam) {
  Rng rng(0x700);
  GuardedBuffer buf(20000 * 9 + 64 + kPre);
  std::vector<unsigned char> tmpl_copy, ref;
  for (std::size_t size : {std::size_t{24}, std::size_t{100}, std::size_t{9000}}) {
    for (unsigned flags : kStorePaths) {
      const std::size_t count = 9;
      const std::size_t total = size * count;
      unsigned char* dst = buf.place(total, 13, kPre);
      rng.fill_bytes(dst, total, kCanary);
      const unsigned char* tmpl = dst + 4 * size + 3;  // inside element 4 and 5
      tmpl_copy.assign(tmpl, tmpl + size);
      ref.resize(total);
      reference_patched(ref.data(), tmpl_copy.data(), size, count);
      PatchLog log(tmpl_copy.data(), size, count, dst);
      INFO("family=", std::string(fam), " flags=", flags_name(flags), " size=", size);
      errno = 0;
      OpScope op("ntc_fill_patched", flags, size, count, dst);
      const int rc = ntc_fill_patched(dst, tmpl, size, count, patch_cb, &log, flags);
      INFO("errno=", errno);
      REQUIRE(rc == 0);
      CHECK_MESSAGE(log.violation.empty(), log.violation);
      CHECK(log.next_first == count);
      CHECK(std::memcmp(dst, ref.data(), total) == 0);
    }
  }
}

}  // namespace

NTC_PER_FAMILY_TEST("fill_patched shapes", fill_patched)
NTC_PER_FAMILY_TEST("fill_patched large (64 MiB)", fill_patched_large)
NTC_PER_FAMILY_TEST("fill_patched with template overlapping dst", fill_patched_overlap)
