// NTCOPY_KERNEL, NTCOPY_NT_THRESHOLD and NTCOPY_CPU_MASK, each read by a fresh
// process: the helper ntcopy_env_child reports the chosen kernel, threshold,
// supported and refused families and checks a few fills; this test checks
// those and the child's stderr (exactly one line per rejected value, naming the
// variable; nothing for accepted values).
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "spawn_util.h"
#include "test_util.h"

using namespace ntc_test;

namespace {

#ifndef NTCOPY_ENV_CHILD
#error "NTCOPY_ENV_CHILD must name the ntcopy_env_child executable"
#endif

struct ChildResult {
  int exit_code = -1;  // -1: did not exit normally
  std::string out, err;
  std::string kernel;
  std::optional<std::size_t> threshold;
  std::string fill;
  std::string supported, refused;  // comma-separated family names
};

// "NAME=value" entries (value: raw bytes) replace the caller's NTCOPY_*
// variables; those not listed are unset in the child.
ChildResult run_child(const std::vector<std::string>& assignments) {
  const ntc_spawn::Run run = ntc_spawn::run({NTCOPY_ENV_CHILD}, ntc_spawn::child_env(assignments));
  REQUIRE_MESSAGE(run.started, run.status());
  ChildResult r;
  r.exit_code = run.exit_code;
  r.out = run.out;
  r.err = run.err;
  for (const std::string& line : ntc_spawn::lines_of(r.out)) {
    if (line.starts_with("kernel=")) r.kernel = line.substr(7);
    if (line.starts_with("threshold=")) r.threshold = std::stoull(line.substr(10));
    if (line.starts_with("fill=")) r.fill = line.substr(5);
    if (line.starts_with("supported=")) r.supported = line.substr(10);
    if (line.starts_with("refused=")) r.refused = line.substr(8);
  }
  return r;
}

// Printable form of a (possibly binary) value for the test's own messages.
std::string show(std::string_view s) {
  std::string o;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      o += static_cast<char>(c);
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    }
  }
  if (o.size() > 80) o = o.substr(0, 80) + "...";
  return o;
}

std::size_t count_lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// The child ran, passed its own checks and said nothing on stderr.
void check_clean(const ChildResult& r) {
  INFO("child stdout:\n", r.out, "child stderr:\n", r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.fill == "ok");
  CHECK(r.err.empty());
}

// Exactly one warning line on stderr, naming `var`, with the rejected value
// made safe to print (no control characters, none of its raw high bytes).
void check_one_warning(const ChildResult& r, const char* var) {
  INFO("child stdout:\n", r.out, "child stderr: \"", show(r.err), "\"");
  CHECK(r.exit_code == 0);
  CHECK(r.fill == "ok");
  CHECK(count_lines(r.err) == 1);
  CHECK((!r.err.empty() && r.err.back() == '\n'));
  CHECK(r.err.find(var) != std::string::npos);
  bool control = false;
  for (std::size_t i = 0; i + 1 < r.err.size(); ++i) {
    const auto c = static_cast<unsigned char>(r.err[i]);
    if (c < 0x20 || c == 0x7f) control = true;
  }
  CHECK_FALSE(control);
  CHECK(r.err.find('\xff') == std::string::npos);
  CHECK(r.err.find('\xfe') == std::string::npos);
  CHECK(r.err.size() < 400);
}

std::string best_family() {
  const auto f = supported_families();
  REQUIRE(!f.empty());
  return f.front();
}

std::size_t default_threshold_of_child() {
  static const std::size_t t = [] {
    const ChildResult r = run_child({});
    check_clean(r);
    REQUIRE(r.threshold.has_value());
    return *r.threshold;
  }();
  return t;
}

// 100 KiB: far longer than any buffer a parser might use, under the kernel's
// 128 KiB limit on one environment string (MAX_ARG_STRLEN).
const std::string kLong = "avx512" + std::string(std::size_t{100} << 10, 'x');
const std::string kNonAscii =
    "\xff\xfe"
    "avx\x01\x1b[2J\xc3\xa9";

}  // namespace

