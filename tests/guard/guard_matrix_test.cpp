// The guard-page matrix (issue 4, part 1), for every kernel family the CPU
// supports:
//   ntc_fill and ntc_fill_patched: template sizes 1..512 x dst % 64 in 0..63 x
//     counts {1,2,3,5,8,17,64,257}, with flags NONTEMPORAL, TEMPORAL and 0;
//   ntc_memcpy: every n in 0..8192, eight (dst % 64, src % 64) pairs each,
//     with the same three flags;
// each in two passes: (a) the destination's end against a PROT_NONE page,
// (b) its start right after one.
//
// Placement. Touching a page boundary fixes dst % 64, so each case places dst
// with the wanted misalignment m as close to the guard page as m allows: the
// gap between them is under 64 bytes, filled with canary bytes and checked.
// Every misalignment is covered, and every (size, count) has one m at which
// the destination touches the guard page exactly: m == (-size*count) mod 64
// in pass (a), m == 0 in pass (b). Copies always include the pair that puts
// both dst and src exactly against their guard pages.
// The template (copy source) lies in its own read-only region, against its
// trailing guard page in pass (a) and its leading one in pass (b), so an
// over-read or a store into it faults too.
//
// Checks. Every written byte against a reference (patched fills: the same
// patch applied to a reference fill); 128 canary bytes on the side away from
// the guard and the gap on the guard side, after every call; the whole region
// (all canary between calls: each destination is restored) after the 64 (or
// 8) calls of each shape, which no later call of that shape overwrites.
//
// Crashes. Each (operation, flags, pass) chunk runs in a forked child
// (guard_util.h): a fault on a guard page kills that child only, and the test
// fails naming the signal and the call in progress.
//
// Size of the run. The full matrix (about 3.5 million calls per family) takes
// seconds in a Release build. NTC_GUARD_MATRIX=reduced, for slow targets such
// as qemu-user, keeps every size, count and n but only 4 misalignments per
// fill shape (the exactly adjacent one among them) and 2 pairs per copy
// length, with flags NONTEMPORAL and TEMPORAL for fills and NONTEMPORAL and 0
// for copies (about 195,000 calls per family). Sanitizer builds default to
// reduced (NTC_GUARD_MATRIX_DEFAULT_REDUCED, set by CMakeLists.txt, which says
// why); NTC_GUARD_MATRIX=full overrides that. NTC_GUARD_JOBS sets how many
// children run at once (default: the CPUs this process may use).
#include <chrono>
#include <string>
#include <vector>

#include "guard_util.h"

using namespace ntc_test;
using namespace ntc_guard;

