// ntc_memcpy: every length 0..4096 with sampled src/dst misalignments, large
// random lengths, and overlapping ranges in both directions, per kernel family.
#include <algorithm>
#include <vector>

#include "test_util.h"

using namespace ntc_test;

namespace {

struct CCase {
  const char* family;
  unsigned flags;
  std::size_t n, src_mis, dst_mis;
};

std::string describe(const CCase& c) {
  return std::string("family=") + c.family + " flags=" + flags_name(c.flags) +
         " n=" + std::to_string(c.n) + " src%64=" + std::to_string(c.src_mis) +
         " dst%64=" + std::to_string(c.dst_mis);
}

// Source and destination both end against (within 63 bytes of) a guard page,
// so reading past the source or writing past the destination faults.
bool check_copy(const GuardedBuffer& sbuf, const std::vector<unsigned char>& pristine,
                const GuardedBuffer& dbuf, const CCase& c, FailureBudget& budget) {
  const unsigned char* src = sbuf.place(c.n, c.src_mis);
  const std::size_t src_off = static_cast<std::size_t>(src - sbuf.begin());
  GuardedDestination target(dbuf, c.n, c.dst_mis);
  unsigned char* dst = target.dst();
  errno = 0;
  void* r;
  int err;
  {
    OpScope op("ntc_memcpy", c.flags, c.n, 0, dst, src);
    r = ntc_memcpy(dst, src, c.n, c.flags);
    err = errno;
    drain_if_needed(c.flags);
  }

  std::string what;
  if (r != dst) {
    what = std::string("returned ") + (r == nullptr ? "NULL" : "a pointer other than dst") +
           " errno=" + std::to_string(err);
  } else {
    what = target.problems(src);
    const unsigned char* orig = pristine.data() + src_off;
    if (std::memcmp(src, orig, c.n) != 0)
      add_problem(what, "the source changed: src[" + std::to_string(first_diff(src, orig, c.n)) +
                            "] differs from before the call");
  }
  return budget.report("ntc_memcpy " + describe(c), what);
}

void copy_matrix(const char* fam) {
  Rng rng(0x800);
  constexpr std::size_t kMaxN = 4096;
  GuardedBuffer sbuf(kMaxN + 64), dbuf(kMaxN + 64 + kPre);
  std::vector<unsigned char> pristine(sbuf.size());
  rng.fill_bytes(pristine.data(), pristine.size(), kCanary);
  std::memcpy(sbuf.begin(), pristine.data(), pristine.size());
  FailureBudget budget;
  std::size_t calls = 0;
  // Both store paths: every n, 4 (src, dst) misalignment pairs per n, so the
  // 64 x 64 pairs are each visited 4 times over n = 0..4096.
  for (unsigned flags : kStorePaths) {
    for (std::size_t n = 0; n <= kMaxN && !budget.exhausted(); ++n) {
      for (std::size_t j = 0; j < 4; ++j) {
        const std::size_t pair = (n * 4 + j + (flags == NTC_F_TEMPORAL ? 2048 : 0)) % 4096;
        // Spread consecutive pairs over both coordinates.
        const std::size_t sm = pair % 64;
        const std::size_t dm = (pair / 64 + pair * 5) % 64;
        ++calls;
        check_copy(sbuf, pristine, dbuf, {fam, flags, n, sm, dm}, budget);
      }
    }
  }
  // Short copies (where head/tail tricks live): every dst misalignment for
  // every n <= 256, with the source misalignment rotating.
  for (unsigned flags : kStorePaths) {
    for (std::size_t n = 0; n <= 256 && !budget.exhausted(); ++n) {
      for (std::size_t dm = 0; dm < 64; ++dm) {
        ++calls;
        check_copy(sbuf, pristine, dbuf, {fam, flags, n, (dm * 7 + n * 3) % 64, dm}, budget);
      }
    }
  }
  // Flags 0, NODRAIN, NONTEMPORAL|NODRAIN: every 3rd n, one pair.
  for (unsigned flags : kOtherFlags) {
    for (std::size_t n = flags % 3; n <= kMaxN && !budget.exhausted(); n += 3) {
      ++calls;
      check_copy(sbuf, pristine, dbuf, {fam, flags, n, (n * 7) % 64, (n * 11 + 5) % 64}, budget);
    }
  }
  MESSAGE(std::string(fam), ": ", calls, " copies checked");
  CHECK(budget.failures == 0);
}

// Random lengths up to 64 MiB, plus exactly 64 MiB (streams with flags 0).
void copy_large(const char* fam) {
  Rng rng(0x900 + std::string_view(fam).size());
  constexpr std::size_t kMax = std::size_t{64} << 20;
  GuardedBuffer sbuf(kMax + 64), dbuf(kMax + 64 + kPre);
  // Random source bytes (never 0 and never the canary), generated once.
  rng.fill_bytes(sbuf.begin(), sbuf.size(), kCanary);
  struct Shape {
    std::size_t n;
    unsigned flags;
  };
  std::vector<Shape> shapes;
  for (unsigned flags : kStorePaths) {
    shapes.push_back({rng.range(1, kMax), flags});
    shapes.push_back({rng.range(std::size_t{1} << 20, kMax), flags});
    shapes.push_back({rng.range(4097, std::size_t{1} << 20), flags});
    shapes.push_back({kMax, flags});
  }
  shapes.push_back({kMax, 0u});
  shapes.push_back({rng.range(std::size_t{8} << 20, kMax), 0u});
  shapes.push_back({rng.range(4097, kMax), NTC_F_NODRAIN});
  for (const Shape& s : shapes) {
    const CCase c{fam, s.flags, s.n, rng.below(64), rng.below(64)};
    INFO(describe(c));
    const unsigned char* src = sbuf.place(c.n, c.src_mis);
    GuardedDestination target(dbuf, c.n, c.dst_mis);
    unsigned char* dst = target.dst();
    errno = 0;
    OpScope op("ntc_memcpy", c.flags, c.n, 0, dst, src);
    void* r = ntc_memcpy(dst, src, c.n, c.flags);
    INFO("errno=", errno);
    drain_if_needed(c.flags);
    REQUIRE(r == dst);
    if (const std::string bad = target.mismatch(src); !bad.empty()) FAIL_CHECK(bad);
    const std::string before = target.wrote_before(), after = target.wrote_after();
    CHECK_MESSAGE(before.empty(), before);
    CHECK_MESSAGE(after.empty(), after);
  }
}

// Streaming copies with the destination at each distance past the source,
// modulo 4 KiB, on both sides of where the kernels switch from copying the
// body upward to copying it downward (d less than half a page past s). The
// destination buffer is all canary but the copied range, checked whole.
void copy_directions(const char* fam) {
  Rng rng(0xc00);
  constexpr std::size_t kPage = 4096;
  constexpr std::size_t kAhead[] = {0, 1, 63, 64, 65, 1000, 2047, 2048, 2049, 4032, 4095};
  constexpr std::size_t kLens[] = {64, 130, 4096 + 77, 70000 + 5};
  constexpr std::size_t kMaxLen = 70000 + 5;
  GuardedBuffer sbuf(kMaxLen + 64), dbuf(kMaxLen + 2 * kPage);
  rng.fill_bytes(sbuf.begin(), sbuf.size(), kCanary);
  std::vector<unsigned char> expect(dbuf.size());
  FailureBudget budget;
  unsigned variant = 0;
  for (std::size_t n : kLens)
    for (std::size_t ahead : kAhead) {
      if (budget.exhausted()) break;
      const unsigned char* src = sbuf.place(n, (++variant * 11) % 64);
      // The highest dst with dst - src = ahead (mod 4 KiB) that leaves n bytes.
      const auto lo = reinterpret_cast<std::uintptr_t>(dbuf.begin());
      std::uintptr_t d = reinterpret_cast<std::uintptr_t>(dbuf.end()) - n;
      d -= (d - reinterpret_cast<std::uintptr_t>(src) - ahead) & (kPage - 1);
      REQUIRE(d >= lo);
      unsigned char* dst = reinterpret_cast<unsigned char*>(d);
      std::memset(dbuf.begin(), kCanary, dbuf.size());
      std::memcpy(expect.data(), dbuf.begin(), dbuf.size());
      std::memcpy(expect.data() + (d - lo), src, n);
      OpScope op("ntc_memcpy", NTC_F_NONTEMPORAL, n, 0, dst, src);
      void* r = ntc_memcpy(dst, src, n, NTC_F_NONTEMPORAL);
      const std::string what =
          r == dst ? neighbourhood_mismatch(dbuf.begin(), expect.data(), dbuf.size(), dst)
                   : std::string("did not return dst");
      budget.report(std::string("ntc_memcpy of ") + fam + " NONTEMPORAL n=" + std::to_string(n) +
                        " dst - src = " + std::to_string(ahead) + " (mod 4096)",
                    what);
    }
  CHECK(budget.failures == 0);
}

// Overlapping ranges: dst = src + d (forward) and dst = src - d (backward).
// The whole neighbourhood is compared with memmove's result.
void overlap_case(const GuardedBuffer& buf, Rng& rng, const char* fam, std::size_t len,
                  std::size_t dist, bool dst_above, unsigned flags, std::size_t mis,
                  std::vector<unsigned char>& snapshot, std::vector<unsigned char>& expect) {
  const std::size_t span = len + dist;
  unsigned char* base = buf.place(span, mis, kPre);
  unsigned char* lo = base - kPre;
  unsigned char* hi = buf.end();
  const std::size_t region = static_cast<std::size_t>(hi - lo);
  rng.fill_bytes(lo, region);
  unsigned char* src = dst_above ? base : base + dist;
  unsigned char* dst = dst_above ? base + dist : base;
  snapshot.assign(lo, hi);
  expect = snapshot;
  std::memmove(expect.data() + (dst - lo), expect.data() + (src - lo), len);

  INFO("family=", std::string(fam), " flags=", flags_name(flags), " len=", len, " distance=", dist,
       std::string(dst_above ? " dst = src + distance" : " dst = src - distance"),
       " base%64=", mis);
  errno = 0;
  OpScope op("ntc_memcpy", flags, len, 0, dst, src);
  void* r = ntc_memcpy(dst, src, len, flags);
  const int err = errno;
  drain_if_needed(flags);
  if (r != dst) {
    FAIL_CHECK("ntc_memcpy returned " << (r == nullptr ? "NULL" : "not dst") << " errno=" << err);
    return;
  }
  if (const std::string bad = neighbourhood_mismatch(lo, expect.data(), region, dst); !bad.empty())
    FAIL_CHECK(bad);
}

void copy_overlap(const char* fam) {
  Rng rng(0xa00);
  constexpr std::size_t kLens[] = {1, 63, 100, 4097, 70000, (std::size_t{3} << 20) + 5};
  constexpr std::size_t kDists[] = {1, 7, 64, 4096, 100000, (std::size_t{1} << 20) + 333};
  GuardedBuffer buf((std::size_t{3} << 20) + 5 + (std::size_t{1} << 20) + 333 + 64 + kPre);
  std::vector<unsigned char> snapshot, expect;
  unsigned variant = 0;
  for (std::size_t len : kLens)
    for (std::size_t dist : kDists)
      for (bool up : {true, false})
        for (unsigned flags : kStorePaths)
          overlap_case(buf, rng, fam, len, dist, up, flags, (++variant * 7) % 64, snapshot, expect);
  // The other flag combinations on the mid-sized shapes.
  for (unsigned flags : kOtherFlags)
    for (std::size_t dist : kDists)
      for (bool up : {true, false})
        overlap_case(buf, rng, fam, 70000, dist, up, flags, (++variant * 7) % 64, snapshot, expect);
}

// An overlapping copy above the maximum threshold (streams with flags 0).
void copy_overlap_large(const char* fam) {
  Rng rng(0xb00);
  constexpr std::size_t kLen = (std::size_t{64} << 20) + 100;
  constexpr std::size_t kDist = 4096 + 3;
  GuardedBuffer buf(kLen + kDist + 64 + kPre);
  std::vector<unsigned char> snapshot, expect;
  for (bool up : {true, false})
    for (unsigned flags : {0u, NTC_F_NONTEMPORAL})
      overlap_case(buf, rng, fam, kLen, kDist, up, flags, up ? 17 : 50, snapshot, expect);
}

}  // namespace

