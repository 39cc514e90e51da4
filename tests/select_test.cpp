// The pure selection and threshold policy (src/select.h), fed fake CPUs and
// environment strings. select.cpp is compiled into this test binary.
#include "select.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace ntcopy;
using namespace std::string_view_literals;

namespace {

CpuFeatures cpu(bool x86_64, bool sse2, bool avx, bool avx512f, std::size_t llc = 0) {
  CpuFeatures c;
  c.x86_64 = x86_64;
  c.sse2 = sse2;
  c.avx = avx;
  c.avx512f = avx512f;
  c.llc_bytes = llc;
  return c;
}

const CpuFeatures kNoSimd = cpu(false, false, false, false);
const CpuFeatures kSse2 = cpu(true, true, false, false, 8 << 20);
const CpuFeatures kAvx = cpu(true, true, true, false, 32 << 20);
const CpuFeatures kAvx512 = cpu(true, true, true, true, 1 << 20);

std::string name(Family f) { return std::string(family_name(f)); }

// No control characters (a warning may use UTF-8 punctuation of its own, so
// bytes >= 0x80 are allowed here; raw bytes of a bad value are checked apart).
bool printable_line(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}
bool has_raw_high_bytes(std::string_view s) {
  return s.find('\xff') != std::string_view::npos || s.find('\xfe') != std::string_view::npos;
}

}  // namespace

TEST_CASE("select: family names") {
  const auto fams = families_best_first();
  REQUIRE(fams.size() == 4);
  CHECK(fams[0] == Family::avx512);
  CHECK(fams[1] == Family::avx);
  CHECK(fams[2] == Family::movnti);
  CHECK(fams[3] == Family::generic);
  CHECK(family_name(Family::avx512) == "avx512");
  CHECK(family_name(Family::avx) == "avx");
  CHECK(family_name(Family::movnti) == "movnti");
  CHECK(family_name(Family::generic) == "generic");
  for (Family f : fams) CHECK(family_from_name(family_name(f)) == f);

  for (std::string_view bad :
       {""sv, "auto"sv, "AVX512"sv, "Avx"sv, "avx1024"sv, " avx"sv, "avx "sv, "avx512\n"sv, "gen"sv,
        "generic2"sv, "movnti\0"sv, "avx\0avx"sv, "nope"sv, "\xff\xfe"sv}) {
    INFO("name=\"", std::string(bad), "\" (", bad.size(), " bytes)");
    CHECK_FALSE(family_from_name(bad).has_value());
  }
}

TEST_CASE("select: support and best_family over fake CPUs") {
  CHECK(best_family(kNoSimd) == Family::generic);
  CHECK(best_family(kSse2) == Family::movnti);
  CHECK(best_family(kAvx) == Family::avx);
  CHECK(best_family(kAvx512) == Family::avx512);
  CHECK(best_family(CpuFeatures{}) == Family::generic);
  // Kernels not built (not x86-64): generic whatever the flags say.
  CHECK(best_family(cpu(false, true, true, true)) == Family::generic);
  // x86-64 without SSE2 cannot use MOVNTI.
  CHECK(best_family(cpu(true, false, false, false)) == Family::generic);
  // The cache size plays no part.
  CHECK(best_family(cpu(true, true, true, false, 0)) == Family::avx);
  CHECK(best_family(cpu(true, true, true, false, SIZE_MAX)) == Family::avx);

  CHECK(family_supported(Family::generic, kNoSimd));
  CHECK_FALSE(family_supported(Family::movnti, kNoSimd));
  CHECK_FALSE(family_supported(Family::avx, kNoSimd));
  CHECK_FALSE(family_supported(Family::avx512, kNoSimd));
  CHECK(family_supported(Family::movnti, kSse2));
  CHECK_FALSE(family_supported(Family::avx, kSse2));
  CHECK(family_supported(Family::avx, kAvx));
  CHECK_FALSE(family_supported(Family::avx512, kAvx));
  for (Family f : families_best_first()) CHECK(family_supported(f, kAvx512));

  // For every combination of the flags: best_family is supported, generic is
  // always supported, and no better family is.
  for (unsigned bits = 0; bits < 16; ++bits) {
    const CpuFeatures c = cpu(bits & 1, bits & 2, bits & 4, bits & 8, 4 << 20);
    INFO("x86_64=", bool(bits & 1), " sse2=", bool(bits & 2), " avx=", bool(bits & 4),
         " avx512f=", bool(bits & 8));
    const Family best = best_family(c);
    CHECK(family_supported(best, c));
    CHECK(family_supported(Family::generic, c));
    for (Family f : families_best_first()) {
      if (f == best) break;
      CHECK_FALSE(family_supported(f, c));
    }
    if (!(bits & 1)) CHECK(best == Family::generic);
  }
}

