// ntc_fill: the size x misalignment x count matrix, large streaming fills and
// templates that overlap the destination, for every kernel family.
#include <algorithm>
#include <cstring>
#include <vector>

#include "guard/guard_util.h"
#include "test_util.h"

using namespace ntc_test;

namespace {

// Fills a destination placed with its end against the guard page (at most 63
// canary bytes between them) and checks it against `ref`, the canaries in front
// and the bytes after. Returns false (having reported) on a mismatch.
bool check_fill(const GuardedBuffer& buf, const FillCase& c, const unsigned char* tmpl,
                const unsigned char* ref, FailureBudget& budget) {
  GuardedDestination target(buf, c.size * c.count, c.misalign);
  errno = 0;
  int rc, err;
  {
    OpScope op("ntc_fill", c.flags, c.size, c.count, target.dst());
    rc = ntc_fill(target.dst(), tmpl, c.size, c.count, c.flags);
    err = errno;
    drain_if_needed(c.flags);
  }

  const std::string what = rc != 0
                               ? "returned " + std::to_string(rc) + " errno=" + std::to_string(err)
                               : target.problems(ref);
  return budget.report("ntc_fill " + describe(c), what);
}

void fill_matrix(const char* fam) {
  Rng rng(0x100);
  constexpr std::size_t kMaxSize = 256;
  constexpr std::size_t kCounts[] = {0, 1, 2, 3, 7, 64, 1000};
  GuardedBuffer buf(kMaxSize * 1000 + 64 + kPre);
  // The template sits at a different alignment for each size.
  std::vector<unsigned char> tmpl_buf(kMaxSize + 64), ref(kMaxSize * 1000);
  unsigned char* tmpl = tmpl_buf.data();
  FailureBudget budget;
  std::size_t calls = 0;

  // Both store paths: every size x every misalignment for the small counts;
  // count 1000 samples 16 misalignments per size (including the one that puts
  // the last byte right before the guard page), rotating through all 64.
  for (unsigned flags : kStorePaths) {
    for (std::size_t size = 1; size <= kMaxSize && !budget.exhausted(); ++size) {
      tmpl = tmpl_buf.data() + (size * 5) % 64;
      rng.fill_bytes(tmpl, size, kCanary);
      for (std::size_t count : kCounts) {
        reference_fill(ref.data(), tmpl, size, count);
        const std::size_t total = size * count;
        if (count < 1000) {
          for (std::size_t m = 0; m < 64; ++m, ++calls)
            if (!check_fill(buf, {fam, flags, size, count, m}, tmpl, ref.data(), budget) &&
                budget.exhausted())
              break;
        } else {
          const std::size_t flush = (64 - total % 64) % 64;
          for (std::size_t k = 0; k < 16; ++k) {
            const std::size_t m = k == 0 ? flush : (size + k * 4) % 64;
            ++calls;
            check_fill(buf, {fam, flags, size, count, m}, tmpl, ref.data(), budget);
          }
        }
      }
    }
  }
  // Flags 0 (cached stores at these sizes), NODRAIN and NONTEMPORAL|NODRAIN:
  // every size, a few counts, two misalignments each.
  for (unsigned flags : kOtherFlags) {
    for (std::size_t size = 1; size <= kMaxSize && !budget.exhausted(); ++size) {
      tmpl = tmpl_buf.data() + (size * 3) % 64;
      rng.fill_bytes(tmpl, size, kCanary);
      for (std::size_t count : {std::size_t{1}, std::size_t{3}, std::size_t{64}}) {
        reference_fill(ref.data(), tmpl, size, count);
        for (std::size_t m : {(size * 7) % 64, (size * 7 + 33) % 64}) {
          ++calls;
          check_fill(buf, {fam, flags, size, count, m}, tmpl, ref.data(), budget);
        }
      }
    }
  }
  MESSAGE(std::string(fam), ": ", calls, " fill calls checked");
  CHECK_MESSAGE(budget.failures == 0, "fill matrix failures for ", std::string(fam),
                " (stopped after ", budget.max, ")");
}

// At least 64 MiB per call, so that flags 0 streams too (the threshold is at
// most 64 MiB), with the end against the guard page.
void fill_large(const char* fam) {
  Rng rng(0x200);
  constexpr std::size_t kMin = std::size_t{64} << 20;
  constexpr std::size_t kSizes[] = {8, 56, 64, 72, 96, 100, 4096};
  GuardedBuffer buf(kMin + 4 * 4096 + 64 + kPre);
  std::vector<unsigned char> tmpl(4096);
  std::vector<unsigned char> chunk;
  unsigned variant = 0;
  for (std::size_t size : kSizes) {
    for (unsigned flags : {NTC_F_NONTEMPORAL, 0u}) {
      ++variant;
      const std::size_t count = kMin / size + 1 + variant % 3;
      const std::size_t total = size * count;
      const std::size_t m = (size * 13 + variant * 5) % 64;
      const FillCase c{fam, flags, size, count, m};
      INFO(describe(c));
      rng.fill_bytes(tmpl.data(), size, kCanary);
      // A reference chunk of whole elements, compared against each slice of dst.
      const std::size_t per = std::max<std::size_t>(1, (std::size_t{256} << 10) / size);
      chunk.resize(per * size);
      reference_fill(chunk.data(), tmpl.data(), size, per);

      GuardedDestination target(buf, total, m);
      unsigned char* dst = target.dst();

      errno = 0;
      OpScope op("ntc_fill", flags, size, count, dst);
      const int rc = ntc_fill(dst, tmpl.data(), size, count, flags);
      INFO("errno=", errno);
      REQUIRE(rc == 0);
      bool ok = true;
      for (std::size_t off = 0; off < total && ok; off += chunk.size()) {
        const std::size_t len = std::min(chunk.size(), total - off);
        if (std::memcmp(dst + off, chunk.data(), len) != 0) {
          const std::size_t d = first_diff(dst + off, chunk.data(), len);
          FAIL_CHECK("dst[" << off + d << "]=" << int(dst[off + d]) << ", expected "
                            << int(chunk[d]));
          ok = false;
        }
      }
      const std::string before = target.wrote_before(), after = target.wrote_after();
      CHECK_MESSAGE(before.empty(), before);
      CHECK_MESSAGE(after.empty(), after);
    }
  }
}

// Templates of up to 20000 bytes (more than the 8 KiB the library copies aside
// or images), apart from the destination and overlapping it. An overlapping
// template's value at entry is replicated.
// The image of the whole neighbourhood is compared, so bytes around the
// destination (including the template's bytes outside it) must be unchanged.
void fill_templates(const char* fam) {
  Rng rng(0x300);
  constexpr std::size_t kSizes[] = {1, 3, 8, 64, 100, 4096, 8192, 8193, 12345, 20000};
  constexpr std::size_t kCounts[] = {1, 2, 3, 7, 40};
  enum Where { kApart, kAtDst, kMiddle, kBeforeDst, kOverEnd, kLastByteIsFirst, kFirstByteIsLast };
  const char* where_name[] = {"tmpl apart from dst",
                              "tmpl == dst",
                              "tmpl inside dst",
                              "tmpl overlaps dst's start",
                              "tmpl overlaps dst's end",
                              "tmpl's last byte is dst's first",
                              "tmpl's first byte is dst's last"};
  std::vector<unsigned char> apart(20000);
  constexpr std::size_t kMaxTotal = 20000 * 40;
  GuardedBuffer buf(kMaxTotal + 2 * 20000 + 64 + kPre + 64);
  std::vector<unsigned char> snapshot, expect, tmpl_copy;
  unsigned variant = 0;
  for (std::size_t size : kSizes) {
    for (std::size_t count : kCounts) {
      for (int where = kApart; where <= kFirstByteIsLast; ++where) {
        if (where == kMiddle && count < 3) continue;
        if (where >= kBeforeDst && size < 2) continue;
        for (unsigned flags : {NTC_F_NONTEMPORAL, NTC_F_TEMPORAL, 0u}) {
          ++variant;
          const std::size_t total = size * count;
          const std::size_t m = (variant * 11) % 64;
          // Room for the template on either side of the destination.
          unsigned char* region_hi = buf.end();
          unsigned char* dst = buf.place(total + size, m, kPre + size);
          unsigned char* region_lo = dst - size - kPre;
          const std::size_t region = static_cast<std::size_t>(region_hi - region_lo);
          rng.fill_bytes(region_lo, region, kCanary);

          const unsigned char* tmpl = dst;
          switch (where) {
            case kApart:
              rng.fill_bytes(apart.data(), size, kCanary);
              tmpl = apart.data();
              break;
            case kAtDst: tmpl = dst; break;
            case kMiddle: tmpl = dst + (count / 2) * size + (size > 1 ? 1 : 0); break;
            case kBeforeDst: tmpl = dst - size / 2; break;
            case kOverEnd: tmpl = dst + total - size / 2; break;
            case kLastByteIsFirst: tmpl = dst - size + 1; break;
            case kFirstByteIsLast: tmpl = dst + total - 1; break;
          }
          tmpl_copy.assign(tmpl, tmpl + size);
          snapshot.assign(region_lo, region_hi);
          expect = snapshot;
          reference_fill(expect.data() + (dst - region_lo), tmpl_copy.data(), size, count);

          errno = 0;
          OpScope op("ntc_fill", flags, size, count, dst);
          const int rc = ntc_fill(dst, tmpl, size, count, flags);
          const int err = errno;
          drain_if_needed(flags);
          INFO("family=", std::string(fam), " ", std::string(where_name[where]), " size=", size,
               " count=", count, " flags=", flags_name(flags), " dst%64=", m);
          if (rc != 0) {
            FAIL_CHECK("ntc_fill returned " << rc << " errno=" << err);
            continue;
          }
          const std::string bad = neighbourhood_mismatch(region_lo, expect.data(), region, dst);
          if (!bad.empty()) FAIL_CHECK(bad);
        }
      }
    }
  }
  CHECK(variant > 0);
}

void leave_staged_elements(void*, std::size_t, std::size_t, std::size_t, void*) {}

// Templates larger than the guard-page matrix's (up to 512 bytes, tests/guard)
// are read where they lie too: copied from in place, and loaded into images.
// Each lies read-only against a guard page, first ending at one, then
// starting right after one, so a read past either end or a store into it
// faults. ntc_fill and ntc_fill_patched, every store choice.
void fill_large_template_bounds(const char* fam) {
  Rng rng(0x500);
  constexpr std::size_t kSizes[] = {513, 1000, 1600, 4096, 4097, 8192, 8193, 12345, 20000};
  constexpr std::size_t kCounts[] = {1, 2, 3, 7, 40};
  constexpr std::size_t kMaxSize = 20000;
  ntc_guard::FencedRegion region(kMaxSize);
  std::vector<unsigned char> dst_buf(kMaxSize * 40 + 64), ref(kMaxSize * 40);
  FailureBudget budget;
  std::size_t calls = 0;
  for (std::size_t size : kSizes) {
    for (const bool at_end : {true, false}) {
      region.protect(PROT_READ | PROT_WRITE);
      unsigned char* tmpl = at_end ? region.end() - size : region.begin();
      rng.fill_bytes(tmpl, size, kCanary);
      region.protect(PROT_READ);
      for (std::size_t count : kCounts) {
        reference_fill(ref.data(), tmpl, size, count);
        const std::size_t total = size * count;
        for (unsigned flags : {0u, NTC_F_TEMPORAL, NTC_F_NONTEMPORAL}) {
          for (const bool patched : {false, true}) {
            // dst % 64 == 0 lets an aligned template be read in place.
            const std::size_t m = patched ? (size * 7 + count) % 64 : 0;
            unsigned char* dst = dst_buf.data() + m;
            std::memset(dst, kCanary, total);
            const FillCase c{fam, flags, size, count, m};
            errno = 0;
            int rc;
            {
              OpScope op(patched ? "ntc_fill_patched" : "ntc_fill", flags, size, count, dst, tmpl);
              rc = patched ? ntc_fill_patched(dst, tmpl, size, count, leave_staged_elements,
                                              nullptr, flags)
                           : ntc_fill(dst, tmpl, size, count, flags);
            }
            ++calls;
            std::string what;
            if (rc != 0) {
              what = "returned " + std::to_string(rc) + " errno=" + std::to_string(errno);
            } else if (const std::size_t d = first_diff(dst, ref.data(), total); d != total) {
              what = "dst[" + std::to_string(d) + "]=" + std::to_string(dst[d]) + ", expected " +
                     std::to_string(ref[d]);
            }
            budget.report(std::string(patched ? "ntc_fill_patched " : "ntc_fill ") + describe(c) +
                              (at_end ? ", tmpl ending at a guard page"
                                      : ", tmpl starting right after one"),
                          what);
            if (budget.exhausted()) return;
          }
        }
      }
    }
  }
  MESSAGE(std::string(fam), ": ", calls, " fills of fenced templates checked");
  CHECK(budget.failures == 0);
}

}  // namespace