NTC_PER_FAMILY_TEST("copy matrix (n 0-4096 x src%64 x dst%64)", copy_matrix)
NTC_PER_FAMILY_TEST("copy large random sizes", copy_large)
NTC_PER_FAMILY_TEST("copy streaming upward and downward (dst - src mod 4 KiB)", copy_directions)
NTC_PER_FAMILY_TEST("copy overlapping ranges", copy_overlap)
NTC_PER_FAMILY_TEST("copy overlapping ranges large (64 MiB)", copy_overlap_large)

TEST_CASE("copy n 0 returns dst and writes nothing") {
  std::vector<unsigned char> buf(64, kCanary);
  unsigned char src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (unsigned flags : {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL, NTC_F_NODRAIN}) {
    INFO("flags=", flags_name(flags));
    CHECK(ntc_memcpy(buf.data() + 5, src, 0, flags) == buf.data() + 5);
    CHECK(ntc_memcpy(buf.data() + 5, nullptr, 0, flags) == buf.data() + 5);
    CHECK(ntc_memcpy(buf.data() + 5, buf.data() + 5, 0, flags) == buf.data() + 5);
    CHECK(all_bytes(buf.data(), buf.size(), kCanary));
  }
}

TEST_CASE("copy onto itself (src == dst)") {
  Rng rng(0xc00);
  std::vector<unsigned char> buf(100000), orig;
  rng.fill_bytes(buf.data(), buf.size());
  orig = buf;
  for (unsigned flags : {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL}) {
    INFO("flags=", flags_name(flags));
    CHECK(ntc_memcpy(buf.data() + 3, buf.data() + 3, 99000, flags) == buf.data() + 3);
    CHECK(buf == orig);
  }
}