namespace {

constexpr std::size_t kMaxSize = 512;
constexpr std::size_t kCounts[] = {1, 2, 3, 5, 8, 17, 64, 257};
constexpr std::size_t kMaxCount = 257;
constexpr std::size_t kMaxN = 8192;
// Canary bytes checked on the side of dst away from its guard page.
constexpr std::size_t kWindow = 128;

bool full_matrix() {
  if (const char* e = std::getenv("NTC_GUARD_MATRIX"); e != nullptr && *e != '\0') {
    const std::string_view v(e);
    if (v == "full") return true;
    if (v == "reduced") return false;
    std::fprintf(stderr, "NTC_GUARD_MATRIX=%s: expected full or reduced; using the default\n", e);
  }
#ifdef NTC_GUARD_MATRIX_DEFAULT_REDUCED
  return false;
#else
  return true;
#endif
}

// The patch applied to element i: two index-dependent bytes, never 0 (the
// unwritten value) and never the canary.
unsigned char patch_byte(std::size_t i, unsigned salt) {
  auto b = static_cast<unsigned char>((i * (37 + 2 * salt) + 3 + salt) % 251 + 1);
  return b == kCanary ? static_cast<unsigned char>(b ^ 0x5a) : b;
}
void patch_element(unsigned char* e, std::size_t i, std::size_t size) {
  e[i % size] = patch_byte(i, 0);
  e[size - 1 - (i * 13) % size] = patch_byte(i, 1);
}

// Patches each element and checks that the batches cover 0..count-1 in order.
struct PatchTrack {
  std::size_t count;
  std::size_t next = 0;
  bool bad = false;
};
void guard_patch(void* elems, std::size_t first, std::size_t n, std::size_t size, void* ctx) {
  auto& t = *static_cast<PatchTrack*>(ctx);
  if (first != t.next || n == 0 || n > t.count - first) {
    t.bad = true;
    return;
  }
  auto* e = static_cast<unsigned char*>(elems);
  for (std::size_t k = 0; k < n; ++k) patch_element(e + k * size, first + k, size);
  t.next = first + n;
}

// dst's place in the destination region for this pass, and the gap (canary
// bytes) between its range and the guard page it faces.
unsigned char* place(const FencedRegion& reg, int pass, std::size_t len, std::size_t mis,
                     std::size_t* gap) {
  unsigned char* p = pass == kLastByteAtGuard ? reg.at_end(len, mis) : reg.at_begin(mis);
  *gap = pass == kLastByteAtGuard ? static_cast<std::size_t>(reg.end() - (p + len)) : mis;
  return p;
}

// The misalignment at which [p, p + len) touches the guard page exactly.
std::size_t adjacent_mis(int pass, std::size_t len) {
  return pass == kLastByteAtGuard ? (64 - len % 64) % 64 : 0;
}

// "" or what went wrong around [dst, dst + len): the gap on the guard side and
// kWindow bytes on the other side must still be canary.
std::string check_around(const FencedRegion& reg, int pass, const unsigned char* dst,
                         std::size_t len) {
  const unsigned char* lo = pass == kLastByteAtGuard
                                ? std::max<const unsigned char*>(reg.begin(), dst - kWindow)
                                : reg.begin();
  const unsigned char* hi = pass == kLastByteAtGuard
                                ? reg.end()
                                : std::min<const unsigned char*>(reg.end(), dst + len + kWindow);
  std::string what;
  if (!all_canary(lo, static_cast<std::size_t>(dst - lo))) {
    const std::size_t i = first_not(lo, static_cast<std::size_t>(dst - lo), kCanary);
    what = "wrote before dst: dst[-" + std::to_string(dst - lo - i) + "] changed";
  }
  const unsigned char* e = dst + len;
  if (!all_canary(e, static_cast<std::size_t>(hi - e))) {
    const std::size_t k = first_not(e, static_cast<std::size_t>(hi - e), kCanary);
    add_problem(what, "wrote past the end: dst[" + std::to_string(len) + "+" + std::to_string(k) +
                          "] changed");
  }
  return what;
}

std::string mismatch(const unsigned char* dst, const unsigned char* ref, std::size_t len,
                     std::size_t elem) {
  if (std::memcmp(dst, ref, len) == 0) return {};
  const std::size_t off = first_diff(dst, ref, len);
  std::string at = "dst[" + std::to_string(off) + "]";
  if (elem != 0) at += " (element " + std::to_string(off / elem) + ")";
  return at + "=" + std::to_string(dst[off]) + ", expected " + std::to_string(ref[off]);
}

// The whole region must be canary between calls (each call's destination is
// restored): finds stores farther away than the windows checked per call.
// `after` names the shape whose calls ran since the last scan.
bool region_clean(const FencedRegion& reg, const std::string& family, ChunkReport& r,
                  const std::string& after) {
  if (all_canary(reg.begin(), reg.size())) return true;
  const std::size_t off = first_not(reg.begin(), reg.size(), kCanary);
  r.fail(family, "a byte outside the per-call windows changed (region offset " +
                     std::to_string(off) + ", in one of the calls with " + after + ")");
  std::memset(reg.begin(), kCanary, reg.size());
  return !r.stopped();
}

// The destination misalignments of one fill shape.
void fill_misalignments(bool full, int pass, std::size_t size, std::size_t count,
                        std::vector<std::size_t>& out) {
  out.clear();
  if (full) {
    for (std::size_t m = 0; m < 64; ++m) out.push_back(m);
    return;
  }
  const std::size_t e = adjacent_mis(pass, size * count);
  out.push_back(e);
  for (std::size_t k :
       {size * 7 + count * 3 + 1, size * 11 + count * 5 + 32, size + count * 13 + 17})
    if (k % 64 != e) out.push_back(k % 64);
}

// One (operation, pass, flags) chunk of the fill matrix.
void fill_chunk(const std::string& family, int op, int pass, unsigned flags, bool full,
                ChunkReport& r) {
  constexpr std::size_t kMaxLen = kMaxSize * kMaxCount;
  const FencedRegion dreg(kMaxLen + 64 + kWindow);
  const FencedRegion treg(kMaxSize);
  std::vector<unsigned char> ref(kMaxLen);
  std::vector<std::size_t> mis;
  Rng rng(0x4700 + static_cast<std::uint64_t>(op * 16 + pass * 4) + flags);
  for (std::size_t size = 1; size <= kMaxSize; ++size) {
    treg.protect(PROT_READ | PROT_WRITE);
    unsigned char* tmpl = pass == kLastByteAtGuard ? treg.end() - size : treg.begin();
    rng.fill_bytes(tmpl, size, kCanary);
    treg.protect(PROT_READ);
    reference_fill(ref.data(), tmpl, size, kMaxCount);
    if (op == kFillPatched)
      for (std::size_t i = 0; i < kMaxCount; ++i) patch_element(ref.data() + i * size, i, size);

    for (std::size_t count : kCounts) {
      const std::size_t len = size * count;
      fill_misalignments(full, pass, size, count, mis);
      for (std::size_t m : mis) {
        Case c{op, pass, flags, size, count, m, reinterpret_cast<std::uintptr_t>(tmpl) % 64, 0};
        unsigned char* dst = place(dreg, pass, len, m, &c.gap);
        std::memset(dst, kUnwritten, len);
        PatchTrack track{count};
        errno = 0;
        r.begin_call(c);
        const int rc = op == kFill
                           ? ntc_fill(dst, tmpl, size, count, flags)
                           : ntc_fill_patched(dst, tmpl, size, count, guard_patch, &track, flags);
        r.end_call();
        const int err = errno;
        ++r.cases;

        std::string what;
        if (rc != 0) {
          what = "returned " + std::to_string(rc) + " errno=" + std::to_string(err);
        } else {
          what = mismatch(dst, ref.data(), len, size);
          add_problem(what, check_around(dreg, pass, dst, len));
          if (op == kFillPatched && (track.bad || track.next != count))
            add_problem(what, "patch batches did not cover 0.." + std::to_string(count - 1) +
                                  " in order (reached " + std::to_string(track.next) + ")");
        }
        std::memset(dst, kCanary, len);
        if (!what.empty() && !r.fail(family, what)) return;
      }
      if (!region_clean(dreg, family, r,
                        "size=" + std::to_string(size) + " count=" + std::to_string(count)))
        return;
    }
  }
}

// The (dst % 64, src % 64) pairs of one copy length: first the pair that puts
// both ranges exactly against their guard pages.
void copy_pairs(bool full, int pass, std::size_t n,
                std::vector<std::pair<std::size_t, std::size_t>>& out) {
  out.clear();
  const std::size_t e = adjacent_mis(pass, n);
  out.emplace_back(e, e);
  if (!full) {
    const std::size_t k = 3 + n % 5;
    out.emplace_back((n * 7 + k * 13) % 64, (n * 11 + k * 29 + 3) % 64);
    return;
  }
  out.emplace_back(e, (n * 5 + 17) % 64);
  out.emplace_back((n * 3 + 41) % 64, e);
  for (std::size_t k = 3; k < 8; ++k)
    out.emplace_back((n * 7 + k * 13) % 64, (n * 11 + k * 29 + 3) % 64);
}

void copy_chunk(const std::string& family, int pass, unsigned flags, bool full, ChunkReport& r) {
  const FencedRegion sreg(kMaxN + 64);
  const FencedRegion dreg(kMaxN + 64 + kWindow);
  Rng rng(0x4800 + static_cast<std::uint64_t>(pass * 4) + flags);
  rng.fill_bytes(sreg.begin(), sreg.size(), kCanary);
  sreg.protect(PROT_READ);
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t n = 0; n <= kMaxN; ++n) {
    copy_pairs(full, pass, n, pairs);
    for (const auto& [dm, sm] : pairs) {
      const unsigned char* src = pass == kLastByteAtGuard ? sreg.at_end(n, sm) : sreg.at_begin(sm);
      Case c{kMemcpy, pass, flags, n, 0, dm, sm, 0};
      unsigned char* dst = place(dreg, pass, n, dm, &c.gap);
      std::memset(dst, kUnwritten, n);
      errno = 0;
      r.begin_call(c);
      void* ret = ntc_memcpy(dst, src, n, flags);
      r.end_call();
      const int err = errno;
      ++r.cases;

      std::string what;
      if (ret != dst) {
        what = std::string("returned ") + (ret == nullptr ? "NULL" : "a pointer other than dst") +
               " errno=" + std::to_string(err);
      } else {
        what = mismatch(dst, src, n, 0);
        add_problem(what, check_around(dreg, pass, dst, n));
      }
      std::memset(dst, kCanary, n);
      if (!what.empty() && !r.fail(family, what)) return;
    }
    if (!region_clean(dreg, family, r, "n=" + std::to_string(n))) return;
  }
}