NTC_PER_FAMILY_TEST("fill matrix (sizes 1-256 x dst%64 x counts)", fill_matrix)
NTC_PER_FAMILY_TEST("fill large (64 MiB)", fill_large)
NTC_PER_FAMILY_TEST("fill large templates and templates overlapping dst", fill_templates)
NTC_PER_FAMILY_TEST("fill reads only the template, large ones (guard pages on both sides)",
                    fill_large_template_bounds)

TEST_CASE("fill count 0 is a no-op") {
  unsigned char tmpl[16];
  Rng(0x400).fill_bytes(tmpl, sizeof tmpl, kCanary);
  std::vector<unsigned char> buf(64, kCanary);
  for (unsigned flags : {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL, NTC_F_NODRAIN}) {
    INFO("flags=", flags_name(flags));
    errno = 0;
    CHECK(ntc_fill(nullptr, nullptr, 16, 0, flags) == 0);
    CHECK(ntc_fill(nullptr, tmpl, 16, 0, flags) == 0);
    CHECK(ntc_fill(buf.data() + 3, nullptr, 16, 0, flags) == 0);
    CHECK(ntc_fill(buf.data() + 3, tmpl, 16, 0, flags) == 0);
    CHECK(ntc_fill(buf.data() + 3, tmpl, 1, 0, flags) == 0);
    CHECK(all_bytes(buf.data(), buf.size(), kCanary));
  }
}
