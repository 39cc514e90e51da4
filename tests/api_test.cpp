// The C ABI's bookkeeping: kernel listing and switching, the threshold, and
// every documented error (return value, errno, nothing written).
#include <climits>
#include <cstdint>
#include <set>
#include <vector>

#include "test_util.h"

using namespace ntc_test;

namespace {

void* address(std::uintptr_t a) { return reinterpret_cast<void*>(a); }

constexpr std::size_t kHalf = SIZE_MAX / 2 + 1;  // kHalf * 2 overflows

// Flag values that are invalid for every call: unknown bits, or both
// TEMPORAL and NONTEMPORAL.
constexpr unsigned kBadFlags[] = {8u,
                                  16u,
                                  0x80000000u,
                                  NTC_F_NONTEMPORAL | 8u,
                                  NTC_F_TEMPORAL | NTC_F_NODRAIN | 32u,
                                  ~0u,
                                  NTC_F_TEMPORAL | NTC_F_NONTEMPORAL,
                                  NTC_F_TEMPORAL | NTC_F_NONTEMPORAL | NTC_F_NODRAIN};

struct Canaried {
  std::vector<unsigned char> bytes = std::vector<unsigned char>(512, kCanary);
  unsigned char* dst() { return bytes.data() + 64; }
  bool intact() const { return all_bytes(bytes.data(), bytes.size(), kCanary); }
};

}  // namespace

TEST_CASE("ntc_kernels lists the supported families best first") {
  const std::size_t n = ntc_kernels(nullptr, 0);
  REQUIRE(n >= 1);
  REQUIRE(n <= kAllFamilies.size());
  std::vector<const char*> names(n + 2, nullptr);
  const char* sentinel = "sentinel";
  names[n] = sentinel;
  names[n + 1] = sentinel;
  CHECK(ntc_kernels(names.data(), n + 2) == n);
  CHECK((names[n] == sentinel));  // only n written
  CHECK((names[n + 1] == sentinel));

  // A subsequence of the canonical order, ending with generic, no duplicates.
  std::size_t pos = 0;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(names[i] != nullptr);
    const std::string name = names[i];
    CHECK(seen.insert(name).second);
    while (pos < kAllFamilies.size() && name != kAllFamilies[pos]) ++pos;
    CHECK_MESSAGE(pos < kAllFamilies.size(), "\"", name, "\" out of order or unknown");
  }
  CHECK(std::string(names[n - 1]) == "generic");

  // Truncation: max = 1 writes one name and still returns the total.
  const char* one[2] = {sentinel, sentinel};
  CHECK(ntc_kernels(one, 1) == n);
  CHECK(std::string(one[0]) == names[0]);
  CHECK((one[1] == sentinel));

  std::string list;
  for (std::size_t i = 0; i < n; ++i) list += std::string(i ? ", " : "") + names[i];
  MESSAGE("families supported by this CPU: ", list, "; active: ", ntc_kernel());

#if defined(__x86_64__)
  // Cross-check with the compiler's own CPU detection (which also checks that
  // the OS enabled the YMM/ZMM state).
  __builtin_cpu_init();
  CHECK(seen.count("movnti") == 1);
  CHECK(seen.count("avx") == (__builtin_cpu_supports("avx") ? 1u : 0u));
  CHECK(seen.count("avx512") == (__builtin_cpu_supports("avx512f") ? 1u : 0u));
#endif
}

TEST_CASE("ntc_use_kernel switches between every supported family and back to auto") {
  const auto fams = supported_families();
  REQUIRE(!fams.empty());
  const std::string initial = ntc_kernel();
  for (const auto& f : fams) {
    INFO("family ", f);
    errno = 0;
    CHECK(ntc_use_kernel(f.c_str()) == 0);
    CHECK(std::string(ntc_kernel()) == f);
  }
  CHECK(ntc_use_kernel("auto") == 0);
  CHECK(std::string(ntc_kernel()) == initial);
  const char* env = std::getenv("NTCOPY_KERNEL");
  if (env == nullptr || *env == '\0') {
    // With NTCOPY_KERNEL unset, auto is the best supported family.
    CHECK(std::string(ntc_kernel()) == fams.front());
  }
}

TEST_CASE("ntc_use_kernel rejects unknown names with EINVAL and keeps the active family") {
  REQUIRE(ntc_use_kernel("generic") == 0);
  const char* bad[] = {nullptr,    "",     "AVX512",   "Generic", "nope",
                       "auto ",    " avx", "avx512\n", "avx1024", "generic2",
                       "movnti\t", "AUTO", "sse2",     "avx2",    "avx-512"};
  for (const char* name : bad) {
    INFO("name=", name ? std::string("\"") + name + "\"" : std::string("NULL"));
    NTC_CHECK_FAILS(ntc_use_kernel(name), -1, EINVAL);
    CHECK(std::string(ntc_kernel()) == "generic");
  }
  CHECK(ntc_use_kernel("auto") == 0);
}