TEST_CASE("env: NTCOPY_KERNEL unset or auto picks the best family silently") {
  const std::string best = best_family();
  for (const auto& env : std::vector<std::vector<std::string>>{{}, {"NTCOPY_KERNEL=auto"}}) {
    INFO("env: ", env.empty() ? std::string("(unset)") : env[0]);
    const ChildResult r = run_child(env);
    check_clean(r);
    CHECK(r.kernel == best);
  }
}

TEST_CASE("env: NTCOPY_KERNEL=<family> for each supported family") {
  for (const auto& fam : supported_families()) {
    INFO("NTCOPY_KERNEL=", fam);
    const ChildResult r = run_child({"NTCOPY_KERNEL=" + fam});
    check_clean(r);
    CHECK(r.kernel == fam);
  }
}

TEST_CASE("env: bad NTCOPY_KERNEL values warn once and fall back to auto") {
  const std::string best = best_family();
  for (const std::string& v :
       {std::string(""), std::string("avx1024"), std::string("AVX512"), std::string("Avx"),
        std::string("nope"), std::string("auto "), std::string(" avx"), std::string("\tavx\n"),
        std::string("-1"), kLong, kNonAscii}) {
    INFO("NTCOPY_KERNEL=\"", show(v), "\" (", v.size(), " bytes)");
    const ChildResult r = run_child({"NTCOPY_KERNEL=" + v});
    check_one_warning(r, "NTCOPY_KERNEL");
    CHECK(r.kernel == best);
  }
}

// The feature each x86 family needs, as NTCOPY_CPU_MASK spells it.
const struct {
  const char* family;
  const char* feature;
} kFamilyFeature[] = {{"avx512", "avx512f"}, {"avx", "avx"}, {"movnti", "sse2"}};

TEST_CASE("env: NTCOPY_CPU_MASK makes the library act as on a CPU without the feature") {
  const std::vector<std::string> fams = supported_families();
  for (const auto& ff : kFamilyFeature) {
    if (std::find(fams.begin(), fams.end(), ff.family) == fams.end()) {
      MESSAGE("this CPU lacks ", ff.family, " already; masking ", ff.feature, " changes nothing");
      continue;
    }
    INFO("NTCOPY_CPU_MASK=", std::string(ff.feature));
    const ChildResult r = run_child({std::string("NTCOPY_CPU_MASK=") + ff.feature});
    check_clean(r);
    CHECK(r.supported.find(ff.family) == std::string::npos);
    CHECK(r.refused.find(ff.family) != std::string::npos);
    CHECK(r.kernel != ff.family);
    CHECK(r.supported.starts_with(r.kernel));  // still the best of what is left
    CHECK(r.supported.ends_with("generic"));
  }
}

TEST_CASE("env: NTCOPY_KERNEL forcing a family the CPU lacks (real or masked)") {
  const std::vector<std::string> fams = supported_families();
  for (const auto& ff : kFamilyFeature) {
    const bool has = std::find(fams.begin(), fams.end(), ff.family) != fams.end();
    std::vector<std::string> env{std::string("NTCOPY_KERNEL=") + ff.family};
    if (has) env.push_back(std::string("NTCOPY_CPU_MASK=") + ff.feature);
    INFO("NTCOPY_KERNEL=", std::string(ff.family), has ? " with the feature masked" : "");
    const ChildResult r = run_child(env);
    check_one_warning(r, "NTCOPY_KERNEL");
    CHECK(r.kernel != ff.family);
    CHECK(r.supported.starts_with(r.kernel));
    CHECK(r.refused.find(ff.family) != std::string::npos);
  }
}

TEST_CASE("env: bad NTCOPY_CPU_MASK values warn once and hide nothing") {
  const std::string best = best_family();
  const ChildResult unmasked = run_child({});  // what this CPU refuses on its own
  check_clean(unmasked);
  for (const std::string& v :
       {std::string(""), std::string("AVX512F"), std::string("avx512"), std::string("avx,"),
        std::string(" avx"), std::string("avx;sse2"), std::string("-avx"), kLong, kNonAscii}) {
    INFO("NTCOPY_CPU_MASK=\"", show(v), "\"");
    const ChildResult r = run_child({"NTCOPY_CPU_MASK=" + v});
    check_one_warning(r, "NTCOPY_CPU_MASK");
    CHECK(r.kernel == best);
    CHECK(r.supported == unmasked.supported);
    CHECK(r.refused == unmasked.refused);
  }
}