void guard_matrix(const char* fam) {
  const std::string family = fam;
  const bool full = full_matrix();
  (void)test_seed();  // printed here, once, not by each child
  const std::vector<unsigned> fill_flags =
      full ? std::vector<unsigned>{NTC_F_NONTEMPORAL, NTC_F_TEMPORAL, 0u}
           : std::vector<unsigned>{NTC_F_NONTEMPORAL, NTC_F_TEMPORAL};
  const std::vector<unsigned> copy_flags =
      full ? std::vector<unsigned>{NTC_F_NONTEMPORAL, NTC_F_TEMPORAL, 0u}
           : std::vector<unsigned>{NTC_F_NONTEMPORAL, 0u};
  std::vector<Chunk> chunks;
  std::vector<int> op_of;
  for (int op : {kFill, kFillPatched})
    for (unsigned flags : fill_flags)
      for (int pass : {kLastByteAtGuard, kFirstByteAtGuard}) {
        chunks.push_back(
            {std::string(op_name(op)) + " flags=" + flags_name(flags) + " " + pass_name(pass),
             [=](ChunkReport& r) { fill_chunk(family, op, pass, flags, full, r); }});
        op_of.push_back(op);
      }
  for (unsigned flags : copy_flags)
    for (int pass : {kLastByteAtGuard, kFirstByteAtGuard}) {
      chunks.push_back(
          {std::string("ntc_memcpy flags=") + flags_name(flags) + " " + pass_name(pass),
           [=](ChunkReport& r) { copy_chunk(family, pass, flags, full, r); }});
      op_of.push_back(kMemcpy);
    }

  const unsigned jobs = guard_jobs();
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<std::uint64_t> cases = run_chunks(family, chunks, jobs);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t per_op[3] = {0, 0, 0}, total = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    per_op[op_of[i]] += cases[i];
    total += cases[i];
  }
  char line[400];
  std::snprintf(line, sizeof line,
                "guard-page matrix, %s (%s): %llu calls checked (ntc_fill %llu, "
                "ntc_fill_patched %llu, ntc_memcpy %llu) in %.1f s, %u processes at a time",
                fam, full ? "full" : "reduced", static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(per_op[kFill]),
                static_cast<unsigned long long>(per_op[kFillPatched]),
                static_cast<unsigned long long>(per_op[kMemcpy]), secs, jobs);
  MESSAGE(line);
  // A matrix that checked nothing must not pass.
  CHECK(per_op[kFill] > 0);
  CHECK(per_op[kFillPatched] > 0);
  CHECK(per_op[kMemcpy] > 0);
}

}  // namespace

NTC_PER_FAMILY_TEST("guard-page matrix: fills, patched fills and copies against PROT_NONE pages",
                    guard_matrix)