TEST_CASE("ntc_use_kernel of a family this CPU lacks fails with ENOTSUP") {
  const std::vector<const char*> lacking =
      unsupported_families_or_skip("ENOTSUP check for avx512, avx, movnti, generic");
  if (lacking.empty()) return;
  REQUIRE(ntc_use_kernel("generic") == 0);
  for (const char* f : lacking) {
    INFO("family ", std::string(f));
    NTC_CHECK_FAILS(ntc_use_kernel(f), -1, ENOTSUP);
    CHECK(std::string(ntc_kernel()) == "generic");
  }
  CHECK(ntc_use_kernel("auto") == 0);
}

TEST_CASE("ntc_nt_threshold") {
  const std::size_t t = ntc_nt_threshold();
  CHECK(ntc_nt_threshold() == t);
  MESSAGE("ntc_nt_threshold() = ", t);
  const char* env = std::getenv("NTCOPY_NT_THRESHOLD");
  if (env == nullptr || *env == '\0') {
    CHECK(t >= kDefaultThresholdMin);
    CHECK(t <= kDefaultThresholdMax);
  }
  // Switching kernels does not change it.
  REQUIRE(ntc_use_kernel("generic") == 0);
  CHECK(ntc_nt_threshold() == t);
  REQUIRE(ntc_use_kernel("auto") == 0);
}

TEST_CASE("ntc_fill errors: EINVAL and EOVERFLOW write nothing") {
  unsigned char tmpl[16];
  Rng(0xd00).fill_bytes(tmpl, sizeof tmpl, kCanary);
  Canaried c;
  for (unsigned flags : kBadFlags) {
    INFO("bad flags=", flags_name(flags));
    NTC_CHECK_FAILS(ntc_fill(c.dst(), tmpl, 16, 4, flags), -1, EINVAL);
    NTC_CHECK_FAILS(ntc_fill(c.dst(), tmpl, 1, 100, flags), -1, EINVAL);
  }
  SUBCASE("size 0") { NTC_CHECK_FAILS(ntc_fill(c.dst(), tmpl, 0, 4, 0), -1, EINVAL); }
  SUBCASE("NULL dst or tmpl with count > 0") {
    NTC_CHECK_FAILS(ntc_fill(nullptr, tmpl, 16, 1, 0), -1, EINVAL);
    NTC_CHECK_FAILS(ntc_fill(c.dst(), nullptr, 16, 1, 0), -1, EINVAL);
    NTC_CHECK_FAILS(ntc_fill(c.dst(), nullptr, 16, 1, NTC_F_NONTEMPORAL), -1, EINVAL);
  }
  SUBCASE("size * count overflows") {
    const std::size_t shapes[][2] = {
        {kHalf, 2}, {2, kHalf}, {SIZE_MAX, SIZE_MAX}, {SIZE_MAX, 2}, {(SIZE_MAX / 3) + 1, 3}};
    for (const auto& s : shapes) {
      for (unsigned flags : {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL}) {
        INFO("size=", s[0], " count=", s[1], " flags=", flags_name(flags));
        NTC_CHECK_FAILS(ntc_fill(c.dst(), tmpl, s[0], s[1], flags), -1, EOVERFLOW);
      }
    }
  }
  SUBCASE("dst + size*count wraps the address space (memory is never touched)") {
    const struct {
      std::uintptr_t dst;
      std::size_t size, count;
    } shapes[] = {{UINTPTR_MAX - 10, 16, 1},
                  {UINTPTR_MAX - 100, 8, 13},
                  {UINTPTR_MAX - 4095, 4096, 2},
                  {UINTPTR_MAX, 1, 2},
                  {reinterpret_cast<std::uintptr_t>(c.dst()), 1, SIZE_MAX},
                  {reinterpret_cast<std::uintptr_t>(c.dst()), SIZE_MAX / 2, 2}};
    for (const auto& s : shapes) {
      for (unsigned flags : {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL}) {
        INFO("dst=", reinterpret_cast<void*>(s.dst), " size=", s.size, " count=", s.count,
             " flags=", flags_name(flags));
        NTC_CHECK_FAILS(ntc_fill(address(s.dst), tmpl, s.size, s.count, flags), -1, EOVERFLOW);
      }
    }
  }
  CHECK(c.intact());
}

namespace {
struct NeverCalled {
  int calls = 0;
};
void counting_patch(void*, std::size_t, std::size_t, std::size_t, void* ctx) {
  ++static_cast<NeverCalled*>(ctx)->calls;
}
}  // namespace

