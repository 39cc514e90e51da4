// The header-only C++ layer (ntcopy.hpp).
//
// Not tested: that fill/copy reject a non-trivially-copyable T at compile time.
// The check is a static_assert inside the function bodies, so it cannot be
// probed with a requires-expression without failing this build.
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <ntcopy/ntcopy.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "test_util.h"

using namespace ntc_test;

namespace {

struct Pixel {
  std::uint8_t r, g, b;
};
static_assert(sizeof(Pixel) == 3);

struct Record {
  std::uint64_t id;
  std::uint32_t tag;
  char name[20];
};

struct Big {  // larger than the 8 KiB staging buffer
  unsigned char payload[9000];
  std::uint32_t index;
};

bool same(const Pixel& a, const Pixel& b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

}  // namespace

TEST_CASE("C++ fill(span, tmpl)") {
  std::vector<Pixel> v(1003, Pixel{0xa5, 0xa5, 0xa5});
  const Pixel p{1, 2, 3};
  std::span<Pixel> inner(v.data() + 1, 1001);
  for (auto f : {ntcopy::flags::none, ntcopy::flags::nontemporal, ntcopy::flags::temporal,
                 ntcopy::flags::nontemporal | ntcopy::flags::nodrain}) {
    INFO("flags=", flags_name(static_cast<unsigned>(f)));
    std::fill(v.begin() + 1, v.end() - 1, Pixel{0, 0, 0});
    ntcopy::fill(inner, p, f);
    ntcopy::drain();
    std::size_t bad = 0;
    for (const Pixel& q : inner) bad += same(q, p) ? 0 : 1;
    CHECK(bad == 0);
    CHECK(same(v.front(), Pixel{0xa5, 0xa5, 0xa5}));
    CHECK(same(v.back(), Pixel{0xa5, 0xa5, 0xa5}));
  }
  // Empty spans are fine, including a null one.
  CHECK_NOTHROW(ntcopy::fill(std::span<Pixel>(), p));
  CHECK_NOTHROW(ntcopy::fill(std::span<Pixel>(v.data(), 0), p, ntcopy::flags::nontemporal));
}

TEST_CASE("C++ fill with a patch lambda") {
  for (const auto& fam : supported_families()) {
    INFO("family ", fam);
    KernelScope k(fam.c_str());
    Record tmpl{};
    tmpl.id = 0xdeadbeefcafef00dull;
    tmpl.tag = 7;
    std::memcpy(tmpl.name, "ntcopy-record", 14);
    for (auto f : {ntcopy::flags::nontemporal, ntcopy::flags::temporal, ntcopy::flags::none}) {
      INFO("flags=", flags_name(static_cast<unsigned>(f)));
      std::vector<Record> v(2500);
      std::size_t expected_index = 0, stale = 0, out_of_order = 0;
      ntcopy::fill(
          std::span<Record>(v), tmpl,
          [&](Record& r, std::size_t i) {
            if (i != expected_index) ++out_of_order;
            expected_index = i + 1;
            if (r.id != tmpl.id || r.tag != tmpl.tag) ++stale;  // a fresh copy each time
            r.id = i;
            r.tag = static_cast<std::uint32_t>(i * 3);
          },
          f);
      CHECK(expected_index == v.size());
      CHECK(out_of_order == 0);
      CHECK(stale == 0);
      std::size_t bad = 0;
      for (std::size_t i = 0; i < v.size(); ++i)
        if (v[i].id != i || v[i].tag != i * 3 || std::memcmp(v[i].name, tmpl.name, 20) != 0) ++bad;
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("C++ patched fill of an element larger than the staging buffer") {
  auto tmpl = std::make_unique<Big>();
  Rng(0xe00).fill_bytes(tmpl->payload, sizeof tmpl->payload);
  tmpl->index = 0;
  std::vector<Big> v(7);
  ntcopy::fill(std::span<Big>(v), *tmpl,
               [](Big& b, std::size_t i) { b.index = static_cast<std::uint32_t>(i + 100); });
  for (std::size_t i = 0; i < v.size(); ++i) {
    CHECK(v[i].index == i + 100);
    CHECK(std::memcmp(v[i].payload, tmpl->payload, sizeof tmpl->payload) == 0);
  }
}

TEST_CASE("C++ patch that throws: the exception propagates, the library stays usable") {
  for (std::size_t count : {std::size_t{1000}, std::size_t{3}}) {
    INFO("count=", count);
    std::vector<std::uint64_t> v(count, 0);
    CHECK_THROWS_AS(ntcopy::fill(std::span<std::uint64_t>(v), std::uint64_t{5},
                                 [&](std::uint64_t& x, std::size_t i) {
                                   x = i;
                                   if (i == count / 2) throw std::runtime_error("boom");
                                 }),
                    std::runtime_error);
  }
  // Also with a heap staging buffer (element > 8 KiB): nothing may leak.
  auto tmpl = std::make_unique<Big>();
  std::memset(tmpl->payload, 1, sizeof tmpl->payload);
  std::vector<Big> big(5);
  CHECK_THROWS_AS(ntcopy::fill(std::span<Big>(big), *tmpl,
                               [](Big&, std::size_t i) {
                                 if (i == 2) throw std::logic_error("boom");
                               }),
                  std::logic_error);
  // Afterwards everything works as before.
  std::vector<std::uint64_t> w(4096, 0);
  ntcopy::fill(std::span<std::uint64_t>(w), std::uint64_t{9},
               [](std::uint64_t& x, std::size_t i) { x += i; });
  std::size_t bad = 0;
  for (std::size_t i = 0; i < w.size(); ++i) bad += w[i] == 9 + i ? 0 : 1;
  CHECK(bad == 0);
  CHECK_NOTHROW(ntcopy::use_kernel("generic"));
  CHECK_NOTHROW(ntcopy::use_kernel("auto"));
}

TEST_CASE("C++ copy") {
  std::vector<int> src(1000), dst(1200, -1);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<int>(i * 7 + 1);
  ntcopy::copy(std::span<int>(dst), std::span<const int>(src));
  CHECK(std::equal(src.begin(), src.end(), dst.begin()));
  CHECK(dst[1000] == -1);
  CHECK(dst[1199] == -1);

  // Overlapping, both directions (memmove semantics).
  std::vector<int> a(src), ref(src);
  ntcopy::copy(std::span<int>(a).subspan(10), std::span<const int>(a).first(900),
               ntcopy::flags::nontemporal);
  std::memmove(ref.data() + 10, ref.data(), 900 * sizeof(int));
  CHECK(a == ref);
  ntcopy::copy(std::span<int>(a), std::span<const int>(a).subspan(37, 800),
               ntcopy::flags::temporal);
  std::memmove(ref.data(), ref.data() + 37, 800 * sizeof(int));
  CHECK(a == ref);

  // Empty source.
  CHECK_NOTHROW(ntcopy::copy(std::span<int>(), std::span<const int>()));
  CHECK_NOTHROW(ntcopy::copy(std::span<int>(dst), std::span<const int>()));
}

TEST_CASE("C++ errors throw std::system_error with the errno") {
  std::vector<int> dst(10, -1), src(11, 3);
  SUBCASE("copy into a shorter destination") {
    try {
      ntcopy::copy(std::span<int>(dst), std::span<const int>(src));
      FAIL("no exception");
    } catch (const std::system_error& e) {
      CHECK(e.code() == std::errc::invalid_argument);
    }
    CHECK(std::all_of(dst.begin(), dst.end(), [](int x) { return x == -1; }));
  }
  SUBCASE("use_kernel of an unknown name") {
    const std::string before(ntcopy::kernel());
    for (const char* name : {"nope", "AVX512", "", static_cast<const char*>(nullptr)}) {
      INFO("name=", std::string(name ? name : "NULL"));
      try {
        ntcopy::use_kernel(name);
        FAIL("no exception");
      } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::invalid_argument);
        CHECK(e.code().category() == std::generic_category());
      }
      CHECK(std::string(ntcopy::kernel()) == before);
    }
  }
  SUBCASE("fill with invalid flags") {
    for (unsigned bad : {8u, NTC_F_TEMPORAL | NTC_F_NONTEMPORAL}) {
      INFO("flags=", bad);
      try {
        ntcopy::fill(std::span<int>(dst), 5, static_cast<ntcopy::flags>(bad));
        FAIL("no exception");
      } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::invalid_argument);
      }
      try {
        ntcopy::fill(
            std::span<int>(dst), 5, [](int&, std::size_t) {}, static_cast<ntcopy::flags>(bad));
        FAIL("no exception");
      } catch (const std::system_error& e) {
        CHECK(e.code() == std::errc::invalid_argument);
      }
      CHECK(std::all_of(dst.begin(), dst.end(), [](int x) { return x == -1; }));
    }
  }
  SUBCASE("copy with invalid flags") {
    CHECK_THROWS_AS(ntcopy::copy(std::span<int>(dst), std::span<const int>(src).first(5),
                                 ntcopy::flags::temporal | ntcopy::flags::nontemporal),
                    std::system_error);
    CHECK(std::all_of(dst.begin(), dst.end(), [](int x) { return x == -1; }));
  }
}

TEST_CASE("C++ kernel(), use_kernel() and flags operators") {
  CHECK(ntcopy::kernel() == std::string_view(ntc_kernel()));
  for (const auto& fam : supported_families()) {
    ntcopy::use_kernel(fam.c_str());
    CHECK(ntcopy::kernel() == fam);
  }
  ntcopy::use_kernel("auto");

  using ntcopy::flags;
  static_assert(static_cast<unsigned>(flags::nontemporal) == NTC_F_NONTEMPORAL);
  static_assert(static_cast<unsigned>(flags::temporal) == NTC_F_TEMPORAL);
  static_assert(static_cast<unsigned>(flags::nodrain) == NTC_F_NODRAIN);
  static_assert(static_cast<unsigned>(flags::none) == 0);
  static_assert(((flags::nontemporal | flags::nodrain) & flags::nodrain) == flags::nodrain);
  static_assert(((flags::nontemporal | flags::nodrain) & flags::temporal) == flags::none);
  flags f = flags::temporal;
  f |= flags::nodrain;
  CHECK(static_cast<unsigned>(f) == (NTC_F_TEMPORAL | NTC_F_NODRAIN));
}