TEST_CASE("select: choose_family") {
  SUBCASE("unset and auto choose the best family silently") {
    for (const CpuFeatures* c : {&kNoSimd, &kSse2, &kAvx, &kAvx512}) {
      for (const char* env : {static_cast<const char*>(nullptr), "auto"}) {
        INFO("env=", std::string(env ? env : "NULL"), " best=", name(best_family(*c)));
        const FamilyChoice ch = choose_family(*c, env);
        CHECK(ch.family == best_family(*c));
        CHECK(ch.warning.empty());
      }
    }
  }
  SUBCASE("a supported family is used as asked") {
    for (Family f : families_best_first()) {
      const std::string n = name(f);
      INFO("env=", n);
      const FamilyChoice ch = choose_family(kAvx512, n.c_str());
      CHECK(ch.family == f);
      CHECK(ch.warning.empty());
    }
    CHECK(choose_family(kAvx, "movnti").family == Family::movnti);
    CHECK(choose_family(kSse2, "generic").family == Family::generic);
  }
  SUBCASE("an unsupported family falls back to auto with one warning") {
    const struct {
      const CpuFeatures* cpu;
      const char* env;
    } cases[] = {{&kAvx, "avx512"},    {&kSse2, "avx512"}, {&kSse2, "avx"},
                 {&kNoSimd, "avx512"}, {&kNoSimd, "avx"},  {&kNoSimd, "movnti"}};
    for (const auto& cs : cases) {
      INFO("env=", std::string(cs.env), " best=", name(best_family(*cs.cpu)));
      const FamilyChoice ch = choose_family(*cs.cpu, cs.env);
      CHECK(ch.family == best_family(*cs.cpu));
      CHECK_FALSE(ch.warning.empty());
      CHECK(ch.warning.find("NTCOPY_KERNEL") != std::string::npos);
      CHECK(ch.warning.find('\n') == std::string::npos);
      CHECK(printable_line(ch.warning));
    }
  }
  SUBCASE("unknown names fall back to auto with one warning") {
    const std::string longname(300, 'x');
    for (const char* env : {"", "nope", "AVX512", "avx1024", "Auto", " avx", "avx\n",
                            "\xff\xfe\x01\x1b[31m", longname.c_str()}) {
      INFO("env=", printable_env_value(env));
      const FamilyChoice ch = choose_family(kAvx, env);
      CHECK(ch.family == Family::avx);
      CHECK(ch.warning.find("NTCOPY_KERNEL") != std::string::npos);
      CHECK(ch.warning.find('\n') == std::string::npos);
      CHECK(printable_line(ch.warning));
      CHECK_FALSE(has_raw_high_bytes(ch.warning));
      CHECK(ch.warning.size() < 400);  // the long value is truncated
    }
  }
}

TEST_CASE("select: parse_byte_count") {
  const struct {
    std::string_view text;
    std::size_t value;
  } good[] = {
      {"0", 0},
      {"1", 1},
      {"007", 7},
      {"4096", 4096},
      {"64K", 64 << 10},
      {"64k", 64 << 10},
      {"2M", 2 << 20},
      {"2m", 2 << 20},
      {"1G", std::size_t{1} << 30},
      {"1g", std::size_t{1} << 30},
      {"0K", 0},
      {"18446744073709551615", SIZE_MAX},
      {"18014398509481983K", SIZE_MAX - 1023},
      {"17592186044415M", SIZE_MAX - ((std::size_t{1} << 20) - 1)},
      {"17179869183G", SIZE_MAX - ((std::size_t{1} << 30) - 1)},
  };
  for (const auto& g : good) {
    INFO("text=\"", std::string(g.text), "\"");
    const auto v = parse_byte_count(g.text);
    REQUIRE(v.has_value());
    CHECK(*v == g.value);
  }
  const std::string_view bad[] = {
      ""sv,
      "K"sv,
      "abc"sv,
      "-5"sv,
      "+5"sv,
      " 5"sv,
      "5 "sv,
      "12X"sv,
      "1KB"sv,
      "1.5M"sv,
      "0x10"sv,
      "1T"sv,
      "1kk"sv,
      "5\0"sv,
      "1e6"sv,
      "99999999999999999999999"sv,
      "18446744073709551616"sv,   // 2^64
      "18014398509481984K"sv,     // 2^64
      "17592186044416M"sv,        // 2^64
      "17179869184G"sv,           // 2^64
      "36893488147419103232"sv,   // 2^65
      "184467440737095516150"sv,  // 10 * (2^64 - 1) + 0
  };
  for (std::string_view b : bad) {
    INFO("text=\"", printable_env_value(b), "\"");
    CHECK_FALSE(parse_byte_count(b).has_value());
  }
}

