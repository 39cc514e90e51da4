// Kernel-family selection and threshold policy. Pure functions: no globals,
// no I/O, so tests exercise every branch with fake CPUs.
#include "select.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace ntcopy {

namespace {
constexpr std::array kFamilies{Family::avx512, Family::avx, Family::movnti, Family::generic};
constexpr std::array<std::string_view, 4> kNames{"avx512", "avx", "movnti", "generic"};
}  // namespace

std::span<const Family> families_best_first() { return kFamilies; }

std::string_view family_name(Family f) { return kNames[static_cast<std::size_t>(f)]; }

std::optional<Family> family_from_name(std::string_view name) {
  for (Family f : kFamilies)
    if (family_name(f) == name) return f;
  return std::nullopt;
}

bool family_supported(Family f, const CpuFeatures& cpu) {
  switch (f) {
    case Family::avx512: return cpu.x86_64 && cpu.avx512f;
    case Family::avx: return cpu.x86_64 && cpu.avx;
    case Family::movnti: return cpu.x86_64 && cpu.sse2;
    case Family::generic: return true;
  }
  return false;
}

Family best_family(const CpuFeatures& cpu) {
  for (Family f : kFamilies)
    if (family_supported(f, cpu)) return f;
  return Family::generic;
}

std::string printable_env_value(std::string_view value) {
  constexpr std::size_t kMaxShown = 64;
  std::string out;
  for (std::size_t i = 0; i < value.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (value.size() > kMaxShown) out += "...";
  return out;
}

FamilyChoice choose_family(const CpuFeatures& cpu, const char* env_value) {
  const Family best = best_family(cpu);
  if (env_value == nullptr) return {best, {}};
  std::string_view value = env_value;
  if (value == "auto") return {best, {}};
  auto instead = [&] { return "; using auto (" + std::string(family_name(best)) + ")"; };
  if (value.empty()) return {best, "ntcopy: NTCOPY_KERNEL is set but empty" + instead()};
  std::optional<Family> named = family_from_name(value);
  if (!named)
    return {best, "ntcopy: NTCOPY_KERNEL=\"" + printable_env_value(value) +
                      "\" is not one of auto, avx512, avx, movnti, generic" + instead()};
  if (!family_supported(*named, cpu))
    return {best, "ntcopy: NTCOPY_KERNEL=\"" + std::string(value) +
                      "\" is not supported by this CPU" + instead()};
  return {*named, {}};
}

namespace {
// The binary shift of a K, M or G suffix, either case; 0 for any other byte.
unsigned suffix_shift(char c) {
  switch (c | 0x20) {  // only bit 5 tells 'K' from 'k'
    case 'k': return 10;
    case 'm': return 20;
    case 'g': return 30;
    default: return 0;
  }
}
}  // namespace

std::optional<std::size_t> parse_byte_count(std::string_view text) {
  std::size_t digits_end = 0;
  while (digits_end < text.size() && text[digits_end] >= '0' && text[digits_end] <= '9')
    ++digits_end;
  if (digits_end == 0) return std::nullopt;
  unsigned shift = 0;
  if (digits_end != text.size()) {
    shift = suffix_shift(text[digits_end]);
    if (shift == 0 || digits_end + 1 != text.size()) return std::nullopt;
  }
  constexpr std::size_t kMax = static_cast<std::size_t>(-1);
  std::size_t value = 0;
  for (std::size_t i = 0; i < digits_end; ++i) {
    std::size_t digit = static_cast<std::size_t>(text[i] - '0');
    if (value > (kMax - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (value > (kMax >> shift)) return std::nullopt;
  return value << shift;
}

std::size_t default_threshold(std::size_t llc_bytes) {
  // See docs/kernels.md: streaming pays off once the destination no longer fits
  // in the last-level cache. Unknown or absurd cache sizes (hypervisors report
  // them) fall back to the clamp.
  if (llc_bytes == 0) return kUnknownCacheThreshold;
  if (llc_bytes < kMinThreshold) return kMinThreshold;
  if (llc_bytes > kMaxThreshold) return kMaxThreshold;
  return llc_bytes;
}

ThresholdChoice choose_threshold(const CpuFeatures& cpu, const char* env_value) {
  const std::size_t fallback = default_threshold(cpu.llc_bytes);
  if (env_value == nullptr) return {fallback, false, {}};
  std::optional<std::size_t> bytes = parse_byte_count(env_value);
  if (!bytes)
    return {fallback, false,
            "ntcopy: NTCOPY_NT_THRESHOLD=\"" + printable_env_value(env_value) +
                "\" is not a byte count (digits with an optional K, M or G); using the default " +
                std::to_string(fallback)};
  return {*bytes, true, {}};
}

namespace {
// The maskable features, each hiding the ones after it too.
constexpr std::array<std::string_view, 3> kMaskable{"sse2", "avx", "avx512f"};

// Hides feature kMaskable[level] and every feature built on it.
void hide_from(std::size_t level, CpuFeatures& cpu) {
  if (level == 0) cpu.sse2 = false;
  if (level <= 1) cpu.avx = false;
  if (level <= 2) cpu.avx512f = false;
}
}  // namespace

CpuMaskChoice mask_cpu_features(const CpuFeatures& probed, const char* env_value) {
  if (env_value == nullptr) return {probed, {}, {}};
  const std::string_view value = env_value;
  auto rejected = [&](std::string why) {
    return CpuMaskChoice{probed,
                         {},
                         "ntcopy: NTCOPY_CPU_MASK=\"" + printable_env_value(value) + "\" " + why +
                             "; hiding nothing"};
  };
  if (value.empty()) return rejected("is empty (expected a list of sse2, avx, avx512f)");
  CpuFeatures cpu = probed;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = std::min(value.find(',', start), value.size());
    const std::string_view name = value.substr(start, comma - start);
    std::size_t level = 0;
    while (level < kMaskable.size() && kMaskable[level] != name) ++level;
    if (level == kMaskable.size())
      return rejected("is not a comma-separated list of sse2, avx, avx512f");
    hide_from(level, cpu);
    if (comma == value.size()) break;
    start = comma + 1;
  }
  return {cpu, std::string(value), {}};
}

Selection make_selection(const CpuFeatures& probed, const Environment& env) {
  CpuMaskChoice mask = mask_cpu_features(probed, env.cpu_mask);
  FamilyChoice family = choose_family(mask.cpu, env.kernel);
  ThresholdChoice threshold = choose_threshold(mask.cpu, env.nt_threshold);
  Selection s{mask.cpu, std::move(mask.hidden), family.family, std::move(threshold), {}};
  for (std::string* w : {&mask.warning, &family.warning, &s.threshold.warning})
    if (!w->empty()) s.warnings.push_back(*w);
  return s;
}

}  // namespace ntcopy