TEST_CASE("ntc_fill_patched errors: EINVAL and EOVERFLOW write nothing, patch not called") {
  unsigned char tmpl[16];
  Rng(0xd01).fill_bytes(tmpl, sizeof tmpl, kCanary);
  Canaried c;
  NeverCalled nc;
  for (unsigned flags : kBadFlags) {
    INFO("bad flags=", flags_name(flags));
    NTC_CHECK_FAILS(ntc_fill_patched(c.dst(), tmpl, 16, 4, counting_patch, &nc, flags), -1, EINVAL);
  }
  SUBCASE("NULL patch") {
    for (unsigned flags : {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL}) {
      NTC_CHECK_FAILS(ntc_fill_patched(c.dst(), tmpl, 16, 4, nullptr, &nc, flags), -1, EINVAL);
    }
  }
  SUBCASE("size 0, NULL dst, NULL tmpl") {
    NTC_CHECK_FAILS(ntc_fill_patched(c.dst(), tmpl, 0, 4, counting_patch, &nc, 0), -1, EINVAL);
    NTC_CHECK_FAILS(ntc_fill_patched(nullptr, tmpl, 16, 4, counting_patch, &nc, 0), -1, EINVAL);
    NTC_CHECK_FAILS(ntc_fill_patched(c.dst(), nullptr, 16, 4, counting_patch, &nc, 0), -1, EINVAL);
  }
  SUBCASE("overflow and wrap") {
    NTC_CHECK_FAILS(ntc_fill_patched(c.dst(), tmpl, kHalf, 2, counting_patch, &nc, 0), -1,
                    EOVERFLOW);
    NTC_CHECK_FAILS(ntc_fill_patched(c.dst(), tmpl, 2, kHalf, counting_patch, &nc, 0), -1,
                    EOVERFLOW);
    NTC_CHECK_FAILS(
        ntc_fill_patched(address(UINTPTR_MAX - 10), tmpl, 16, 1, counting_patch, &nc, 0), -1,
        EOVERFLOW);
    NTC_CHECK_FAILS(ntc_fill_patched(address(UINTPTR_MAX - 10), tmpl, 16, 1, counting_patch, &nc,
                                     NTC_F_NONTEMPORAL),
                    -1, EOVERFLOW);
  }
  SUBCASE("count 0 is a no-op") {
    CHECK(ntc_fill_patched(nullptr, nullptr, 16, 0, counting_patch, &nc, 0) == 0);
    CHECK(ntc_fill_patched(c.dst(), tmpl, 16, 0, counting_patch, &nc, NTC_F_NONTEMPORAL) == 0);
  }
  CHECK(nc.calls == 0);
  CHECK(c.intact());
}

TEST_CASE("ntc_memcpy errors: NULL with errno, nothing written") {
  unsigned char src[64];
  Rng(0xd02).fill_bytes(src, sizeof src, kCanary);
  Canaried c;
  for (unsigned flags : kBadFlags) {
    INFO("bad flags=", flags_name(flags));
    NTC_CHECK_FAILS(ntc_memcpy(c.dst(), src, 64, flags), nullptr, EINVAL);
  }
  SUBCASE("NULL with n > 0") {
    for (unsigned flags : {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL}) {
      INFO("flags=", flags_name(flags));
      NTC_CHECK_FAILS(ntc_memcpy(nullptr, src, 1, flags), nullptr, EINVAL);
      NTC_CHECK_FAILS(ntc_memcpy(c.dst(), nullptr, 1, flags), nullptr, EINVAL);
      NTC_CHECK_FAILS(ntc_memcpy(nullptr, nullptr, 64, flags), nullptr, EINVAL);
    }
  }
  SUBCASE("a range wraps the address space") {
    for (unsigned flags : {0u, NTC_F_NONTEMPORAL, NTC_F_TEMPORAL}) {
      INFO("flags=", flags_name(flags));
      NTC_CHECK_FAILS(ntc_memcpy(address(UINTPTR_MAX - 10), src, 16, flags), nullptr, EOVERFLOW);
      NTC_CHECK_FAILS(ntc_memcpy(c.dst(), address(UINTPTR_MAX - 10), 16, flags), nullptr,
                      EOVERFLOW);
      NTC_CHECK_FAILS(ntc_memcpy(c.dst(), src, SIZE_MAX, flags), nullptr, EOVERFLOW);
    }
  }
  CHECK(c.intact());
}

TEST_CASE("NODRAIN then ntc_drain") {
  Rng rng(0xd03);
  std::vector<unsigned char> tmpl(48), dst(48 * 5000), ref(48 * 5000), src(300000), cdst(300000);
  rng.fill_bytes(tmpl.data(), tmpl.size());
  rng.fill_bytes(src.data(), src.size());
  reference_fill(ref.data(), tmpl.data(), 48, 5000);
  for (const auto& f : supported_families()) {
    INFO("family ", f);
    KernelScope k(f.c_str());
    for (unsigned flags :
         {NTC_F_NODRAIN, NTC_F_NODRAIN | NTC_F_NONTEMPORAL, NTC_F_NODRAIN | NTC_F_TEMPORAL}) {
      INFO("flags=", flags_name(flags));
      std::fill(dst.begin(), dst.end(), 0);
      std::fill(cdst.begin(), cdst.end(), 0);
      CHECK(ntc_fill(dst.data() + 0, tmpl.data(), 48, 5000, flags) == 0);
      CHECK(ntc_memcpy(cdst.data(), src.data(), src.size(), flags) == cdst.data());
      ntc_drain();
      CHECK(dst == ref);
      CHECK(cdst == src);
    }
  }
  ntc_drain();  // harmless with nothing pending
}