TEST_CASE("select: default_threshold clamps to [kMinThreshold, kMaxThreshold]") {
  static_assert(kMinThreshold == std::size_t{8} << 20);
  static_assert(kMaxThreshold == std::size_t{64} << 20);
  const std::size_t tib = std::size_t{1} << 40;
  for (std::size_t llc :
       {std::size_t{0}, std::size_t{1}, std::size_t{1} << 10, std::size_t{256} << 10,
        std::size_t{2} << 20, std::size_t{8} << 20, std::size_t{32} << 20, std::size_t{96} << 20,
        std::size_t{1} << 30, tib, SIZE_MAX / 2, SIZE_MAX}) {
    INFO("llc_bytes=", llc);
    const std::size_t t = default_threshold(llc);
    CHECK(t >= kMinThreshold);
    CHECK(t <= kMaxThreshold);
  }
  CHECK(default_threshold(1) == kMinThreshold);
  CHECK(default_threshold(std::size_t{1} << 10) == kMinThreshold);
  CHECK(default_threshold(tib) == kMaxThreshold);
  CHECK(default_threshold(SIZE_MAX) == kMaxThreshold);
}

TEST_CASE("select: choose_threshold") {
  for (const CpuFeatures* c : {&kNoSimd, &kAvx, &kAvx512}) {
    INFO("llc=", c->llc_bytes);
    const ThresholdChoice t = choose_threshold(*c, nullptr);
    CHECK(t.bytes == default_threshold(c->llc_bytes));
    CHECK_FALSE(t.from_env);
    CHECK(t.warning.empty());
  }
  const struct {
    const char* env;
    std::size_t bytes;
  } good[] = {{"0", 0}, {"4096", 4096}, {"64K", 65536}, {"2M", 2 << 20}, {"1G", 1 << 30}};
  for (const auto& g : good) {
    INFO("env=", std::string(g.env));
    const ThresholdChoice t = choose_threshold(kAvx, g.env);
    CHECK(t.bytes == g.bytes);
    CHECK(t.from_env);
    CHECK(t.warning.empty());
  }
  for (const char* env : {"", "abc", "-5", "12X", " 5", "99999999999999999999999",
                          "18014398509481984K", "\x01\xff"}) {
    INFO("env=", printable_env_value(env));
    const ThresholdChoice t = choose_threshold(kAvx, env);
    CHECK(t.bytes == default_threshold(kAvx.llc_bytes));
    CHECK_FALSE(t.from_env);
    CHECK(t.warning.find("NTCOPY_NT_THRESHOLD") != std::string::npos);
    CHECK(t.warning.find('\n') == std::string::npos);
    CHECK(printable_line(t.warning));
    CHECK_FALSE(has_raw_high_bytes(t.warning));
  }
}

TEST_CASE("select: mask_cpu_features hides a feature and those built on it") {
  const struct {
    const char* env;
    bool sse2, avx, avx512f;
  } good[] = {{"avx512f", true, true, false},      {"avx", true, false, false},
              {"sse2", false, false, false},       {"avx512f,avx", true, false, false},
              {"avx,avx512f", true, false, false}, {"avx512f,avx512f", true, true, false}};
  for (const auto& g : good) {
    INFO("NTCOPY_CPU_MASK=", std::string(g.env));
    const CpuMaskChoice m = mask_cpu_features(kAvx512, g.env);
    CHECK(m.warning.empty());
    CHECK(m.hidden == g.env);
    CHECK(m.cpu.sse2 == g.sse2);
    CHECK(m.cpu.avx == g.avx);
    CHECK(m.cpu.avx512f == g.avx512f);
    CHECK(m.cpu.x86_64);
    CHECK(m.cpu.llc_bytes == kAvx512.llc_bytes);
  }
  // A mask never adds a feature the CPU lacks.
  const CpuMaskChoice on_sse2 = mask_cpu_features(kSse2, "avx512f");
  CHECK_FALSE(on_sse2.cpu.avx);
  CHECK_FALSE(on_sse2.cpu.avx512f);
  CHECK(on_sse2.cpu.sse2);
  const CpuMaskChoice unset = mask_cpu_features(kAvx512, nullptr);
  CHECK(unset.warning.empty());
  CHECK(unset.hidden.empty());
  CHECK(unset.cpu.avx512f);
}