TEST_CASE("env: accepted NTCOPY_NT_THRESHOLD values") {
  const std::size_t def = default_threshold_of_child();
  CHECK(def >= kDefaultThresholdMin);
  CHECK(def <= kDefaultThresholdMax);
  MESSAGE("default threshold: ", def);
  const struct {
    const char* value;
    std::size_t bytes;
  } good[] = {{"0", 0},          {"4096", 4096},  {"64K", 64 << 10},
              {"64k", 64 << 10}, {"2M", 2 << 20}, {"1G", std::size_t{1} << 30}};
  for (const auto& g : good) {
    INFO("NTCOPY_NT_THRESHOLD=\"", std::string(g.value), "\"");
    const ChildResult r = run_child({std::string("NTCOPY_NT_THRESHOLD=") + g.value});
    check_clean(r);
    REQUIRE(r.threshold.has_value());
    CHECK(*r.threshold == g.bytes);
    CHECK(r.kernel == best_family());
  }
}

TEST_CASE("env: bad NTCOPY_NT_THRESHOLD values warn once and use the default") {
  const std::size_t def = default_threshold_of_child();
  for (const std::string& v :
       {std::string(""), std::string("abc"), std::string("-5"), std::string("12X"),
        std::string(" 5"), std::string("\t5"), std::string("5\n"), std::string("+5"),
        std::string("5MiB"), std::string("5mb"), std::string("0x10"), std::string("1e6"),
        std::string("5 "), std::string("1T"), std::string("99999999999999999999999"),
        std::string("18014398509481984K"), kNonAscii, std::string(500, '9'),
        std::string(std::size_t{100} << 10, '7')}) {
    INFO("NTCOPY_NT_THRESHOLD=\"", show(v), "\"");
    const ChildResult r = run_child({"NTCOPY_NT_THRESHOLD=" + v});
    check_one_warning(r, "NTCOPY_NT_THRESHOLD");
    REQUIRE(r.threshold.has_value());
    CHECK(*r.threshold == def);
  }
}

TEST_CASE("env: all three variables bad give one line each") {
  const ChildResult r =
      run_child({"NTCOPY_KERNEL=avx1024", "NTCOPY_NT_THRESHOLD=12X", "NTCOPY_CPU_MASK=avx2"});
  INFO("child stderr: \"", show(r.err), "\"");
  CHECK(r.exit_code == 0);
  CHECK(r.fill == "ok");
  REQUIRE(count_lines(r.err) == 3);
  // Each line names exactly one of the variables, and each variable is named.
  std::vector<std::string> lines;
  for (std::size_t pos = 0, nl; (nl = r.err.find('\n', pos)) != std::string::npos; pos = nl + 1)
    lines.push_back(r.err.substr(pos, nl - pos));
  for (const char* var : {"NTCOPY_KERNEL", "NTCOPY_NT_THRESHOLD", "NTCOPY_CPU_MASK"}) {
    INFO("variable ", var);
    int naming = 0;
    for (const auto& line : lines) naming += line.find(std::string(var) + "=") != std::string::npos;
    CHECK(naming == 1);
  }
  CHECK(r.kernel == best_family());
  REQUIRE(r.threshold.has_value());
  CHECK(*r.threshold == default_threshold_of_child());
}

TEST_CASE("env: good values of all three variables together") {
  const auto fams = supported_families();
  const std::string fam = fams.back();  // generic
  const ChildResult r =
      run_child({"NTCOPY_KERNEL=" + fam, "NTCOPY_NT_THRESHOLD=0", "NTCOPY_CPU_MASK=avx512f"});
  check_clean(r);
  CHECK(r.kernel == fam);
  REQUIRE(r.threshold.has_value());
  CHECK(*r.threshold == 0);
}