TEST_CASE("select: a bad NTCOPY_CPU_MASK hides nothing, with one warning") {
  const std::string longname(300, 'a');
  for (const char* env : {"", ",", "avx,", ",avx", "AVX512F", "avx512", "avx2", " avx", "avx ,sse2",
                          "avx;sse2", "\xff\xfe\x1b[2J", longname.c_str()}) {
    INFO("env=", printable_env_value(env));
    const CpuMaskChoice m = mask_cpu_features(kAvx512, env);
    CHECK(m.cpu.sse2);
    CHECK(m.cpu.avx);
    CHECK(m.cpu.avx512f);
    CHECK(m.hidden.empty());
    CHECK(m.warning.find("NTCOPY_CPU_MASK") != std::string::npos);
    CHECK(printable_line(m.warning));
    CHECK_FALSE(has_raw_high_bytes(m.warning));
    CHECK(m.warning.size() < 400);
  }
}

TEST_CASE("select: make_selection applies the mask before choosing") {
  SUBCASE("nothing set: the best family and the default threshold, no warning") {
    const Selection s = make_selection(kAvx512, {});
    CHECK(s.family == Family::avx512);
    CHECK(s.threshold.bytes == default_threshold(kAvx512.llc_bytes));
    CHECK(s.warnings.empty());
  }
  SUBCASE("a masked family is chosen neither by auto nor by name") {
    const Selection by_auto = make_selection(kAvx512, {nullptr, nullptr, "avx512f"});
    CHECK(by_auto.family == Family::avx);
    CHECK(by_auto.warnings.empty());
    CHECK(by_auto.hidden_features == "avx512f");
    const Selection by_name = make_selection(kAvx512, {"avx512", nullptr, "avx512f"});
    CHECK(by_name.family == Family::avx);
    REQUIRE(by_name.warnings.size() == 1);
    CHECK(by_name.warnings[0].find("NTCOPY_KERNEL") != std::string::npos);
    CHECK(make_selection(kAvx512, {"movnti", nullptr, "sse2"}).family == Family::generic);
    CHECK_FALSE(family_supported(Family::avx, make_selection(kAvx512, {"", "", "avx"}).cpu));
  }
  SUBCASE("one warning per bad variable, in a fixed order") {
    const Selection s = make_selection(kAvx512, {"nope", "12X", "bogus"});
    CHECK(s.family == Family::avx512);
    CHECK(s.threshold.bytes == default_threshold(kAvx512.llc_bytes));
    REQUIRE(s.warnings.size() == 3);
    CHECK(s.warnings[0].find("NTCOPY_CPU_MASK") != std::string::npos);
    CHECK(s.warnings[1].find("NTCOPY_KERNEL") != std::string::npos);
    CHECK(s.warnings[2].find("NTCOPY_NT_THRESHOLD") != std::string::npos);
  }
  SUBCASE("good values of all three") {
    const Selection s = make_selection(kAvx512, {"movnti", "2M", "avx"});
    CHECK(s.family == Family::movnti);
    CHECK(s.threshold.bytes == std::size_t{2} << 20);
    CHECK(s.threshold.from_env);
    CHECK(s.warnings.empty());
  }
}

TEST_CASE("select: printable_env_value") {
  CHECK(printable_env_value("") == "");
  CHECK(printable_env_value("avx512") == "avx512");
  CHECK(printable_env_value("with space") == "with space");
  // Non-printable bytes as \xNN (either hex case).
  auto lower = [](std::string s) {
    for (char& ch : s)
      if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
    return s;
  };
  CHECK(lower(printable_env_value("a\x01z")) == "a\\x01z");
  CHECK(lower(printable_env_value("\xff\xfe")) == "\\xff\\xfe");
  CHECK(lower(printable_env_value("\n\t\x1b\x7f")) == "\\x0a\\x09\\x1b\\x7f");
  CHECK(lower(printable_env_value("a\0b"sv)) == "a\\x00b");
  // At most 64 bytes of the value, then "...".
  const std::string s64(64, 'q'), s65(65, 'q'), s1000(1000, 'q');
  CHECK(printable_env_value(s64) == s64);
  CHECK(printable_env_value(s65) == s64 + "...");
  CHECK(printable_env_value(s1000) == s64 + "...");
  // Long and non-printable: still one printable, bounded line.
  const std::string nasty(500, '\x01');
  const std::string p = printable_env_value(nasty);
  CHECK(printable_line(p));
  CHECK_FALSE(has_raw_high_bytes(printable_env_value("\xff\xfe")));
  CHECK(p.size() <= 64 * 4 + 3);
  CHECK(p.size() >= 3);
  CHECK(p.substr(p.size() - 3) == "...");
}
